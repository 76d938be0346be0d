"""Domain events: facts about state changes, committed with the change (outbox) and
dispatched after commit.

Every event is a frozen attrs class carrying the clinic it belongs to and when it happened.
``EVENT_TYPES`` maps each event's stable name to its class so adapters can store and restore
them.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs


@attrs.frozen(kw_only=True)
class DomainEvent:
    """Base class of every domain event.

    Attributes:
        clinic_id: The tenant the event belongs to.
        occurred_at: When the change happened (timezone-aware).
    """

    name: ClassVar[str] = "event"
    clinic_id: str
    occurred_at: datetime


@attrs.frozen(kw_only=True)
class CustomerCreated(DomainEvent):
    """A person wrote for the first time (or staff registered them)."""

    name: ClassVar[str] = "customer.created"
    customer_id: str


@attrs.frozen(kw_only=True)
class CustomerUpdated(DomainEvent):
    """Staff changed a customer's profile.

    ``changed`` names what changed (``name``, ``tags``, ``stage``, ``consents.<purpose>``);
    ``changed_by`` is who changed it. The values themselves are read from the customer.
    """

    name: ClassVar[str] = "customer.updated"
    customer_id: str
    changed: tuple[str, ...] = ()
    changed_by: str | None = None


@attrs.frozen(kw_only=True)
class CustomersMerged(DomainEvent):
    """Two customers turned out to be one person: the duplicate was merged into the survivor.

    ``customer_id`` is the survivor (it keeps its id); ``duplicate_id`` the customer merged
    into it, which is no longer listed or found. ``changed`` names what the survivor gained
    (``identities``, ``name``, ``phone``, ``tags``, ``stage``, ``consents.<purpose>``,
    ``created_at``). ``chat_ids`` are the survivor's chats that received the duplicate's
    conversations (moved as they were, or joined into the survivor's chat on the same
    channel); ``removed_chat_ids`` the duplicate's chats that were joined and no longer exist.
    """

    name: ClassVar[str] = "customer.merged"
    customer_id: str
    duplicate_id: str
    changed: tuple[str, ...] = ()
    chat_ids: tuple[str, ...] = ()
    removed_chat_ids: tuple[str, ...] = ()
    merged_by: str | None = None


@attrs.frozen(kw_only=True)
class MessageCreated(DomainEvent):
    """A message entered a chat's timeline (inbound, staff, AI or typed on the clinic phone).

    ``kind`` is the message's kind (``text``, ``image``...), so handlers can skip what they
    do not care about without a read; events stored before the field existed read as None.
    ``short_text`` is the text of a short text message (at most :data:`SHORT_TEXT`
    characters; None otherwise), for handlers looking for brief answers ("1", "confirmo").
    """

    name: ClassVar[str] = "message.created"
    chat_id: str
    message_id: str
    direction: str
    author: str
    kind: str | None = None
    short_text: str | None = None


SHORT_TEXT = 120
"""Longest text a :class:`MessageCreated` carries."""


@attrs.frozen(kw_only=True)
class MessageMediaUpdated(DomainEvent):
    """Porfin kept a copy of a received message's file (``media_id``, its id in the media
    store), or gave up on it (``error``, also in the message's ``extra["media_error"]``)."""

    name: ClassVar[str] = "message.media_updated"
    chat_id: str
    message_id: str
    media_id: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class MessageStatusChanged(DomainEvent):
    """An outbound message moved forward in its delivery status."""

    name: ClassVar[str] = "message.status"
    chat_id: str
    message_id: str
    status: str
    error_code: str | None = None


@attrs.frozen(kw_only=True)
class ChatOpened(DomainEvent):
    """A chat was created, or a closed chat reopened."""

    name: ClassVar[str] = "chat.opened"
    chat_id: str
    customer_id: str
    reopened: bool


@attrs.frozen(kw_only=True)
class ChatModeChanged(DomainEvent):
    """Who answers the chat changed: the AI, a person, or nobody until a time."""

    name: ClassVar[str] = "chat.mode_changed"
    chat_id: str
    mode: str
    paused_until: datetime | None = None
    reason: str | None = None
    changed_by: str | None = None


@attrs.frozen(kw_only=True)
class ChatAssigned(DomainEvent):
    """The chat got a new assignee (or became unassigned when ``assignee_id`` is None).

    ``previous_assignee_id`` is who had it before (None: it was unassigned); events stored
    before the field existed read as None.
    """

    name: ClassVar[str] = "chat.assigned"
    chat_id: str
    assignee_id: str | None
    previous_assignee_id: str | None = None


@attrs.frozen(kw_only=True)
class ChatClosed(DomainEvent):
    """Staff closed the chat."""

    name: ClassVar[str] = "chat.closed"
    chat_id: str


@attrs.frozen(kw_only=True)
class ChatRead(DomainEvent):
    """Staff marked the chat's patient messages read (its unread count went to zero)."""

    name: ClassVar[str] = "chat.read"
    chat_id: str
    read_by: str | None = None


@attrs.frozen(kw_only=True)
class ChannelDegraded(DomainEvent):
    """A channel's connection looks open but nothing has come through it for too long (see
    ``HealthRule`` in :mod:`porfin_core.domain.channel`): messages may be getting lost.

    ``quiet_since`` is when the bridge last sent anything (or when the connection opened, if
    later).
    """

    name: ClassVar[str] = "channel.degraded"
    channel_id: str
    quiet_since: datetime


@attrs.frozen(kw_only=True)
class ChannelRecovered(DomainEvent):
    """A degraded channel is degraded no more: the bridge is sending again, or the connection
    changed (``state``: ``open`` when it works again, else ``close``, ``connecting``...)."""

    name: ClassVar[str] = "channel.recovered"
    channel_id: str
    state: str
    degraded_since: datetime | None = None


@attrs.frozen(kw_only=True)
class AppointmentEvent(DomainEvent):
    """What every appointment event carries, so handlers (reminders, calendar sync, the
    realtime feed) seldom need to read the appointment.

    Attributes:
        appointment_id: The appointment.
        customer_id: The patient.
        professional_id: Who attends them.
        start: When it starts (after the change).
        end: When it ends (after the change).
        changed_by: Who made the change (a staff user id, ``ai``, ``patient``...), if known.
    """

    appointment_id: str
    customer_id: str
    professional_id: str
    start: datetime
    end: datetime
    changed_by: str | None = None


@attrs.frozen(kw_only=True)
class AppointmentBooked(AppointmentEvent):
    """An appointment was booked (status ``requested``); ``source`` is ``ai``, ``staff`` or
    ``patient``."""

    name: ClassVar[str] = "appointment.booked"
    type_id: str
    source: str


@attrs.frozen(kw_only=True)
class AppointmentConfirmed(AppointmentEvent):
    """The patient (or staff for them) confirmed they will come."""

    name: ClassVar[str] = "appointment.confirmed"


@attrs.frozen(kw_only=True)
class AppointmentRescheduled(AppointmentEvent):
    """The appointment moved from ``previous_start``-``previous_end`` to ``start``-``end``
    (and waits for confirmation again)."""

    name: ClassVar[str] = "appointment.rescheduled"
    previous_start: datetime
    previous_end: datetime


@attrs.frozen(kw_only=True)
class AppointmentCancelled(AppointmentEvent):
    """The appointment was cancelled (final): its time is free again."""

    name: ClassVar[str] = "appointment.cancelled"
    reason: str = ""


@attrs.frozen(kw_only=True)
class AppointmentAttended(AppointmentEvent):
    """The patient came (final)."""

    name: ClassVar[str] = "appointment.attended"


@attrs.frozen(kw_only=True)
class AppointmentNoShow(AppointmentEvent):
    """The patient did not come (final)."""

    name: ClassVar[str] = "appointment.no_show"


@attrs.frozen(kw_only=True)
class WaitlistSlotOffered(DomainEvent):
    """A freed slot was offered to a waitlisted patient (the entry is now ``offered``); the
    message that tells them is sent by whoever handles this event."""

    name: ClassVar[str] = "waitlist.slot_offered"
    entry_id: str
    customer_id: str
    type_id: str
    professional_id: str
    start: datetime
    end: datetime


@attrs.frozen(kw_only=True)
class CalendarConnectionRevoked(DomainEvent):
    """Porfin lost access to a professional's connected calendar (the owner removed it, or
    the grant expired): staff should ask the professional to connect it again."""

    name: ClassVar[str] = "calendar.revoked"
    professional_id: str
    connection_id: str


@attrs.frozen(kw_only=True)
class CalendarChangeUndone(DomainEvent):
    """An appointment's event was moved (or its length changed) in the professional's
    calendar; Porfin writes its own times back. Staff should reschedule through Porfin if the
    move was meant. ``changed``: the owned fields that differed (``start``, ``end``...)."""

    name: ClassVar[str] = "calendar.change_undone"
    appointment_id: str
    professional_id: str
    changed: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class CalendarEventDeleted(DomainEvent):
    """An appointment's event was deleted in the professional's calendar; the appointment
    keeps its slot until staff cancel it (the patient is told) or it changes in Porfin (the
    event is written again)."""

    name: ClassVar[str] = "calendar.event_deleted"
    appointment_id: str
    professional_id: str


@attrs.frozen(kw_only=True)
class ChargeEvent(DomainEvent):
    """Something happened to a charge."""

    charge_id: str
    customer_id: str
    amount_cents: int
    by: str | None = None


@attrs.frozen(kw_only=True)
class ChargeCreated(ChargeEvent):
    """A charge was issued to a patient."""

    name: ClassVar[str] = "charge.created"
    provider: str = "embedded"
    appointment_id: str | None = None


@attrs.frozen(kw_only=True)
class ChargePaid(ChargeEvent):
    """The payments of a charge reached its amount (``paid_cents`` may exceed it)."""

    name: ClassVar[str] = "charge.paid"
    paid_cents: int = 0
    appointment_id: str | None = None


@attrs.frozen(kw_only=True)
class ChargeCancelled(ChargeEvent):
    """Staff cancelled a pending charge (final)."""

    name: ClassVar[str] = "charge.cancelled"
    reason: str = ""


@attrs.frozen(kw_only=True)
class ChargeOpened(ChargeEvent):
    """A payment gateway created the charge: it has the provider's id and its PIX code."""

    name: ClassVar[str] = "charge.opened"
    provider: str = ""
    provider_charge_id: str = ""


@attrs.frozen(kw_only=True)
class ChargeExpired(ChargeEvent):
    """A pending charge reached its expiry (or the gateway let it lapse) unpaid (final)."""

    name: ClassVar[str] = "charge.expired"


@attrs.frozen(kw_only=True)
class ChargeRefunded(ChargeEvent):
    """The money of a paid charge went back to the patient (final)."""

    name: ClassVar[str] = "charge.refunded"
    refunded_cents: int = 0


EVENT_TYPES: dict[str, type[DomainEvent]] = {
    cls.name: cls
    for cls in (
        CustomerCreated,
        CustomerUpdated,
        CustomersMerged,
        MessageCreated,
        MessageMediaUpdated,
        MessageStatusChanged,
        ChatOpened,
        ChatModeChanged,
        ChatAssigned,
        ChatClosed,
        ChatRead,
        ChannelDegraded,
        ChannelRecovered,
        AppointmentBooked,
        AppointmentConfirmed,
        AppointmentRescheduled,
        AppointmentCancelled,
        AppointmentAttended,
        AppointmentNoShow,
        WaitlistSlotOffered,
        CalendarConnectionRevoked,
        CalendarChangeUndone,
        CalendarEventDeleted,
        ChargeCreated,
        ChargePaid,
        ChargeCancelled,
        ChargeOpened,
        ChargeExpired,
        ChargeRefunded,
    )
}
"""Every event class by its stable name."""


@attrs.define
class EventRecorder:
    """Mixin state for entities that record events until the use case collects them."""

    _events: list[DomainEvent] = attrs.field(factory=list, init=False, eq=False, repr=False)

    def record(self, event: DomainEvent) -> None:
        """Remember ``event`` until :meth:`pull_events` is called."""
        self._events.append(event)

    def pull_events(self) -> list[DomainEvent]:
        """Return the recorded events and forget them."""
        events, self._events = self._events, []
        return events
