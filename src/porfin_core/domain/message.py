"""Messages of a chat's timeline and their delivery status."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from porfin_core.domain.events import (
    SHORT_TEXT,
    EventRecorder,
    MessageCreated,
    MessageMediaUpdated,
    MessageStatusChanged,
)


class Direction(enum.StrEnum):
    """Inbound: from the patient. Outbound: from the clinic (staff, AI, clinic phone, system)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Author(enum.StrEnum):
    """Who wrote the message.

    ``clinic_phone`` is a message typed on the clinic's own WhatsApp phone, outside Porfin.
    """

    PATIENT = "patient"
    AI = "ai"
    STAFF = "staff"
    CLINIC_PHONE = "clinic_phone"
    SYSTEM = "system"


class MessageKind(enum.StrEnum):
    """What the message carries."""

    TEXT = "text"
    IMAGE = "image"
    DOCUMENT = "document"
    AUDIO = "audio"
    VIDEO = "video"
    STICKER = "sticker"
    LOCATION = "location"
    CONTACTS = "contacts"
    INTERACTIVE = "interactive"
    REACTION = "reaction"
    TEMPLATE = "template"
    UNSUPPORTED = "unsupported"


class DeliveryStatus(enum.StrEnum):
    """Delivery progress of an outbound message (inbound messages are ``received``)."""

    RECEIVED = "received"
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    READ = "read"
    PLAYED = "played"


# Statuses only move forward. ``failed`` outranks ``sent`` (the provider gave up after
# accepting), but a later ``delivered``/``read`` proves the message arrived after all.
_RANK = {
    DeliveryStatus.RECEIVED: -1,
    DeliveryStatus.PENDING: 0,
    DeliveryStatus.SENT: 1,
    DeliveryStatus.FAILED: 2,
    DeliveryStatus.DELIVERED: 3,
    DeliveryStatus.READ: 4,
    DeliveryStatus.PLAYED: 5,
}


@attrs.frozen
class StatusChange:
    """One step of a message's status history."""

    status: DeliveryStatus
    at: datetime
    error_code: str | None = None
    error_detail: str | None = None


@attrs.frozen
class MediaRef:
    """Where a message's media lives: the provider's media id and/or Porfin's media store.

    Attributes:
        mime_type: The file's MIME type.
        provider_media_id: The provider's id for the file (Cloud API media id).
        url: Where the provider serves it, when it said.
        filename: The file's name (documents).
        caption: Text shown under it.
        sha256: Hash of the bytes (hex for files Porfin stored; as the provider sent it
            otherwise).
        size: Length in bytes.
        stored_path: The file's id in Porfin's media store (``MediaStore``), served at
            ``GET /api/v1/media/{id}``; None until Porfin keeps a copy.
    """

    mime_type: str | None = None
    provider_media_id: str | None = None
    url: str | None = None
    filename: str | None = None
    caption: str | None = None
    sha256: str | None = None
    size: int | None = None
    stored_path: str | None = None


