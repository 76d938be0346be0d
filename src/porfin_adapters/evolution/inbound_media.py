"""Inline media of Evolution webhooks (``webhook.base64: true``) -> Porfin's media store.

The bytes arrive inside the webhook, so keeping them costs no network call. They are kept
only when they decode as base64, match the ``fileSha256`` WhatsApp computed (when present) and
fit WhatsApp's size limit; otherwise the message is recorded without a stored copy and
``extra["media_error"]`` says why (nothing is lost: the provider URL stays on the message).
The file's id derives from its SHA-256, so a redelivered webhook finds the file already there.

Without inline bytes (``webhook.base64`` off, or a message the webhook did not carry them for),
:class:`EvolutionMediaSource` asks the server for the file after the commit
(``POST /chat/getBase64FromMediaMessage/{instance}``, see ``StoreInboundMedia``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from datetime import datetime

import attrs

from porfin_adapters.evolution.client import PROVIDER
from porfin_adapters.evolution.gateway import EvolutionGateway
from porfin_adapters.evolution.webhook import InboundMessage
from porfin_core.domain.channel import Channel
from porfin_core.domain.media import (
    MAX_BYTES,
    MEDIA_TYPES,
    MediaKind,
    StoredMedia,
    normalize_media_type,
    received_media_id,
    safe_filename,
)
from porfin_core.domain.message import Message, MessageKind
from porfin_core.errors import Conflict, GatewayError
from porfin_core.ports.media import FetchedMedia, MediaStore

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
        id=received_media_id(hexdigest),
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


class EvolutionMediaSource:
    """The Evolution side of :class:`~porfin_core.ports.media.InboundMediaSource`: the file of
    a message, from the channel's instance (``getBase64FromMediaMessage`` with the message's
    key id; the server must keep messages, Evolution's default).

    Args:
        gateway: Builds a client of the channel's server with its API key.
    """

    def __init__(self, gateway: EvolutionGateway) -> None:
        self._gateway = gateway

    async def fetch(self, channel: Channel, message: Message) -> FetchedMedia:
        """The bytes of ``message``'s media.

        Raises:
            GatewayError: the channel lacks its settings or key, the server could not find or
                download the file (not retryable), or it failed (retryable); an answer that is
                not base64 is not retryable.
        """
        if not message.provider_message_id:
            raise GatewayError(
                "the message has no Evolution message id", retryable=False, provider=PROVIDER
            )
        client = await self._gateway.client_for(channel)
        try:
            answer = await client.media_base64(
                channel.external_ids["instance"], message.provider_message_id
            )
        finally:
            await client.aclose()
        encoded = answer.base64
        if encoded.startswith("data:"):
            encoded = encoded.partition(",")[2]
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            reason = "Evolution answered a file that is not valid base64"
            raise GatewayError(reason, retryable=False, provider=PROVIDER, reason=reason) from None
        ref = message.media
        return FetchedMedia(
            data=data,
            mime_type=answer.mimetype or (ref.mime_type if ref is not None else None),
            filename=(ref.filename if ref is not None else None) or answer.file_name,
        )
