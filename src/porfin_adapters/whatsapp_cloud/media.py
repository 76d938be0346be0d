"""Cloud API media: uploading Porfin's files for sends, downloading patients' files.

- Upload: ``POST /<PHONE_NUMBER_ID>/media`` (multipart ``messaging_product``, ``type``,
  ``file``) answers ``{"id": "<MEDIA_ID>"}``; ids last 30 days, so one upload serves every
  send of the same file for a while (kept per channel and file, in the process).
- Download: ``GET /<MEDIA_ID>?phone_number_id=...`` answers a URL valid for 5 minutes, its
  ``mime_type``, ``sha256`` and ``file_size``; ``GET <url>`` with the same bearer token gives
  the bytes. The size is checked against WhatsApp's limit for the type before and while
  downloading, the hash after; the file lands in Porfin's media store.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from porfin_adapters.whatsapp_cloud.graph import PROVIDER, GraphClient
from porfin_core.domain.channel import Channel
from porfin_core.domain.media import (
    MEDIA_TYPES,
    MediaKind,
    StoredMedia,
    normalize_media_type,
    safe_filename,
    sha256_matches,
)
from porfin_core.domain.message import Message
from porfin_core.errors import GatewayError, NotFound, PayloadTooLarge, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.media import FetchedMedia, MediaStore

STICKER_MAX_BYTES = 500_000
"""Animated stickers (``image/webp``); static ones are 100 KB, the stricter limit is not
enforced on download because both arrive with the same type."""
INBOUND_MAX_BYTES = 100_000_000
"""The largest media the Cloud API delivers to a business (larger ones arrive as 131052)."""
_LIMITS = {
    MediaKind.IMAGE: 5_000_000,
    MediaKind.AUDIO: 16_000_000,
    MediaKind.VIDEO: 16_000_000,
    MediaKind.DOCUMENT: 100_000_000,
}
UPLOAD_REUSE = timedelta(days=29)
"""How long an uploaded media id is reused (Meta keeps uploads for 30 days)."""


def kind_and_limit(mime_type: str) -> tuple[MediaKind, int]:
    """The media kind a file of ``mime_type`` is stored as, and WhatsApp's size limit for it.

    Stickers (``image/webp``) are images of at most 500 KB; a type Porfin does not list is
    kept as a document (any file a patient sends), at most 100 MB.
    """
    if mime_type == "image/webp":
        return MediaKind.IMAGE, STICKER_MAX_BYTES
    kind = MEDIA_TYPES.get(mime_type, MediaKind.DOCUMENT)
    return kind, _LIMITS[kind]


def _declared_size(meta: dict[str, Any]) -> int | None:
    try:
        return int(meta["file_size"]) if meta.get("file_size") is not None else None
    except (TypeError, ValueError):
        return None


def _too_large(mime: str, limit: int, size: int | None) -> PayloadTooLarge:
    said = f"{size} bytes" if size is not None else "more"
    return PayloadTooLarge(
        f"{mime} files may have at most {limit} bytes; WhatsApp's file has {said}",
        field="file",
        max_bytes=limit,
        provider=PROVIDER,
    )


class CloudApiMedia:
    """Moves files between Porfin's media store and a Cloud API channel.

    Args:
        graph: The Graph API client (token, base URL, errors).
        media: Porfin's media store.
        clock: For the stored files' ``created_at`` and upload reuse.
        ids: For the stored files' ids.
    """

    def __init__(
        self, graph: GraphClient, media: MediaStore, clock: Clock, ids: IdGenerator
    ) -> None:
        self._graph = graph
        self._media = media
        self._clock = clock
        self._ids = ids
        self._uploads: dict[tuple[str, str, str], tuple[str, datetime]] = {}

    async def upload(self, channel: Channel, clinic_id: str, media_id: str) -> str:
        """Upload file ``media_id`` of the clinic's media store; returns the Cloud API media id.

        Raises:
            GatewayError: the file is not in the store (not retryable), or Meta refused the
                upload or could not be reached.
        """
        phone_number_id = self._graph.phone_number_id(channel)
        key = (channel.id, clinic_id, media_id)
        now = self._clock.now()
        cached = self._uploads.get(key)
        if cached is not None and now - cached[1] < UPLOAD_REUSE:
            return cached[0]
        try:
            info = await self._media.info(clinic_id, media_id)
            data = await self._media.read(clinic_id, media_id)
        except NotFound:
            reason = "the attachment is no longer in Porfin's media store"
            raise GatewayError(
                reason,
                retryable=False,
                provider=PROVIDER,
                provider_code="media_missing",
                reason=reason,
            ) from None
        answer = await self._graph.call(
            channel,
            "POST",
            f"{phone_number_id}/media",
            operation="media_upload",
            data={"messaging_product": "whatsapp", "type": info.mime_type},
            files={"file": (info.download_name, data, info.mime_type)},
        )
        provider_id = answer.get("id")
        if not isinstance(provider_id, str) or not provider_id:
            reason = "WhatsApp accepted the upload but named no media id"
            raise GatewayError(
                reason,
                retryable=True,
                provider=PROVIDER,
                provider_code="bad_response",
                reason=reason,
            )
        self._uploads[key] = (provider_id, now)
        return provider_id

    async def fetch(
        self, channel: Channel, provider_media_id: str, *, filename: str | None = None
    ) -> StoredMedia:
        """Download a patient's file (a webhook's media id) into the channel's clinic's store.

        Raises:
            PayloadTooLarge: larger than WhatsApp's limit for its type (checked on Meta's
                ``file_size`` before downloading, and on the bytes while downloading).
            GatewayError: Meta refused or could not be reached; the bytes do not match Meta's
                ``sha256`` (``sha256_mismatch``, retryable: the copy was damaged).
        """
        meta, data = await self._retrieve(channel, provider_media_id)
        mime = normalize_media_type(str(meta.get("mime_type") or "application/octet-stream"))
        kind, _ = kind_and_limit(mime)
        declared = _declared_size(meta)
        digest = hashlib.sha256(data)
        expected = meta.get("sha256")
        if isinstance(expected, str) and expected and not sha256_matches(expected, digest.digest()):
            reason = "the downloaded media does not match WhatsApp's sha256"
            raise GatewayError(
                reason,
                retryable=True,
                provider=PROVIDER,
                provider_code="sha256_mismatch",
                reason=reason,
                provider_media_id=provider_media_id,
            )
        if declared is not None and declared != len(data):
            reason = f"the downloaded media has {len(data)} bytes, WhatsApp said {declared}"
            raise GatewayError(
                reason,
                retryable=True,
                provider=PROVIDER,
                provider_code="size_mismatch",
                reason=reason,
                provider_media_id=provider_media_id,
            )
        if not data:
            raise ValidationError("WhatsApp's file is empty", field="file", provider=PROVIDER)
        stored = StoredMedia(
            id=self._ids.new_id(),
            clinic_id=channel.clinic_id,
            kind=kind,
            mime_type=mime,
            size=len(data),
            sha256=digest.hexdigest(),
            filename=safe_filename(filename),
            created_at=self._clock.now(),
        )
        await self._media.put(stored, data)
        return stored

    async def download(self, channel: Channel, provider_media_id: str) -> FetchedMedia:
        """A patient's file (a webhook's media id), not stored: its bytes, type and the
        ``sha256`` Meta announced (left to the caller to check).

        Raises:
            PayloadTooLarge: larger than WhatsApp's limit for its type.
            GatewayError: Meta refused or could not be reached.
        """
        meta, data = await self._retrieve(channel, provider_media_id)
        mime = normalize_media_type(str(meta.get("mime_type") or "application/octet-stream"))
        sha256 = meta.get("sha256")
        return FetchedMedia(
            data=data,
            mime_type=mime,
            sha256=sha256 if isinstance(sha256, str) and sha256 else None,
        )

    async def download_url(self, channel: Channel, url: str, mime_type: str | None) -> bytes:
        """The bytes behind a media ``url`` a webhook carried (with the channel's token).

        Raises:
            PayloadTooLarge: larger than WhatsApp's limit for ``mime_type``.
            GatewayError: Meta refused or could not be reached.
        """
        mime = normalize_media_type(mime_type or "application/octet-stream")
        _, limit = kind_and_limit(mime)
        return await self._download(channel, url, limit, mime)

    async def _retrieve(
        self, channel: Channel, provider_media_id: str
    ) -> tuple[dict[str, Any], bytes]:
        """Meta's description of a media id (URL, type, hash, size) and the bytes, checked
        against WhatsApp's size limit for the type before and while downloading."""
        phone_number_id = self._graph.phone_number_id(channel)
        meta = await self._graph.call(
            channel,
            "GET",
            provider_media_id,
            operation="media_retrieve",
            params={"phone_number_id": phone_number_id},
        )
        url = meta.get("url")
        if not isinstance(url, str) or not url:
            reason = "WhatsApp named no download URL for the media"
            raise GatewayError(
                reason,
                retryable=True,
                provider=PROVIDER,
                provider_code="bad_response",
                reason=reason,
            )
        mime = normalize_media_type(str(meta.get("mime_type") or "application/octet-stream"))
        _, limit = kind_and_limit(mime)
        declared = _declared_size(meta)
        if declared is not None and declared > limit:
            raise _too_large(mime, limit, declared)
        return meta, await self._download(channel, url, limit, mime)

    async def _download(self, channel: Channel, url: str, limit: int, mime: str) -> bytes:
        return await self._graph.download(
            channel, url, limit=limit, too_large=lambda: _too_large(mime, limit, None)
        )


# Graph's answer for an object that does not exist (any more): code 100, subcode 33.
_NO_SUCH_OBJECT = ("100", 33)


class CloudApiMediaSource:
    """The Cloud API side of :class:`~porfin_core.ports.media.InboundMediaSource`: the file
    of a received message, by its media id (else the ``url`` the webhook carried).

    Args:
        media: Downloads through the Graph API with the channel's token.
    """

    def __init__(self, media: CloudApiMedia) -> None:
        self._media = media

    async def fetch(self, channel: Channel, message: Message) -> FetchedMedia:
        """The bytes of ``message``'s media.

        Raises:
            GatewayError: ``media_expired`` (not retryable) when Meta no longer has the file;
                otherwise as :meth:`CloudApiMedia.download` (a download URL that expired is
                retryable: a new attempt asks for a new one).
            PayloadTooLarge: larger than WhatsApp's limit for its type.
        """
        ref = message.media
        try:
            if ref is not None and ref.provider_media_id:
                fetched = await self._media.download(channel, ref.provider_media_id)
            elif ref is not None and ref.url:
                data = await self._media.download_url(channel, ref.url, ref.mime_type)
                fetched = FetchedMedia(data=data, mime_type=ref.mime_type)
            else:
                reason = "the message names no WhatsApp media id"
                raise GatewayError(
                    reason,
                    retryable=False,
                    provider=PROVIDER,
                    provider_code="no_media_id",
                    reason=reason,
                )
        except GatewayError as exc:
            fields = exc.fields
            code = (fields.get("provider_code"), fields.get("error_subcode"))
            expired = fields.get("operation") == "media_retrieve" and (
                fields.get("http_status") == 404 or code == _NO_SUCH_OBJECT
            )
            if exc.retryable or not expired:
                raise
            reason = "WhatsApp no longer has this file (media ids in webhooks expire after 7 days)"
            raise GatewayError(
                reason,
                retryable=False,
                provider=PROVIDER,
                provider_code="media_expired",
                reason=reason,
                http_status=fields.get("http_status"),
            ) from exc
        return FetchedMedia(
            data=fetched.data,
            mime_type=fetched.mime_type,
            sha256=fetched.sha256,
            filename=ref.filename if ref is not None else None,
        )
