"""Realtime events: committed domain events fanned out to WebSocket clients.

The process that commits a change publishes it: its :class:`RealtimePublisher` (an event
handler of the dispatcher) loads the chat and message once, as the REST API presents them,
and publishes one JSON frame to the clinic's channel. Litestar Channels carries the frame to
every API instance: in the process with the memory backend (the embedded default, one
instance), through Redis Pub/Sub when ``redis_url`` is set. Each WebSocket connection listens
to its own clinic's channel only and keeps, in a :class:`View`, what it subscribed to and
which chats its user may see; the frame it receives is forwarded unchanged when it passes.

Pub/Sub rather than Redis Streams: realtime frames are notifications of state already stored,
so a client that was offline refetches over REST instead of replaying a history, and Pub/Sub
delivers each frame once, at once, to the instances listening, without keeping anything in
Redis. Litestar's stream backend would keep a minute of frames per clinic, replay them when
an instance starts listening to a clinic, and poll Redis every millisecond while anyone
listens.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

import msgspec
import structlog
from litestar import Litestar
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from litestar.channels.subscriber import Subscriber
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from porfin_adapters.events import EventDispatcher
from porfin_adapters.settings import Settings
from porfin_core.domain.events import (
    AppointmentAttended,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentEvent,
    AppointmentNoShow,
    AppointmentRescheduled,
    ChannelDegraded,
    ChannelRecovered,
    ChargeEvent,
    ChatAssigned,
    ChatClosed,
    ChatModeChanged,
    ChatOpened,
    ChatRead,
    DomainEvent,
    MessageCreated,
    MessageMediaUpdated,
    MessageStatusChanged,
)
from porfin_core.errors import NotFound
from porfin_core.permissions import Permission, allows, may_see_chat_assigned_to
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_http.charge_schemas import ChargeOut
from porfin_http.scheduling_schemas import AppointmentOut
from porfin_http.schemas import ChatOut, ConnectionOut, MessageOut

log = structlog.get_logger(__name__)

CHANNEL_PREFIX = "porfin.clinic."
MAX_BACKLOG = 1000
"""Frames a connection may have waiting; a client that falls further behind is closed."""
REDIS_CONNECT_TIMEOUT_SECONDS = 2.0
REDIS_RETRY_SECONDS = 2.0
"""After a Redis failure: pause before streaming again; frames published meanwhile are dropped."""

EventType = Literal[
    "message.created", "message.status", "message.updated", "chat.updated", "chat.assigned"
]
ChatChange = Literal["opened", "reopened", "mode_changed", "closed", "read"]
CHANNEL_CONNECTION = "channel.connection"
"""The frame of a channel's health: degraded, or recovered (no chat: not routed by chat)."""
AppointmentEventType = Literal[
    "appointment.booked",
    "appointment.confirmed",
    "appointment.rescheduled",
    "appointment.cancelled",
    "appointment.attended",
    "appointment.no_show",
]
APPOINTMENT_PREFIX = "appointment."
"""Frames of the agenda: routed to ``agenda`` subscribers, not by chat."""
ChargeEventType = Literal[
    "charge.created",
    "charge.opened",
    "charge.paid",
    "charge.cancelled",
    "charge.expired",
    "charge.refunded",
]
CHARGE_PREFIX = "charge."
"""Frames of charges: routed to ``inbox`` subscribers who may see charges, not by chat."""


def channel_of(clinic_id: str) -> str:
    """The channel carrying one clinic's frames."""
    return CHANNEL_PREFIX + clinic_id


# -- frames ---------------------------------------------------------------------------------


class MessageData(msgspec.Struct):
    """``message.created`` carries the chat too: its preview, unread count and order changed."""

    message: MessageOut
    chat: ChatOut | msgspec.UnsetType = msgspec.UNSET


class ChatData(msgspec.Struct):
    """The chat as ``GET /api/v1/chats/{id}`` shows it, and what changed (``chat.updated``)."""

    chat: ChatOut
    change: ChatChange | msgspec.UnsetType = msgspec.UNSET


class Frame(msgspec.Struct, omit_defaults=True):
    """One event as clients receive it.

    ``assignee_id`` is the chat's assignee when the frame was made: it decides which
    secretaries receive it. ``previous_assignee_id`` only appears on ``chat.assigned``.
    """

    type: EventType
    clinic_id: str
    chat_id: str
    assignee_id: str | None
    occurred_at: datetime
    data: MessageData | ChatData
    previous_assignee_id: str | msgspec.UnsetType | None = msgspec.UNSET


class ChannelData(msgspec.Struct):
    """What changed (``degraded`` / ``recovered``) and the connection as
    ``GET /api/v1/channels/{id}`` shows it."""

    channel_id: str
    change: Literal["degraded", "recovered"]
    connection: ConnectionOut | None


