"""Keep a copy of the file a patient sent: from the provider into Porfin's media store.

Providers keep patients' files only for a while (Cloud API webhook media ids expire after 7
days), so Porfin downloads each one after the message is committed, outside the webhook
request. The copy's id derives from its SHA-256: a retried or repeated download finds the file
already kept, and the message's reference is updated once.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib

import attrs

from porfin_core.domain.media import (
    MAX_BYTES,
    MEDIA_TYPES,
    MediaKind,
    StoredMedia,
    normalize_media_type,
    received_media_id,
    safe_filename,
    sha256_matches,
)
from porfin_core.domain.message import Message, MessageKind
from porfin_core.errors import Conflict, GatewayError, PayloadTooLarge, ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.media import FetchedMedia, InboundMediaSource, MediaStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

MEDIA_MESSAGE_KINDS: dict[MessageKind, MediaKind] = {
    MessageKind.IMAGE: MediaKind.IMAGE,
    MessageKind.STICKER: MediaKind.IMAGE,
    MessageKind.AUDIO: MediaKind.AUDIO,
    MessageKind.VIDEO: MediaKind.VIDEO,
    MessageKind.DOCUMENT: MediaKind.DOCUMENT,
}
"""The message kinds that carry a file, and the media kind a file of unknown type is kept as."""


@attrs.frozen(kw_only=True)
class StoreMedia:
    """Which message's file to keep."""

    clinic_id: str
    message_id: str


class MediaOutcome(enum.StrEnum):
    """What became of a message's file."""

    STORED = "stored"
    """Downloaded and kept now."""
    ALREADY_STORED = "already_stored"
    """A copy was kept before (nothing was downloaded)."""
    FAILED = "failed"
    """The provider's file cannot be had; the reason is in ``extra["media_error"]``."""
    NO_MEDIA = "no_media"
    """The message carries no file."""


@attrs.frozen
class MediaResult:
    """The outcome, the copy's id in the media store (stored ones) or why there is none."""

    outcome: MediaOutcome
    media_id: str | None = None
    reason: str | None = None


@attrs.define(kw_only=True)
class StoreInboundMedia:
    """Download a received message's file from its provider, check it, keep it and point the
    message at the copy (``media.stored_path``, ``size``, hex ``sha256``).

    Checks: the bytes must match the SHA-256 the provider announced with the download (else
    the one in the webhook), and fit WhatsApp's size limit for their type. A failure that will
    not go away (the provider no longer has the file, a hash mismatch, a file too large, a
    channel without credentials) is recorded on the message as ``extra["media_error"]`` and
    not retried; a passing one (provider unreachable, 5xx, timeout) raises and records
    nothing, so the caller may try again. Idempotent: a message whose file is kept already is
    left alone, without a download.
    """

    uow_factory: UnitOfWorkFactory
    media: MediaStore
    source: InboundMediaSource
    clock: Clock

    async def __call__(self, command: StoreMedia) -> MediaResult:
        """Keep ``command``'s message's file.

        Raises:
            NotFound: no such message (or channel) in the clinic.
            GatewayError: a passing provider failure (``retryable``): nothing was recorded.
            StorageUnavailable: the media store or the records could not be written.
        """
        async with self.uow_factory(read_only=True) as uow:
            message = await uow.messages.get(command.clinic_id, command.message_id)
            if message.media is None or message.kind not in MEDIA_MESSAGE_KINDS:
                return MediaResult(MediaOutcome.NO_MEDIA)
            if message.media.stored_path is not None:
                return MediaResult(MediaOutcome.ALREADY_STORED, message.media.stored_path)
            channel = await uow.channels.get(message.channel_id)
        try:
            fetched = await self.source.fetch(channel, message)
            stored = self._checked(message, fetched)
        except GatewayError as exc:
            if exc.retryable:
                raise
            return await self._failed(command, str(exc.fields.get("reason") or exc.message))
        except ValidationError as exc:  # too large, empty, damaged
            return await self._failed(command, exc.message)
        with contextlib.suppress(Conflict):  # the same bytes, kept by an earlier attempt
            await self.media.put(stored, fetched.data)
        return await self._kept(command, stored)

    def _checked(self, message: Message, fetched: FetchedMedia) -> StoredMedia:
        ref = message.media
        assert ref is not None
        data = fetched.data
        if not data:
            raise ValidationError("the provider's file is empty", field="file")
        digest = hashlib.sha256(data)
        # The hash announced with the download describes exactly these bytes; the webhook's is
        # the fallback (Evolution's answer carries none).
        expected = fetched.sha256 or ref.sha256
        if expected and not sha256_matches(expected, digest.digest()):
            raise ValidationError(
                "the downloaded file does not match the sha256 the provider announced",
                field="file",
            )
        mime_type = normalize_media_type(
            fetched.mime_type or ref.mime_type or "application/octet-stream"
        )
        kind = MEDIA_TYPES.get(mime_type, MEDIA_MESSAGE_KINDS[message.kind])
        if len(data) > MAX_BYTES[kind]:
            raise PayloadTooLarge(
                f"the file has {len(data)} bytes; WhatsApp allows at most "
                f"{MAX_BYTES[kind]} for {kind.value} files",
                field="file",
                max_bytes=MAX_BYTES[kind],
            )
        hexdigest = digest.hexdigest()
        return StoredMedia(
            id=received_media_id(hexdigest),
            clinic_id=message.clinic_id,
            kind=kind,
            mime_type=mime_type,
            size=len(data),
            sha256=hexdigest,
            filename=safe_filename(fetched.filename or ref.filename),
            created_at=self.clock.now(),
        )

    async def _kept(self, command: StoreMedia, stored: StoredMedia) -> MediaResult:
        async def work(uow: UnitOfWork) -> MediaResult:
            message = await uow.messages.get(command.clinic_id, command.message_id)
            if not message.keep_media(
                stored.id,
                mime_type=stored.mime_type,
                size=stored.size,
                sha256=stored.sha256,
                at=self.clock.now(),
            ):
                # Kept by a concurrent attempt meanwhile.
                assert message.media is not None
                return MediaResult(MediaOutcome.ALREADY_STORED, message.media.stored_path)
            await uow.messages.save(message)
            uow.record(message.pull_events())
            await uow.commit()
            return MediaResult(MediaOutcome.STORED, stored.id)

        return await transact(self.uow_factory, work)

    async def _failed(self, command: StoreMedia, reason: str) -> MediaResult:
        async def work(uow: UnitOfWork) -> MediaResult:
            message = await uow.messages.get(command.clinic_id, command.message_id)
            if message.media is not None and message.media.stored_path is not None:
                return MediaResult(MediaOutcome.ALREADY_STORED, message.media.stored_path)
            if message.media_unavailable(reason, self.clock.now()):
                await uow.messages.save(message)
                uow.record(message.pull_events())
                await uow.commit()
            return MediaResult(MediaOutcome.FAILED, reason=reason)

        return await transact(self.uow_factory, work)
