"""The API's request and response bodies (separate from the domain entities)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from porfin_core.domain.audit import AuditRecord
from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat
from porfin_core.domain.message import MediaRef, Message

Mode = Literal["ai", "human", "paused"]
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True, description="ISO 8601 with offset")]
Text = Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
ChatStatusName = Literal["open", "closed"]


class ChatOut(msgspec.Struct):
    """A chat as the inbox shows it."""

    id: str
    customer_id: str
    channel_id: str
    customer_name: str
    customer_phone: str | None
    mode: Mode
    effective_mode: Mode
    paused_until: datetime | None
    handoff_reason: str | None
    status: ChatStatusName
    assignee_id: str | None
    unread_count: int
    window_open: bool
    window_expires_at: datetime | None
    last_inbound_at: datetime | None
    last_message_at: datetime
    last_message_preview: str
    created_at: datetime

    @classmethod
    def of(cls, chat: Chat, now: datetime) -> ChatOut:
        """Present ``chat`` as seen at ``now``."""
        return cls(
            id=chat.id,
            customer_id=chat.customer_id,
            channel_id=chat.channel_id,
            customer_name=chat.customer_name,
            customer_phone=chat.customer_phone,
            mode=chat.mode.value,  # type: ignore[arg-type]
            effective_mode=chat.effective_mode(now).value,  # type: ignore[arg-type]
            paused_until=chat.paused_until,
            handoff_reason=chat.handoff_reason,
            status=chat.status.value,  # type: ignore[arg-type]
            assignee_id=chat.assignee_id,
            unread_count=chat.unread_count,
            window_open=chat.window_open(now),
            window_expires_at=chat.window_expires_at(),
            last_inbound_at=chat.last_inbound_at,
            last_message_at=chat.last_message_at,
            last_message_preview=chat.last_message_preview,
            created_at=chat.created_at,
        )


class ChatPage(msgspec.Struct):
    """A page of chats; pass ``next_cursor`` as ``cursor`` for the next one."""

    items: list[ChatOut]
    next_cursor: str | None


class StatusOut(msgspec.Struct):
    """One step of a message's delivery history."""

    status: str
    at: datetime
    error_code: str | None = None
    error_detail: str | None = None


class MediaOut(msgspec.Struct):
    """A message's media."""

    mime_type: str | None = None
    url: str | None = None
    filename: str | None = None
    caption: str | None = None
    sha256: str | None = None
    size: int | None = None

    @classmethod
    def of(cls, media: MediaRef | None) -> MediaOut | None:
        """Present ``media`` (None stays None)."""
        if media is None:
            return None
        return cls(
            media.mime_type, media.url, media.filename, media.caption, media.sha256, media.size
        )


class MessageOut(msgspec.Struct):
    """A message of a chat's timeline with its delivery status."""

    id: str
    chat_id: str
    channel_id: str
    direction: Literal["inbound", "outbound"]
    author: Literal["patient", "ai", "staff", "clinic_phone", "system"]
    author_id: str | None
    kind: str
    body: str | None
    media: MediaOut | None
    extra: dict[str, Any]
    provider_message_id: str | None
    reply_to_provider_id: str | None
    status: str
    error: StatusOut | None
    history: list[StatusOut]
    sent_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        """Present ``message``."""
        history = [
            StatusOut(h.status.value, h.at, h.error_code, h.error_detail) for h in message.history
        ]
        failure = message.failure
        return cls(
            id=message.id,
            chat_id=message.chat_id,
            channel_id=message.channel_id,
            direction=message.direction.value,  # type: ignore[arg-type]
            author=message.author.value,  # type: ignore[arg-type]
            author_id=message.author_id,
            kind=message.kind.value,
            body=message.body,
            media=MediaOut.of(message.media),
            extra=message.extra,
            provider_message_id=message.provider_message_id,
            reply_to_provider_id=message.reply_to_provider_id,
            status=message.status.value,
            error=(
                StatusOut(
                    failure.status.value, failure.at, failure.error_code, failure.error_detail
                )
                if failure
                else None
            ),
            history=history,
            sent_at=message.sent_at,
            created_at=message.created_at,
        )


class MessagePage(msgspec.Struct):
    """A page of a timeline, newest first; ``next_cursor`` leads to older messages."""

    items: list[MessageOut]
    next_cursor: str | None


class SendMessageIn(msgspec.Struct, forbid_unknown_fields=True):
    """A text message from staff."""

    text: Text


class ChatPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a chat; omitted fields stay as they are.

    ``mode``: ``ai`` resumes the AI, ``human`` hands the chat to a person (with ``reason``
    for a handoff), ``paused`` silences the AI until ``paused_until``. ``assignee_id``:
    a staff user id, or null to unassign. ``read``: true marks every message read.
    """

    mode: Mode | None = None
    paused_until: AwareDatetime | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] | None = None
    assignee_id: str | msgspec.UnsetType | None = msgspec.UNSET
    status: ChatStatusName | None = None
    read: bool = False


class SimulatedMessage(msgspec.Struct, forbid_unknown_fields=True):
    """A patient's message through the simulator channel.

    ``id`` is the provider message id (a redelivery with the same id is stored once);
    ``from`` the patient's phone in any format; ``from_me`` marks a message typed on the
    clinic's own phone to that patient.
    """

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    from_: Annotated[str, msgspec.Meta(min_length=1, max_length=40)] = msgspec.field(name="from")
    text: Text
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    timestamp: AwareDatetime | None = None
    from_me: bool = False


class SimulatedStatus(msgspec.Struct, forbid_unknown_fields=True):
    """A delivery status for a message sent through the simulator."""

    id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    status: Literal["sent", "delivered", "read", "played", "failed"]
    timestamp: AwareDatetime | None = None
    error_code: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    error_detail: Annotated[str, msgspec.Meta(max_length=1000)] | None = None


class SimulatorEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The simulator webhook's body: exactly one of ``message`` or ``status``."""

    message: SimulatedMessage | None = None
    status: SimulatedStatus | None = None


class ReceivedOut(msgspec.Struct):
    """Where an inbound message landed; ``duplicate`` when it had been received before."""

    message_id: str
    chat_id: str
    customer_id: str
    duplicate: bool


class StatusRecordedOut(msgspec.Struct):
    """``applied``: the status moved forward; ``pending``: kept until its message is known."""

    applied: bool
    pending: bool
    message_id: str | None


class Health(msgspec.Struct):
    """Liveness / readiness."""

    status: Literal["ok", "unavailable"]
    storage: str | None = None


class ChannelOut(msgspec.Struct):
    """A WhatsApp number of the clinic (secrets are never shown)."""

    id: str
    name: str
    provider: Literal["cloud_api", "evolution", "simulator"]
    phone: str | None
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, channel: Channel) -> ChannelOut:
        """Present ``channel``."""
        return cls(
            id=channel.id,
            name=channel.name,
            provider=channel.provider.value,  # type: ignore[arg-type]
            phone=channel.phone,
            active=channel.active,
            created_at=channel.created_at,
        )


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    """E-mail and password."""

    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


class RefreshIn(msgspec.Struct, forbid_unknown_fields=True):
    """The refresh token received at login or at the last refresh."""

    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=512)]


class SessionOut(msgspec.Struct):
    """Tokens of a session. ``access_token`` goes in ``Authorization: Bearer``; keep
    ``refresh_token`` secret: it works once and buys the next pair."""

    access_token: str
    token_type: Literal["bearer"]
    expires_in: int
    refresh_token: str
    refresh_expires_at: datetime


class UserOut(msgspec.Struct):
    """A staff account (never its password hash)."""

    id: str
    clinic_id: str
    name: str
    email: str
    role: Literal["admin", "manager", "secretary"]
    active: bool
    permissions: list[str]


class AuditRecordOut(msgspec.Struct):
    """One audit record, exactly as chained (see docs/audit.md for the canonical form)."""

    clinic_id: str
    seq: Annotated[int, msgspec.Meta(description="Position in the clinic's chain, from 1.")]
    at: datetime
    actor_id: str
    actor_kind: Annotated[str, msgspec.Meta(description="`user`, `system` or `api_token`.")]
    action: Annotated[str, msgspec.Meta(examples=["chat.read"])]
    resource_type: str
    resource_id: str
    source: Annotated[str, msgspec.Meta(description="Client IP address, `cli` or `system`.")]
    request_id: str | None
    details: dict[str, str]
    prev_hash: Annotated[str, msgspec.Meta(description="`hash` of the previous record.")]
    hash: Annotated[str, msgspec.Meta(description="SHA-256 (hex) of the canonical form.")]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        """Present ``record``."""
        return cls(
            clinic_id=record.clinic_id,
            seq=record.seq,
            at=record.at,
            actor_id=record.actor_id,
            actor_kind=record.actor_kind,
            action=record.action,
            resource_type=record.resource_type,
            resource_id=record.resource_id,
            source=record.source,
            request_id=record.request_id,
            details=dict(record.details),
            prev_hash=record.prev_hash,
            hash=record.hash,
        )


class AuditPage(msgspec.Struct):
    """A page of audit records, newest first."""

    items: list[AuditRecordOut]
    next_cursor: str | None
