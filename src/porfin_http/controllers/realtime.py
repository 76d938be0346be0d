"""``WS /api/v1/ws``: realtime events for the inbox and open chats (protocol: docs/api.md).

A connection authenticates (``Authorization: Bearer`` on the upgrade request, or, from a
browser, which cannot set headers, ``{"action": "auth", "token": ...}`` as its first message),
gets ``{"type": "ready"}``, then subscribes to ``inbox``, to single chats, or to ``agenda``.
Frames come from the clinic's channel (:mod:`porfin_http.realtime`) and pass through the
connection's :class:`~porfin_http.realtime.View`. The token is checked again at every command
and every keepalive; a client renews it on the open connection by sending ``auth`` again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, cast

import msgspec
import structlog
from litestar import WebSocket, websocket
from litestar.exceptions import NotAuthorizedException, WebSocketDisconnect
from litestar.handlers import WebsocketRouteHandler

from porfin_core.domain.clinic import Role
from porfin_core.errors import InvalidCredentials, PorfinError
from porfin_core.permissions import Permission, allows
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.use_cases.get_chat import GetChat
from porfin_http.actors import actor_of
from porfin_http.auth import ACTOR_ADMIN, AccountCheck
from porfin_http.deps import Services
from porfin_http.realtime import BoundedSubscriber, Realtime, View
from porfin_http.schemas import ChatOut

log = structlog.get_logger(__name__)

PATH = "/api/v1/ws"

CLOSE_UNAUTHENTICATED = 4401
"""No token, a bad one, no ``auth`` within :data:`AUTH_TIMEOUT_SECONDS`, or it expired."""
CLOSE_FORBIDDEN = 4403
"""The role may not read chats, or a renewed token names another user."""
CLOSE_TOO_SLOW = 1013
"""The client fell :data:`~porfin_http.realtime.MAX_BACKLOG` frames behind: reconnect."""
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011

AUTH_TIMEOUT_SECONDS = 10.0
KEEPALIVE_SECONDS = 20.0
MAX_COMMAND_CHARS = 4096
MAX_CHAT_SUBSCRIPTIONS = 100

ChatId = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Ref = Annotated[str, msgspec.Meta(max_length=64)]
"""Any string the client picks; the reply to the command carries it back."""


class Auth(msgspec.Struct, tag="auth", tag_field="action", forbid_unknown_fields=True):
    """First message from a browser; later, a renewed access token for the same user."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    ref: Ref | None = None


class Subscribe(msgspec.Struct, tag="subscribe", tag_field="action", forbid_unknown_fields=True):
    """Start receiving the inbox's events, one chat's, or the agenda's (``appointment.*``)."""

    topic: Literal["inbox", "chat", "agenda"]
    chat_id: ChatId | None = None
    ref: Ref | None = None

    def __post_init__(self) -> None:
        if (self.topic == "chat") != (self.chat_id is not None):
            raise ValueError("`chat_id` goes with topic `chat`, and only with it")


class Unsubscribe(Subscribe, tag="unsubscribe"):
    """Stop receiving them (subscribing and unsubscribing are idempotent)."""


class Ping(msgspec.Struct, tag="ping", tag_field="action", forbid_unknown_fields=True):
    """Answered with ``pong``."""

    ref: Ref | None = None


Command = Auth | Subscribe | Unsubscribe | Ping
_decode_command = msgspec.json.Decoder(Command).decode
_encode = msgspec.json.Encoder().encode