@attrs.define(kw_only=True)
class Message(EventRecorder):
    """A message in a chat's timeline.

    Attributes:
        id: Porfin's identifier.
        clinic_id: The clinic.
        chat_id: The chat it belongs to.
        channel_id: The channel it travelled on.
        direction: Inbound or outbound.
        author: Patient, AI, staff, the clinic's phone or the system.
        kind: Text, image, ... or ``unsupported``.
        body: Text, caption or a readable summary of the content.
        media: Media reference for image/document/audio/video/sticker.
        extra: Kind-specific data (location, contacts, interactive reply, reaction, template).
        raw: The provider payload as received, kept for kinds Porfin does not model.
        provider_message_id: The provider's id (``wamid...``); unique per channel.
        reply_to_provider_id: Provider id of the message this one answers.
        author_id: Staff user id when ``author`` is staff.
        status: Current delivery status.
        history: Every accepted status change, oldest first.
        sent_at: Provider timestamp for inbound messages.
        created_at: When Porfin recorded the message.
    """

    id: str
    clinic_id: str
    chat_id: str
    channel_id: str
    direction: Direction
    author: Author
    kind: MessageKind
    body: str | None = None
    media: MediaRef | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    raw: dict[str, Any] | None = None
    provider_message_id: str | None = None
    reply_to_provider_id: str | None = None
    author_id: str | None = None
    status: DeliveryStatus
    history: list[StatusChange] = attrs.field(factory=list)
    sent_at: datetime | None = None
    created_at: datetime

    def created(self) -> None:
        """Record that the message entered its chat's timeline."""
        self.record(
            MessageCreated(
                clinic_id=self.clinic_id,
                occurred_at=self.created_at,
                chat_id=self.chat_id,
                message_id=self.id,
                direction=self.direction.value,
                author=self.author.value,
                kind=self.kind.value,
                short_text=self.body
                if self.kind is MessageKind.TEXT and self.body and len(self.body) <= SHORT_TEXT
                else None,
            )
        )

    def keep_media(
        self, media_id: str, *, mime_type: str, size: int, sha256: str, at: datetime
    ) -> bool:
        """Porfin now keeps a copy of the message's file as ``media_id`` in its media store.

        The reference gains the copy's id, type, size and hex SHA-256; an earlier
        ``extra["media_error"]`` goes away. Returns False (and records nothing) when a copy
        was already kept or the message has no media.
        """
        if self.media is None or self.media.stored_path is not None:
            return False
        self.media = attrs.evolve(
            self.media, stored_path=media_id, mime_type=mime_type, size=size, sha256=sha256
        )
        self.extra = {k: v for k, v in self.extra.items() if k != "media_error"}
        self.record(
            MessageMediaUpdated(
                clinic_id=self.clinic_id,
                occurred_at=at,
                chat_id=self.chat_id,
                message_id=self.id,
                media_id=media_id,
            )
        )
        return True

    def media_unavailable(self, reason: str, at: datetime) -> bool:
        """The provider's file cannot be had (expired, damaged, too large...): ``reason`` is
        kept in ``extra["media_error"]``.

        Returns False (and records nothing) when a copy is kept already, the message has no
        media, or the same reason is recorded.
        """
        if self.media is None or self.media.stored_path is not None:
            return False
        if self.extra.get("media_error") == reason:
            return False
        self.extra = {**self.extra, "media_error": reason}
        self.record(
            MessageMediaUpdated(
                clinic_id=self.clinic_id,
                occurred_at=at,
                chat_id=self.chat_id,
                message_id=self.id,
                error=reason,
            )
        )
        return True

    def apply_status(self, change: StatusChange) -> bool:
        """Move the delivery status forward; returns False when ``change`` is stale.

        A late ``delivered`` never downgrades ``read``; ``read`` may arrive without
        ``delivered``; ``failed`` keeps its error code.
        """
        if _RANK[change.status] <= _RANK[self.status]:
            return False
        self.status = change.status
        self.history.append(change)
        self.record(
            MessageStatusChanged(
                clinic_id=self.clinic_id,
                occurred_at=change.at,
                chat_id=self.chat_id,
                message_id=self.id,
                status=change.status.value,
                error_code=change.error_code,
            )
        )
        return True

    def accepted(self, provider_message_id: str, at: datetime) -> None:
        """The provider took the message and named it ``provider_message_id``."""
        self.provider_message_id = provider_message_id
        self.apply_status(StatusChange(DeliveryStatus.SENT, at))

    @property
    def failure(self) -> StatusChange | None:
        """The failure that stands, when the message's status is ``failed``."""
        if self.status is not DeliveryStatus.FAILED:
            return None
        return self.history[-1]


def preview(message: Message, width: int = 80) -> str:
    """A one-line summary of ``message`` for chat lists."""
    text = message.body or f"[{message.kind.value}]"
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
