"""Evolution webhook payloads -> what Porfin records.

The envelope is ``{"event": "messages.upsert", "instance", "data", "date_time", "sender",
"server_url", "apikey"}`` (Evolution v2 ``webhook.controller.ts``). ``body.apikey`` is never
used to authenticate: Evolution does not sign webhooks, the route checks the channel's own
secret. Parsing never raises: a payload Porfin does not understand becomes an
``unsupported`` message (when it is a message) or an :class:`Ignored` with its reason.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import attrs

from porfin_core.domain.customer import Identity, IdentityKind, phone_of
from porfin_core.domain.message import MediaRef, MessageKind
from porfin_core.errors import InvalidPhoneNumber

PHONE_DOMAIN = "s.whatsapp.net"
_STATUS = {
    "SERVER_ACK": "sent",
    "DELIVERY_ACK": "delivered",
    "READ": "read",
    "PLAYED": "played",
    "ERROR": "failed",
}
# Older servers send Baileys' numeric WAMessageStatus (renderStatus.ts: 0..5).
_NUMERIC_STATUS = {
    0: "ERROR",
    1: "PENDING",
    2: "SERVER_ACK",
    3: "DELIVERY_ACK",
    4: "READ",
    5: "PLAYED",
}
_MEDIA_KINDS = {
    "imageMessage": MessageKind.IMAGE,
    "videoMessage": MessageKind.VIDEO,
    "ptvMessage": MessageKind.VIDEO,
    "audioMessage": MessageKind.AUDIO,
    "documentMessage": MessageKind.DOCUMENT,
    "stickerMessage": MessageKind.STICKER,
}
# Keys of ``data.message`` that travel next to the content and are not a message type.
_NOT_CONTENT = frozenset(
    {"messageContextInfo", "base64", "mediaUrl", "speechToText", "senderKeyDistributionMessage"}
)
_SKIPPED_DOMAINS = ("broadcast", "newsletter")


@attrs.frozen(kw_only=True)
class InboundMessage:
    """A message of MESSAGES_UPSERT: from a patient, or typed on the clinic's phone."""

    provider_message_id: str
    sender: list[Identity]
    sender_name: str
    kind: MessageKind
    body: str | None = None
    media: MediaRef | None = None
    media_base64: str | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    raw: dict[str, Any] | None = None
    reply_to_provider_id: str | None = None
    sent_at: datetime | None = None
    from_me: bool = False


@attrs.frozen
class StatusUpdate:
    """A receipt of MESSAGES_UPDATE for a message the clinic sent (Porfin's status name)."""

    provider_message_id: str
    status: str
    at: datetime


@attrs.frozen
class ConnectionChange:
    """CONNECTION_UPDATE (or QRCODE_UPDATED's "limit reached"): the instance's state."""

    state: str
    reason: str | None
    at: datetime


@attrs.frozen
class QrCodeChange:
    """QRCODE_UPDATED: a new QR code (and pairing code) to pair the number."""

    code: str
    pairing_code: str | None
    at: datetime


@attrs.frozen
class OutboundEcho:
    """SEND_MESSAGE: the echo of a message sent through the API (already recorded by the
    sender; only its provider id is reconciled)."""

    provider_message_id: str
    at: datetime


@attrs.frozen
class Ignored:
    """A payload with nothing to record (group message, receipt of our own read, presence...)."""

    reason: str


Event = InboundMessage | StatusUpdate | ConnectionChange | QrCodeChange | OutboundEcho | Ignored


def event_name(payload: dict[str, Any]) -> str:
    """``messages.upsert`` / ``MESSAGES_UPSERT`` -> ``MESSAGES_UPSERT``."""
    name = payload.get("event")
    if not isinstance(name, str):
        return ""
    return name.replace(".", "_").replace("-", "_").upper()


