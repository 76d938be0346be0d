"""Inline media of Evolution webhooks (``webhook.base64: true``) -> Porfin's media store.

The bytes arrive inside the webhook, so keeping them costs no network call. They are kept
only when they decode as base64, match the ``fileSha256`` WhatsApp computed (when present) and
fit WhatsApp's size limit; otherwise the message is recorded without a stored copy and
``extra["media_error"]`` says why (nothing is lost: the provider URL stays on the message).
The file's id derives from its SHA-256, so a redelivered webhook finds the file already there.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from datetime import datetime

import attrs

from porfin_adapters.evolution.webhook import InboundMessage
from porfin_core.domain.media import (
    MAX_BYTES,
    MEDIA_TYPES,
    MediaKind,
    StoredMedia,
    normalize_media_type,
    safe_filename,
)
from porfin_core.domain.message import MessageKind
from porfin_core.errors import Conflict
from porfin_core.ports.media import MediaStore

_KINDS = {
    MessageKind.IMAGE: MediaKind.IMAGE,
    MessageKind.STICKER: MediaKind.IMAGE,
    MessageKind.VIDEO: MediaKind.VIDEO,
    MessageKind.AUDIO: MediaKind.AUDIO,
    MessageKind.DOCUMENT: MediaKind.DOCUMENT,
}


async def keep_inline_media(
    store: MediaStore, clinic_id: str, message: InboundMessage, now: datetime
) -> InboundMessage:
    """``message`` with its inline media stored and referenced (``media.stored_path``).

    Raises:
        StorageUnavailable: the media store could not be written.
    """
    media = message.media
    if message.media_base64 is None or media is None:
        return message
    kind = _KINDS.get(message.kind)
    if kind is None:
        return message
    encoded = message.media_base64
    if encoded.startswith("data:"):
        encoded = encoded.partition(",")[2]
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return _failed(message, "inline media is not valid base64")
    if not data:
        return _failed(message, "inline media is empty")
    digest = hashlib.sha256(data)
    if media.sha256 is not None:
        expected = media.sha256
        if expected not in (base64.b64encode(digest.digest()).decode(), digest.hexdigest()):
            return _failed(message, "inline media does not match its fileSha256")
    if len(data) > MAX_BYTES[kind]:
        return _failed(message, f"inline media is larger than {MAX_BYTES[kind]} bytes")
    mime_type = normalize_media_type(media.mime_type or "application/octet-stream")
    if mime_type in MEDIA_TYPES:
        kind = MEDIA_TYPES[mime_type]
    hexdigest = digest.hexdigest()
    stored = StoredMedia(
        id=f"wa-{hexdigest[:40]}",
        clinic_id=clinic_id,
        kind=kind,
        mime_type=mime_type,
        size=len(data),
        sha256=hexdigest,
        filename=safe_filename(media.filename),
        created_at=now,
    )
    with contextlib.suppress(Conflict):  # the same bytes, kept by an earlier delivery
        await store.put(stored, data)
    return attrs.evolve(
        message,
        media=attrs.evolve(
            media, stored_path=stored.id, sha256=hexdigest, size=len(data), mime_type=mime_type
        ),
        media_base64=None,
    )


def _failed(message: InboundMessage, reason: str) -> InboundMessage:
    return attrs.evolve(message, extra={**message.extra, "media_error": reason}, media_base64=None)