class _Close(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


Authenticate = Callable[[str, str], Awaitable[Principal]]
"""``(token, installation clinic id) -> Principal``; raises InvalidCredentials."""


class Connection:
    """One client's session: authentication, commands, keepalive and forwarded frames."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        *,
        realtime: Realtime,
        authenticate: Authenticate,
        get_chat: GetChat,
        clock: Clock,
    ) -> None:
        self.socket = socket
        self._realtime = realtime
        self._authenticate = authenticate
        self._get_chat = get_chat
        self._clock = clock
        self._send_lock = asyncio.Lock()
        self._token = ""
        self._view: View | None = None
        self._closed: asyncio.Future[tuple[int, str] | None] | None = None

    async def serve(self) -> None:
        """Run until the client leaves or the server closes the connection."""
        await self.socket.accept()
        try:
            close = await self._run()
        except _Close as exc:
            close = (exc.code, exc.reason)
        except WebSocketDisconnect:
            close = None
        except Exception:
            # E.g. the channels backend (Redis) could not subscribe: the client reconnects.
            log.exception("realtime.connection_failed")
            close = (CLOSE_INTERNAL, "internal error")
        if close is not None:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await self.socket.close(*close)

    async def _run(self) -> tuple[int, str] | None:
        principal = await self._first_authentication()
        if not allows(principal.role, Permission.CHATS_OWN):
            raise _Close(CLOSE_FORBIDDEN, "this role may not read chats")
        self._view = View(principal)
        self._closed = asyncio.get_running_loop().create_future()
        async with self._realtime.listen(principal.clinic_id) as subscriber:
            subscriber.on_overflow = lambda: self._stop((CLOSE_TOO_SLOW, "too far behind"))
            await self._send(_ready("ready", principal))
            tasks = [
                asyncio.create_task(self._guard(self._forward(subscriber))),
                asyncio.create_task(self._guard(self._read())),
                asyncio.create_task(self._guard(self._keepalive())),
            ]
            try:
                return await self._closed
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    # -- authentication -------------------------------------------------------------------

    async def _first_authentication(self) -> Principal:
        scheme, _, value = self.socket.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return await self._principal(value.strip())
        try:
            async with asyncio.timeout(AUTH_TIMEOUT_SECONDS):
                raw = await self._receive()
        except TimeoutError:
            raise _Close(CLOSE_UNAUTHENTICATED, "authentication timed out") from None
        if raw is None:
            raise WebSocketDisconnect(detail="client left")
        try:
            command = _decode_command(raw)
        except msgspec.MsgspecError:
            command = None
        if not isinstance(command, Auth):
            raise _Close(CLOSE_UNAUTHENTICATED, "send an auth message first")
        return await self._principal(command.token)

    async def _principal(self, token: str) -> Principal:
        try:
            principal = await self._authenticate(token, self.socket.app.state.clinic_id)
        except InvalidCredentials as exc:
            raise _Close(CLOSE_UNAUTHENTICATED, exc.message) from None
        except NotAuthorizedException as exc:  # the account was disabled
            raise _Close(CLOSE_UNAUTHENTICATED, str(exc.detail)) from None
        self._token = token
        # actor_of (the audit's "who") reads the principal where the HTTP guard puts it.
        self.socket.scope["state"]["principal"] = principal
        return principal

    async def _check_token(self) -> None:
        """Closes with 4401 once the token the connection runs on has expired, or its account
        was disabled."""
        assert self._view is not None
        self._view.principal = await self._principal(self._token)

    async def _renew(self, command: Auth) -> None:
        assert self._view is not None
        current = self._view.principal
        principal = await self._principal(command.token)
        if (principal.user_id, principal.clinic_id) != (current.user_id, current.clinic_id):
            raise _Close(CLOSE_FORBIDDEN, "the token belongs to another user")
        if not allows(principal.role, Permission.CHATS_OWN):
            raise _Close(CLOSE_FORBIDDEN, "this role may not read chats")
        self._view.principal = principal
        await self._send(_ready("authenticated", principal, command.ref))

    # -- the three tasks --------------------------------------------------------------------

    async def _guard(self, work: Awaitable[None]) -> None:
        try:
            await work
            self._stop(None)
        except _Close as exc:
            self._stop((exc.code, exc.reason))
        except WebSocketDisconnect:
            self._stop(None)
        except Exception:
            log.exception("realtime.connection_failed")
            self._stop((CLOSE_INTERNAL, "internal error"))

    def _stop(self, close: tuple[int, str] | None) -> None:
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(close)

    async def _forward(self, subscriber: BoundedSubscriber) -> None:
        view = self._view
        assert view is not None
        async for payload in subscriber.iter_events():
            frame = view.frame_for(payload)
            if frame is not None:
                await self._send(frame)

    async def _read(self) -> None:
        while (raw := await self._receive()) is not None:
            await self._handle(raw)

    async def _keepalive(self) -> None:
        while True:
            await asyncio.sleep(KEEPALIVE_SECONDS)
            await self._check_token()
            await self._send(b'{"type":"ping"}')

    # -- commands -------------------------------------------------------------------------

    async def _handle(self, raw: str | bytes) -> None:
        try:
            command = _decode_command(raw)
        except msgspec.MsgspecError as exc:
            await self._error("bad_request", str(exc))
            return
        if isinstance(command, Auth):
            await self._renew(command)
            return
        await self._check_token()
        if isinstance(command, Ping):
            await self._send(_reply("pong", command.ref))
        elif isinstance(command, Unsubscribe):
            await self._unsubscribe(command)
        else:
            await self._subscribe(command)

    async def _subscribe(self, command: Subscribe) -> None:
        view = self._view
        assert view is not None
        fields: dict[str, Any] = {"topic": command.topic}
        if command.topic == "agenda":
            if not view.sees_agenda:
                await self._error("forbidden", "this role may not see the agenda", command.ref)
                return
            view.agenda = True
        elif command.chat_id is None:
            view.inbox = True
        else:
            if command.chat_id not in view.chats and len(view.chats) >= MAX_CHAT_SUBSCRIPTIONS:
                await self._error(
                    "too_many_subscriptions",
                    f"at most {MAX_CHAT_SUBSCRIPTIONS} chat subscriptions per connection",
                    command.ref,
                    chat_id=command.chat_id,
                )
                return
            try:
                # An audited read (chat.read), as GET /api/v1/chats/{id}: the frames that
                # follow carry the chat's messages. Another clinic's chat, or one a secretary
                # may not see, is "not found", exactly like a missing one.
                chat = await self._get_chat(
                    view.principal.clinic_id,
                    command.chat_id,
                    view.principal,
                    actor=actor_of(self.socket),
                )
            except PorfinError as exc:
                await self._error(exc.code, exc.message, command.ref, chat_id=command.chat_id)
                return
            view.chats.add(command.chat_id)
            fields |= {"chat_id": command.chat_id, "chat": ChatOut.of(chat, self._clock.now())}
        await self._send(_reply("subscribed", command.ref, **fields))

    async def _unsubscribe(self, command: Unsubscribe) -> None:
        view = self._view
        assert view is not None
        fields: dict[str, Any] = {"topic": command.topic}
        if command.topic == "agenda":
            view.agenda = False
        elif command.chat_id is None:
            view.inbox = False
        else:
            view.chats.discard(command.chat_id)
            fields["chat_id"] = command.chat_id
        await self._send(_reply("unsubscribed", command.ref, **fields))

    # -- the socket -----------------------------------------------------------------------

    async def _receive(self) -> str | bytes | None:
        """The next message, or None when the client left."""
        message = await self.socket.receive()
        if message["type"] == "websocket.disconnect":
            return None
        raw = cast("str | bytes", message.get("text") or message.get("bytes") or "")
        if len(raw) > MAX_COMMAND_CHARS:
            raise _Close(CLOSE_TOO_BIG, f"commands are at most {MAX_COMMAND_CHARS} characters")
        return raw

    async def _send(self, frame: bytes) -> None:
        # Frames, replies and keepalives come from three tasks; one frame at a time.
        async with self._send_lock:
            await self.socket.send_data(frame, mode="text")

    async def _error(self, code: str, detail: str, ref: str | None = None, **extra: str) -> None:
        await self._send(_reply("error", ref, code=code, detail=detail, **extra))


def _reply(kind: str, ref: str | None, **fields: Any) -> bytes:
    """A frame of the protocol itself (not an event); ``ref`` only when the command had one."""
    frame = {"type": kind, **fields}
    if ref is not None:
        frame["ref"] = ref
    return _encode(frame)


def _ready(kind: str, principal: Principal, ref: str | None = None) -> bytes:
    return _reply(
        kind,
        ref,
        user_id=principal.user_id,
        clinic_id=principal.clinic_id,
        role=principal.role.value,
    )


def realtime_handler(
    realtime: Realtime, services: Services, admin_token: str, accounts: AccountCheck
) -> WebsocketRouteHandler:
    """The ``/api/v1/ws`` route: staff access tokens, or the installation's admin token
    (an admin of the installation's clinic, as in :func:`porfin_http.auth.api_guard`)."""
    expected = admin_token.encode()
    access_tokens = services.access_tokens()
    clock = services.clock()

    async def authenticate(token: str, installation_clinic_id: str) -> Principal:
        if hmac.compare_digest(token.encode(), expected):
            return Principal(ACTOR_ADMIN, installation_clinic_id, Role.ADMIN)
        # The account's current state, as the HTTP guard sees it: disabled -> closed.
        return await accounts.current(access_tokens.read(token, clock.now()))

    @websocket(PATH, name="realtime")
    async def realtime_socket(socket: WebSocket[Any, Any, Any]) -> None:
        await Connection(
            socket,
            realtime=realtime,
            authenticate=authenticate,
            get_chat=services.get_chat(),
            clock=clock,
        ).serve()

    return realtime_socket