def parse_event(payload: Any, *, now: datetime, groups: bool = False) -> list[Event]:
    """What ``payload`` asks Porfin to record, in order.

    Args:
        payload: The decoded JSON body.
        now: When it arrived (for events without a usable timestamp).
        groups: Whether the channel receives group (``@g.us``) messages.
    """
    if not isinstance(payload, dict):
        return [Ignored("the body is not a JSON object")]
    name = event_name(payload)
    data = payload.get("data")
    at = _datetime(payload.get("date_time")) or now
    if name == "MESSAGES_UPSERT":
        items = data if isinstance(data, list) else [data]
        return [_upsert(item, now=now, groups=groups) for item in items]
    if name == "MESSAGES_UPDATE":
        items = data if isinstance(data, list) else [data]
        return [_update(item, at) for item in items]
    if name == "SEND_MESSAGE":
        key = data.get("key") if isinstance(data, dict) else None
        message_id = key.get("id") if isinstance(key, dict) else None
        if isinstance(message_id, str) and message_id:
            return [OutboundEcho(message_id, at)]
        return [Ignored("SEND_MESSAGE without a message key")]
    if name == "CONNECTION_UPDATE":
        state = data.get("state") if isinstance(data, dict) else None
        if not isinstance(state, str) or not state:
            return [Ignored("CONNECTION_UPDATE without a state")]
        assert isinstance(data, dict)
        reason = data.get("statusReason")
        return [ConnectionChange(state, None if reason is None else str(reason), at)]
    if name == "QRCODE_UPDATED":
        qrcode = data.get("qrcode") if isinstance(data, dict) else None
        code = qrcode.get("code") if isinstance(qrcode, dict) else None
        if isinstance(code, str) and code:
            assert isinstance(qrcode, dict)
            pairing = qrcode.get("pairingCode")
            return [QrCodeChange(code, pairing if isinstance(pairing, str) else None, at)]
        message = data.get("message") if isinstance(data, dict) else None
        if isinstance(message, str):  # "QR code limit reached, please login again"
            return [ConnectionChange("refused", message, at)]
        return [Ignored("QRCODE_UPDATED without a code")]
    return [Ignored(f"event {name or '?'} is not handled")]


def identities_of(jid: str, *alternatives: Any) -> list[Identity]:
    """The identities a JID (and its alternative addresses) stand for.

    ``5511…@s.whatsapp.net`` is a phone JID (its canonical phone is derived from it);
    ``…@lid`` is a linked id with no phone. Alternatives (``senderPn``, ``remoteJidAlt``,
    ``participantPn``…) add the phone of a LID, or the LID of a phone. Phone JIDs whose digits
    are not a phone number are left out.
    """
    identities: list[Identity] = []
    for value in (jid, *alternatives):
        identity = _identity(value)
        if identity is not None and identity not in identities:
            identities.append(identity)
    return identities


def _identity(value: Any) -> Identity | None:
    if not isinstance(value, str) or "@" not in value:
        if isinstance(value, str) and value.isdigit():
            value = f"{value}@{PHONE_DOMAIN}"
        else:
            return None
    user, _, domain = value.partition("@")
    user = user.split(":", 1)[0]
    if not user:
        return None
    if domain == "lid":
        return Identity(IdentityKind.LID, f"{user}@lid")
    if domain in (PHONE_DOMAIN, "c.us") and user.isdigit():
        identity = Identity(IdentityKind.JID, f"{user}@{PHONE_DOMAIN}")
        try:
            phone_of(identity)
        except InvalidPhoneNumber:
            return None
        return identity
    return None