class ChannelFrame(msgspec.Struct):
    """``channel.connection``: a WhatsApp number's connection became degraded or recovered.
    Sent to inbox subscribers who may see channels (``channels.view``)."""

    clinic_id: str
    channel_id: str
    occurred_at: datetime
    data: ChannelData
    type: Literal["channel.connection"] = "channel.connection"


class AppointmentData(msgspec.Struct):
    """The appointment as ``GET /api/v1/appointments/{id}`` shows it."""

    appointment: AppointmentOut


class AppointmentFrame(msgspec.Struct):
    """``appointment.*``: an appointment was booked, confirmed, rescheduled, cancelled,
    attended or missed. Sent to ``agenda`` subscribers whose role may see the agenda
    (``schedule.view``: every role, the agenda is the whole front desk's)."""

    type: AppointmentEventType
    clinic_id: str
    appointment_id: str
    professional_id: str
    customer_id: str
    occurred_at: datetime
    data: AppointmentData


class ChargeData(msgspec.Struct):
    """The charge as ``GET /api/v1/charges/{id}`` shows it (without its transactions)."""

    charge: ChargeOut


class ChargeFrame(msgspec.Struct):
    """``charge.*``: a charge was issued, created at its gateway, paid, cancelled, expired
    or refunded. Sent to ``inbox`` subscribers whose role may see charges
    (``charges.view``)."""

    type: ChargeEventType
    clinic_id: str
    charge_id: str
    customer_id: str
    occurred_at: datetime
    data: ChargeData


class HiddenFrame(msgspec.Struct):
    """Sent instead of ``chat.assigned`` to a user who could see the chat and no longer may:
    remove it from the screen. Nothing else about the chat is said."""

    chat_id: str
    type: Literal["chat.hidden"] = "chat.hidden"


class _Route(msgspec.Struct):
    """The fields of a frame that route it; decoding skips ``data``."""

    type: str
    clinic_id: str
    chat_id: str = ""
    assignee_id: str | None = None
    previous_assignee_id: str | None = None


_encode = msgspec.json.Encoder().encode
_decode_route = msgspec.json.Decoder(_Route).decode


# -- publishing (the process that committed) ------------------------------------------------


class RealtimePublisher:
    """Event handler: one frame per committed chat, message, channel or appointment event,
    on the clinic's channel.

    Realtime delivery is best effort (clients refetch over REST when they reconnect), so a
    frame that cannot be built or published is logged and dropped: the event is not left in
    the outbox for the other handlers to see again.
    """

    EVENTS = (
        MessageCreated,
        MessageStatusChanged,
        MessageMediaUpdated,
        ChatOpened,
        ChatModeChanged,
        ChatClosed,
        ChatRead,
        ChatAssigned,
        ChannelDegraded,
        ChannelRecovered,
        AppointmentBooked,
        AppointmentConfirmed,
        AppointmentRescheduled,
        AppointmentCancelled,
        AppointmentAttended,
        AppointmentNoShow,
        ChargeEvent,
    )

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        publish: Callable[[bytes, str], None],
        wanted: Callable[[str], bool] = lambda clinic_id: True,
    ) -> None:
        self._uow_factory = uow_factory
        self._clock = clock
        self._publish = publish
        self._wanted = wanted

    async def __call__(self, event: DomainEvent) -> None:
        if not self._wanted(event.clinic_id):
            return  # nobody of this clinic is listening: skip the reads
        try:
            frame = await self.frame(event)
            if frame is not None:
                self._publish(_encode(frame), channel_of(event.clinic_id))
        except NotFound:
            log.debug("realtime.gone", event_name=event.name)
        except Exception:
            log.warning("realtime.publish_failed", event_name=event.name, exc_info=True)

    async def frame(
        self, event: DomainEvent
    ) -> Frame | ChannelFrame | AppointmentFrame | ChargeFrame | None:
        """The frame clients receive for ``event`` (None for events clients never see).

        Raises:
            NotFound: the chat, message, channel or appointment is gone.
        """
        if not isinstance(event, self.EVENTS):
            return None
        if isinstance(event, ChargeEvent):
            async with self._uow_factory(read_only=True) as uow:
                charge = await uow.charges.get(event.clinic_id, event.charge_id)
            return ChargeFrame(
                type=event.name,  # type: ignore[arg-type]
                clinic_id=charge.clinic_id,
                charge_id=charge.id,
                customer_id=charge.customer_id,
                occurred_at=event.occurred_at,
                data=ChargeData(ChargeOut.of(charge)),
            )
        if isinstance(event, AppointmentEvent):
            async with self._uow_factory(read_only=True) as uow:
                appointment = await uow.appointments.get(event.clinic_id, event.appointment_id)
            return AppointmentFrame(
                type=event.name,  # type: ignore[arg-type]
                clinic_id=appointment.clinic_id,
                appointment_id=appointment.id,
                professional_id=appointment.professional_id,
                customer_id=appointment.customer_id,
                occurred_at=event.occurred_at,
                data=AppointmentData(AppointmentOut.of(appointment)),
            )
        if isinstance(event, ChannelDegraded | ChannelRecovered):
            async with self._uow_factory(read_only=True) as uow:
                channel = await uow.channels.get(event.channel_id)
            change: Literal["degraded", "recovered"] = (
                "degraded" if isinstance(event, ChannelDegraded) else "recovered"
            )
            connection = channel.connection
            return ChannelFrame(
                clinic_id=channel.clinic_id,
                channel_id=channel.id,
                occurred_at=event.occurred_at,
                data=ChannelData(
                    channel.id, change, ConnectionOut.of(connection) if connection else None
                ),
            )
        message = None
        async with self._uow_factory(read_only=True) as uow:
            chat = await uow.chats.get(event.clinic_id, event.chat_id)
            if isinstance(event, MessageCreated | MessageStatusChanged | MessageMediaUpdated):
                message = await uow.messages.get(event.clinic_id, event.message_id)
        chat_out = ChatOut.of(chat, self._clock.now())
        kind: EventType
        data: MessageData | ChatData
        previous: str | msgspec.UnsetType | None = msgspec.UNSET
        if message is not None:
            created = isinstance(event, MessageCreated)
            if created:
                kind = "message.created"
            elif isinstance(event, MessageMediaUpdated):
                kind = "message.updated"  # its file was kept, or could not be
            else:
                kind = "message.status"
            data = MessageData(MessageOut.of(message), chat_out if created else msgspec.UNSET)
        elif isinstance(event, ChatAssigned):
            kind, data, previous = "chat.assigned", ChatData(chat_out), event.previous_assignee_id
        else:
            kind, data = "chat.updated", ChatData(chat_out, _change(event))
        return Frame(
            type=kind,
            clinic_id=chat.clinic_id,
            chat_id=chat.id,
            assignee_id=chat.assignee_id,
            occurred_at=event.occurred_at,
            data=data,
            previous_assignee_id=previous,
        )