def _upsert(data: Any, *, now: datetime, groups: bool) -> Event:
    if not isinstance(data, dict):
        return Ignored("MESSAGES_UPSERT without data")
    key = data.get("key")
    if not isinstance(key, dict):
        return Ignored("MESSAGES_UPSERT without a message key")
    message_id = key.get("id")
    remote = key.get("remoteJid")
    if not isinstance(message_id, str) or not message_id or not isinstance(remote, str):
        return Ignored("MESSAGES_UPSERT without a message id or chat")
    domain = remote.partition("@")[2]
    if domain.endswith(_SKIPPED_DOMAINS):
        return Ignored(f"{domain} messages are not chats")
    extra: dict[str, Any] = {}
    from_me = bool(key.get("fromMe"))
    if domain == "g.us":
        if not groups:
            return Ignored("group messages are off for this channel")
        extra["group_jid"] = remote
        sender = identities_of(
            str(key.get("participant") or ""),
            key.get("participantPn"),
            key.get("participantAlt"),
            key.get("participantLid"),
        )
    else:
        sender = identities_of(
            remote,
            key.get("senderPn"),
            key.get("remoteJidAlt"),
            key.get("senderLid"),
            key.get("previousRemoteJid"),
        )
    if not sender:
        return Ignored(f"no usable sender address in {remote!r}")
    message = data.get("message")
    message = message if isinstance(message, dict) else {}
    content_type = _content_type(data, message)
    content = message.get(content_type) if content_type else None
    if content_type == "documentWithCaptionMessage" and isinstance(content, dict):
        inner = content.get("message")
        if isinstance(inner, dict) and isinstance(inner.get("documentMessage"), dict):
            content_type, content = "documentMessage", inner["documentMessage"]
    name = data.get("pushName")
    common: dict[str, Any] = {
        "provider_message_id": message_id,
        "sender": sender,
        # The push name of a clinic-phone message is the clinic's own profile.
        "sender_name": name if isinstance(name, str) and not from_me else "",
        "sent_at": _timestamp(data.get("messageTimestamp")),
        "from_me": from_me,
        "reply_to_provider_id": _reply_to(data, content),
    }
    if content_type == "conversation" and isinstance(content, str):
        return InboundMessage(kind=MessageKind.TEXT, body=content, extra=extra, **common)
    if content_type == "extendedTextMessage" and isinstance(content, dict):
        text = content.get("text")
        if isinstance(text, str):
            return InboundMessage(kind=MessageKind.TEXT, body=text, extra=extra, **common)
    if content_type in _MEDIA_KINDS and isinstance(content, dict):
        kind = _MEDIA_KINDS[content_type]
        if content.get("ptt"):
            extra["voice"] = True
        caption = _str(content.get("caption"))
        encoded = message.get("base64")
        media = MediaRef(
            mime_type=_str(content.get("mimetype")),
            url=_str(content.get("url")) or _str(message.get("mediaUrl")),
            filename=_str(content.get("fileName")),
            caption=caption,
            sha256=_str(content.get("fileSha256")),
            size=_int(content.get("fileLength")),
        )
        return InboundMessage(
            kind=kind,
            body=caption,
            media=media,
            media_base64=encoded if isinstance(encoded, str) and encoded else None,
            extra=extra,
            **common,
        )
    if content_type in ("locationMessage", "liveLocationMessage") and isinstance(content, dict):
        extra["location"] = {
            "latitude": content.get("degreesLatitude"),
            "longitude": content.get("degreesLongitude"),
            "name": _str(content.get("name")),
            "address": _str(content.get("address")),
        }
        body = _str(content.get("name")) or _str(content.get("address"))
        return InboundMessage(kind=MessageKind.LOCATION, body=body, extra=extra, **common)
    if content_type == "reactionMessage" and isinstance(content, dict):
        target = content.get("key")
        target_id = target.get("id") if isinstance(target, dict) else None
        emoji = _str(content.get("text")) or ""
        extra.update({"emoji": emoji, "message_id": target_id})
        common["reply_to_provider_id"] = target_id if isinstance(target_id, str) else None
        return InboundMessage(kind=MessageKind.REACTION, body=emoji or None, extra=extra, **common)
    if content_type == "contactMessage" and isinstance(content, dict):
        extra["contacts"] = [
            {"name": _str(content.get("displayName")), "vcard": _str(content.get("vcard"))}
        ]
        return InboundMessage(
            kind=MessageKind.CONTACTS, body=_str(content.get("displayName")), extra=extra, **common
        )
    if content_type == "protocolMessage":
        return Ignored("protocol message (deletion, ephemeral setting...)")
    extra["type"] = content_type or "unknown"
    return InboundMessage(kind=MessageKind.UNSUPPORTED, raw=_stripped(data), extra=extra, **common)


def _content_type(data: dict[str, Any], message: dict[str, Any]) -> str | None:
    declared = data.get("messageType")
    if isinstance(declared, str) and declared in message:
        return declared
    for name in message:
        if name not in _NOT_CONTENT:
            return name
    return declared if isinstance(declared, str) else None


def _reply_to(data: dict[str, Any], content: Any) -> str | None:
    for holder in (content, data):
        info = holder.get("contextInfo") if isinstance(holder, dict) else None
        stanza = info.get("stanzaId") if isinstance(info, dict) else None
        if isinstance(stanza, str) and stanza:
            return stanza
    return None


def _update(data: Any, at: datetime) -> Event:
    if not isinstance(data, dict):
        return Ignored("MESSAGES_UPDATE without data")
    key = data.get("key") if isinstance(data.get("key"), dict) else {}
    assert isinstance(key, dict)
    update = data.get("update") if isinstance(data.get("update"), dict) else {}
    assert isinstance(update, dict)
    message_id = data.get("keyId") or key.get("id")
    from_me = data.get("fromMe", key.get("fromMe"))
    status = data.get("status", update.get("status"))
    if isinstance(status, int):
        status = _NUMERIC_STATUS.get(status)
    if not isinstance(message_id, str) or not message_id:
        return Ignored("MESSAGES_UPDATE without a message id")
    if from_me is False:
        return Ignored("receipt of a patient's message")
    porfin = _STATUS.get(status) if isinstance(status, str) else None
    if porfin is None:
        return Ignored(f"status {status!r} is not a delivery status")
    return StatusUpdate(message_id, porfin, at)


def _stripped(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` without inline media (``base64``), which goes to the media store instead."""
    raw = copy.deepcopy(data)
    message = raw.get("message")
    if isinstance(message, dict):
        message.pop("base64", None)
    return raw


def _timestamp(value: Any) -> datetime | None:
    seconds = _int(value)
    if seconds is None or seconds <= 0:
        return None
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, dict) and isinstance(value.get("low"), int):  # protobuf Long
        return int(value["low"])
    return None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