def _change(event: DomainEvent) -> ChatChange:
    if isinstance(event, ChatOpened):
        return "reopened" if event.reopened else "opened"
    if isinstance(event, ChatModeChanged):
        return "mode_changed"
    if isinstance(event, ChatRead):
        return "read"
    return "closed"


# -- receiving (each connection) ------------------------------------------------------------


class View:
    """What one connection receives: its user's clinic, the chats they may see, and the
    topics they subscribed to. Deciding costs one small decode and a few lookups per frame.
    """

    def __init__(self, principal: Principal) -> None:
        self.principal = principal
        self.inbox = False
        self.agenda = False
        self.chats: set[str] = set()
        self.sees_channels = allows(principal.role, Permission.CHANNELS_VIEW)
        self.sees_agenda = allows(principal.role, Permission.SCHEDULE_VIEW)
        self.sees_charges = allows(principal.role, Permission.CHARGES_VIEW)

    def frame_for(self, payload: bytes) -> bytes | None:
        """The bytes to send for a published frame, or None when this connection gets nothing."""
        route = _decode_route(payload)
        principal = self.principal
        if route.clinic_id != principal.clinic_id:
            return None  # never happens on the clinic's own channel; cheap to be sure
        if route.type == CHANNEL_CONNECTION:
            return payload if self.inbox and self.sees_channels else None
        if route.type.startswith(CHARGE_PREFIX):
            return payload if self.inbox and self.sees_charges else None
        if route.type.startswith(APPOINTMENT_PREFIX):
            # The agenda is shared: no assignee decides, the role's permission does.
            return payload if self.agenda and self.sees_agenda else None
        if not (self.inbox or route.chat_id in self.chats):
            return None
        if may_see_chat_assigned_to(principal.role, principal.user_id, route.assignee_id):
            return payload
        if route.type == "chat.assigned" and may_see_chat_assigned_to(
            principal.role, principal.user_id, route.previous_assignee_id
        ):
            return _encode(HiddenFrame(route.chat_id))
        return None


class ResilientRedisPubSubBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis Pub/Sub backend, made to outlive a Redis restart or outage.

    Litestar publishes from one task and streams from another; an exception ends either task
    for good (and a dead publishing task also makes the app's shutdown wait forever for its
    queue). Here a failed publish is logged and its frame dropped, as is every frame for the
    next :data:`REDIS_RETRY_SECONDS` (an outage costs one failed attempt and one log line
    every few seconds, not one per frame), and a failed stream is retried after that pause:
    redis-py reconnects and subscribes again.
    """

    def __init__(self, *, redis: Redis) -> None:
        super().__init__(redis=redis)
        self._paused_until = 0.0

    async def publish(self, data: bytes, channels: Iterable[str]) -> None:
        loop = asyncio.get_running_loop()
        if loop.time() < self._paused_until:
            return
        try:
            await super().publish(data, channels)
        except RedisError:
            # After a Redis restart the pool's first connection is a dead one, and redis-py
            # does not retry a script it may have sent: try once more on a fresh connection (a
            # frame published twice only refreshes a client's screen twice).
            try:
                await super().publish(data, channels)
            except RedisError as exc:
                self._paused_until = loop.time() + REDIS_RETRY_SECONDS
                # The error alone: an outage repeats it, and a traceback says nothing more.
                log.warning("realtime.redis_publish_failed", error=str(exc))

    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        while True:
            try:
                async for event in super().stream_events():
                    yield event
            except RedisError as exc:
                log.warning("realtime.redis_stream_failed", error=str(exc))
                await asyncio.sleep(REDIS_RETRY_SECONDS)


class BoundedSubscriber(Subscriber):
    """A channels subscriber that calls ``on_overflow`` instead of queueing more than
    :data:`MAX_BACKLOG` frames for a client that does not keep up."""

    on_overflow: Callable[[], None] | None = None

    def put_nowait(self, item: bytes | None) -> bool:
        if item is not None and self.qsize >= MAX_BACKLOG:
            if self.on_overflow is not None:
                self.on_overflow()
            return False
        return super().put_nowait(item)


# -- wiring ---------------------------------------------------------------------------------


class Realtime:
    """The app's realtime fan-out: a Litestar :class:`ChannelsPlugin` on the memory backend,
    or on Redis Pub/Sub when ``settings.redis_url`` is set.

    The plugin is used as a lifespan manager placed before the app's own (see
    :meth:`lifespan`), not registered as a plugin: it must be running before the event
    dispatcher starts (which publishes what the outbox kept) and until it has stopped.
    """

    def __init__(self, settings: Settings) -> None:
        self._redis: Redis | None = None
        backend: ChannelsBackend
        if settings.redis_url:
            # A client of its own: Pub/Sub holds a connection in a blocking read. No I/O yet:
            # connections open on first use, inside the lifespan. Fail fast (one immediate
            # retry) rather than after redis-py's default backoff: the backend retries
            # itself; the health check notices a connection that silently died.
            self._redis = Redis.from_url(
                settings.redis_url,
                socket_connect_timeout=REDIS_CONNECT_TIMEOUT_SECONDS,
                retry=Retry(NoBackoff(), 1),
                health_check_interval=30,
            )
            backend = ResilientRedisPubSubBackend(redis=self._redis)
        else:
            backend = MemoryChannelsBackend()
        self._listeners: Counter[str] = Counter()
        self.channels = ChannelsPlugin(
            backend=backend,
            arbitrary_channels_allowed=True,
            subscriber_class=BoundedSubscriber,
        )
        self._subscribed: weakref.WeakSet[EventDispatcher] = weakref.WeakSet()

    def subscribe(
        self, dispatcher: EventDispatcher, uow_factory: UnitOfWorkFactory, clock: Clock
    ) -> None:
        """Publish the chat and message events ``dispatcher`` delivers (once per dispatcher)."""
        if dispatcher in self._subscribed:
            return
        self._subscribed.add(dispatcher)
        publisher = RealtimePublisher(uow_factory, clock, self.channels.publish, self._wanted)
        for event_type in RealtimePublisher.EVENTS:
            dispatcher.subscribe(event_type, publisher)

    def _wanted(self, clinic_id: str) -> bool:
        # Through Redis, clients of other instances may be listening: always publish.
        return self._redis is not None or self._listeners[clinic_id] > 0

    @asynccontextmanager
    async def listen(self, clinic_id: str) -> AsyncIterator[BoundedSubscriber]:
        """Receive the clinic's frames while the block runs."""
        self._listeners[clinic_id] += 1
        try:
            async with self.channels.start_subscription(channel_of(clinic_id)) as subscriber:
                assert isinstance(subscriber, BoundedSubscriber)
                yield subscriber
        finally:
            self._listeners[clinic_id] -= 1
            if not self._listeners[clinic_id]:
                del self._listeners[clinic_id]

    @asynccontextmanager
    async def lifespan(self, _: Litestar) -> AsyncIterator[None]:
        """Run the channels backend (and close the Redis client after it)."""
        try:
            async with self.channels:
                yield
        finally:
            if self._redis is not None:
                await self._redis.aclose()
