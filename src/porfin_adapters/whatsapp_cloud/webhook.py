"""Meta Cloud API webhooks: the signature, the handshake and the payload, read into events.

Pure functions, no I/O: :func:`parse_webhook` turns a decoded body into :class:`InboundMessage`,
:class:`StatusUpdate` and :class:`Ignored` events that ``CloudApiInbound`` hands to the core's
use cases. The contract is ../shared/reference/whatsapp.md §A.1-A.3 and §C.3.

What happens to what Meta sends (docs/whatsapp-cloud.md has the table):

- every message kind Porfin models is stored as that kind; anything else (``order``, ``system``,
  ``unsupported`` with ``errors``, a future type) and a known kind whose fields have unexpected
  types are stored as ``unsupported`` with the message object as Meta sent it (``raw``);
- a message without an id or without any sender identity cannot be stored exactly once: it
  becomes :class:`Ignored` carrying the raw item, which the caller logs in full;
- value-level ``errors``, changes of other fields and changes for another ``phone_number_id``
  are :class:`Ignored` as well (with their raw value).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import attrs

from porfin_core.domain.customer import Identity, IdentityKind, phone_of
from porfin_core.domain.message import MediaRef, MessageKind
from porfin_core.errors import InvalidPhoneNumber

SIGNATURE_HEADER = "X-Hub-Signature-256"
_SIGNATURE_PREFIX = "sha256="

_MEDIA_KINDS = {
    "image": MessageKind.IMAGE,
    "document": MessageKind.DOCUMENT,
    "audio": MessageKind.AUDIO,
    "video": MessageKind.VIDEO,
    "sticker": MessageKind.STICKER,
}
_STATUSES = frozenset({"sent", "delivered", "read", "played", "failed"})


def sign(body: bytes, app_secret: str) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends with ``body`` (``sha256=<hex>``)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return _SIGNATURE_PREFIX + digest


def signature_valid(body: bytes, header: str | None, app_secret: str) -> bool:
    """True when ``header`` is the HMAC-SHA256 of the raw ``body`` under ``app_secret``.

    Compared in constant time; an empty secret never validates anything.
    """
    if not app_secret or not header:
        return False
    presented = header.strip()
    if presented[: len(_SIGNATURE_PREFIX)].lower() != _SIGNATURE_PREFIX:
        return False
    expected = sign(body, app_secret)[len(_SIGNATURE_PREFIX) :]
    given = presented[len(_SIGNATURE_PREFIX) :].lower()
    return hmac.compare_digest(expected.encode(), given.encode("ascii", "replace"))


def handshake_answer(
    mode: str | None, token: str | None, challenge: str | None, verify_token: str
) -> str | None:
    """The challenge to echo for a valid verification request, else None.

    Valid: ``hub.mode`` is ``subscribe`` and ``hub.verify_token`` equals the channel's verify
    token (constant time); a channel without a verify token accepts no handshake.
    """
    if mode != "subscribe" or challenge is None or not verify_token or token is None:
        return None
    if not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return challenge


@attrs.frozen(kw_only=True)
class InboundMessage:
    """A patient's message, ready for ``ReceiveMessage`` (same field names)."""

    provider_message_id: str
    sender: list[Identity]
    sender_name: str = ""
    kind: MessageKind = MessageKind.TEXT
    body: str | None = None
    media: MediaRef | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    raw: dict[str, Any] | None = None
    reply_to_provider_id: str | None = None
    sent_at: datetime | None = None


@attrs.frozen(kw_only=True)
class StatusUpdate:
    """A delivery status of an outbound message, ready for ``DeliveryReport``."""

    provider_message_id: str
    status: str
    at: datetime | None
    error_code: str | None = None
    error_detail: str | None = None
    callback_data: str | None = None
    """``biz_opaque_callback_data``: Porfin's message id, sent with the message."""


@attrs.frozen
class Ignored:
    """Something Porfin does not record, with why and the payload part it came in."""

    reason: str
    raw: Any = None


Event = InboundMessage | StatusUpdate | Ignored


def parse_webhook(payload: Any, *, phone_number_id: str | None = None) -> list[Event]:
    """The events of a decoded webhook body, in payload order; never raises.

    Args:
        payload: The JSON body (any JSON value: shapes are checked here).
        phone_number_id: The channel's Cloud API number id; changes for another number are
            ignored (one Meta app may send every number's webhooks to the same URL).
    """
    if not isinstance(payload, dict):
        return [Ignored("the body is not a JSON object", payload)]
    entries = payload.get("entry")
    if not isinstance(entries, list):
        return [Ignored("no entry list", payload)]
    events: list[Event] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            events.append(Ignored("an entry without changes", entry))
            continue
        for change in changes:
            events.extend(_change(change, phone_number_id))
    return events


def _change(change: Any, phone_number_id: str | None) -> list[Event]:
    if not isinstance(change, dict):
        return [Ignored("a change that is not an object", change)]
    if change.get("field") != "messages":
        return [Ignored(f"field {change.get('field')!r} is not recorded", change)]
    value = change.get("value")
    if not isinstance(value, dict):
        return [Ignored("a change without a value", change)]
    metadata = value.get("metadata")
    number = metadata.get("phone_number_id") if isinstance(metadata, dict) else None
    if phone_number_id and number is not None and str(number) != phone_number_id:
        return [Ignored(f"for another phone_number_id ({number})", value)]
    events: list[Event] = []
    contacts = [c for c in _list(value.get("contacts")) if isinstance(c, dict)]
    for message in _list(value.get("messages")):
        events.append(_message(message, contacts))
    for status in _list(value.get("statuses")):
        events.append(_status(status))
    for error in _list(value.get("errors")):
        events.append(Ignored(f"webhook error {_error_text(error)}", error))
    if not events:
        events.append(Ignored("a change with no messages, statuses or errors", value))
    return events


def _message(message: Any, contacts: list[dict[str, Any]]) -> Event:
    if not isinstance(message, dict):
        return Ignored("a message that is not an object", message)
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id.strip():
        return Ignored("a message without an id", message)
    contact = _contact_of(message, contacts)
    sender = _sender(message, contact)
    if not sender:
        return Ignored("a message without any sender identity", message)
    profile = contact.get("profile") if contact else None
    name = profile.get("name") if isinstance(profile, dict) else None
    context = message.get("context")
    reply_to = context.get("id") if isinstance(context, dict) else None
    common: dict[str, Any] = {
        "provider_message_id": message_id,
        "sender": sender,
        "sender_name": name if isinstance(name, str) else "",
        "reply_to_provider_id": reply_to if isinstance(reply_to, str) else None,
        "sent_at": _timestamp(message.get("timestamp")),
    }
    extra = _common_extra(message)
    try:
        parsed = _content(message, extra)
    except (TypeError, ValueError, AttributeError, KeyError):
        parsed = None
    if parsed is None:
        return _unsupported(message, common, extra)
    kind, body, media, extra = parsed
    if kind is MessageKind.REACTION:
        common["reply_to_provider_id"] = extra["reaction"]["message_id"]
    return InboundMessage(kind=kind, body=body, media=media, extra=extra, **common)


_Content = tuple[MessageKind, str | None, MediaRef | None, dict[str, Any]]


def _content(message: dict[str, Any], extra: dict[str, Any]) -> _Content | None:
    """Kind, body, media and extra of a modelled message; None for anything else.

    Raises:
        TypeError, ValueError, KeyError, AttributeError: a modelled kind with fields of
            unexpected types (the caller stores it as unsupported).
    """
    kind = message.get("type")
    content = message.get(kind) if isinstance(kind, str) else None
    if kind == "text":
        return MessageKind.TEXT, _required_str(content, "body"), None, extra
    if kind in _MEDIA_KINDS:
        media = _media(content)
        if kind == "audio":
            extra["voice"] = content.get("voice") is True
        if kind == "sticker" and "animated" in content:
            extra["animated"] = content.get("animated") is True
        return _MEDIA_KINDS[kind], media.caption, media, extra
    if kind == "location":
        latitude, longitude = content["latitude"], content["longitude"]
        if not all(_is_number(v) for v in (latitude, longitude)):
            raise TypeError("latitude/longitude")
        location = {
            "latitude": latitude,
            "longitude": longitude,
            "name": _optional_str(content, "name"),
            "address": _optional_str(content, "address"),
            "url": _optional_str(content, "url"),
        }
        extra["location"] = location
        return MessageKind.LOCATION, location["name"] or location["address"], None, extra
    if kind == "contacts":
        if not isinstance(content, list) or not all(isinstance(c, dict) for c in content):
            raise TypeError("contacts")
        extra["contacts"] = content
        names = [_contact_name(c) for c in content]
        return MessageKind.CONTACTS, ", ".join(n for n in names if n) or None, None, extra
    if kind == "interactive":
        reply_type = content.get("type")
        if reply_type not in ("button_reply", "list_reply"):
            return None
        reply = content[reply_type]
        interactive = {
            "type": reply_type,
            "id": _required_str(reply, "id"),
            "title": _required_str(reply, "title"),
        }
        if reply_type == "list_reply":
            interactive["description"] = _optional_str(reply, "description")
        extra["interactive"] = interactive
        return MessageKind.INTERACTIVE, interactive["title"], None, extra
    if kind == "button":
        # A quick-reply button of a template message the clinic sent.
        text = _required_str(content, "text")
        extra["interactive"] = {
            "type": "button",
            "payload": _optional_str(content, "payload"),
            "title": text,
        }
        return MessageKind.INTERACTIVE, text, None, extra
    if kind == "reaction":
        target = _required_str(content, "message_id")
        emoji = _optional_str(content, "emoji") or ""
        # An empty emoji takes a reaction back.
        extra["reaction"] = {"emoji": emoji, "message_id": target}
        return MessageKind.REACTION, emoji or None, None, extra
    return None


def _unsupported(
    message: dict[str, Any], common: dict[str, Any], extra: dict[str, Any]
) -> InboundMessage:
    kind = message.get("type")
    extra["type"] = kind if isinstance(kind, str) else "unknown"
    errors = [_error(e) for e in _list(message.get("errors")) if isinstance(e, dict)]
    if errors:
        extra["errors"] = errors
    body = None
    sender = list(common.pop("sender"))
    system = message.get("system")
    if kind == "system" and isinstance(system, dict):
        # ``user_changed_number``: the patient's new number joins their identities.
        body = _optional_str(system, "body")
        extra["system"] = {
            key: value for key, value in system.items() if isinstance(value, str | int | bool)
        }
        new_wa_id = system.get("new_wa_id") or system.get("wa_id")
        if isinstance(new_wa_id, str):
            sender.extend(i for i in _wa_id(new_wa_id) if i not in sender)
    return InboundMessage(
        kind=MessageKind.UNSUPPORTED, body=body, extra=extra, raw=message, sender=sender, **common
    )


def _common_extra(message: dict[str, Any]) -> dict[str, Any]:
    """What any kind may carry: forwarding, the replied-to sender, product, ad referral."""
    extra: dict[str, Any] = {}
    context = message.get("context")
    if isinstance(context, dict):
        kept = {
            key: context[key]
            for key in ("from", "id", "forwarded", "frequently_forwarded")
            if isinstance(context.get(key), str | bool)
        }
        product = context.get("referred_product")
        if isinstance(product, dict):
            kept["referred_product"] = product
        if kept:
            extra["context"] = kept
    referral = message.get("referral")
    if isinstance(referral, dict):
        # Click-to-WhatsApp ad: where the conversation came from (source_url, ctwa_clid...).
        extra["referral"] = referral
    return extra


def _status(status: Any) -> Event:
    if not isinstance(status, dict):
        return Ignored("a status that is not an object", status)
    message_id, name = status.get("id"), status.get("status")
    if not isinstance(message_id, str) or not message_id.strip():
        return Ignored("a status without a message id", status)
    if name not in _STATUSES:
        return Ignored(f"status {name!r} is not recorded", status)
    code = detail = None
    errors = [e for e in _list(status.get("errors")) if isinstance(e, dict)]
    if errors:
        first = _error(errors[0])
        code = str(first["code"]) if first["code"] is not None else None
        detail = first["details"] or first["title"]
    return StatusUpdate(
        provider_message_id=message_id,
        status=name,
        at=_timestamp(status.get("timestamp")),
        error_code=code,
        error_detail=detail,
        callback_data=_text(status.get("biz_opaque_callback_data")),
    )


def _contact_of(message: dict[str, Any], contacts: list[dict[str, Any]]) -> dict[str, Any] | None:
    sender, user_id = message.get("from"), message.get("from_user_id")
    for contact in contacts:
        if (sender and contact.get("wa_id") == sender) or (
            user_id and contact.get("user_id") == user_id
        ):
            return contact
    return contacts[0] if len(contacts) == 1 else None


def _sender(message: dict[str, Any], contact: dict[str, Any] | None) -> list[Identity]:
    """Every identity Meta gave: ``from`` and ``wa_id`` (phone-bearing), BSUIDs (may be all)."""
    identities: list[Identity] = []
    candidates = [message.get("from")]
    bsuids = [message.get("from_user_id")]
    if contact is not None:
        candidates.append(contact.get("wa_id"))
        bsuids += [contact.get("user_id"), contact.get("parent_user_id")]
    for value in candidates:
        if isinstance(value, str):
            identities.extend(_wa_id(value))
    for value in bsuids:
        if isinstance(value, str) and value.strip():
            identities.append(Identity(IdentityKind.BSUID, value.strip()))
    return list(dict.fromkeys(identities))


def _wa_id(value: str) -> list[Identity]:
    """A ``wa_id`` identity, unless the value is no phone number at all (then nothing)."""
    value = value.strip().lstrip("+")
    if not value.isdigit():
        return []
    identity = Identity(IdentityKind.WA_ID, value)
    try:
        phone_of(identity)
    except InvalidPhoneNumber:
        return []
    return [identity]


def _media(content: Any) -> MediaRef:
    if not isinstance(content, dict):
        raise TypeError("media")
    media_id = content.get("id")
    url = content.get("url")
    if not isinstance(media_id, str | int) and not isinstance(url, str):
        raise TypeError("media without an id")
    return MediaRef(
        provider_media_id=str(media_id) if isinstance(media_id, str | int) else None,
        mime_type=_optional_str(content, "mime_type"),
        sha256=_optional_str(content, "sha256"),
        caption=_optional_str(content, "caption"),
        filename=_optional_str(content, "filename"),
        url=url if isinstance(url, str) else None,
    )


def _error(error: dict[str, Any]) -> dict[str, Any]:
    code = error.get("code")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    title = error.get("title") or error.get("message")
    return {
        "code": code if isinstance(code, int | str) else None,
        "title": title if isinstance(title, str) else None,
        "details": details if isinstance(details, str) else None,
    }


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return "(unreadable)"
    parsed = _error(error)
    return f"{parsed['code']}: {parsed['details'] or parsed['title'] or ''}".strip()


def _contact_name(contact: dict[str, Any]) -> str | None:
    name = contact.get("name")
    if not isinstance(name, dict):
        return None
    formatted = name.get("formatted_name")
    if isinstance(formatted, str) and formatted.strip():
        return formatted.strip()
    parts = [name.get(k) for k in ("first_name", "last_name")]
    return " ".join(p for p in parts if isinstance(p, str) and p) or None


def _timestamp(value: Any) -> datetime | None:
    """A Unix-seconds string (or number) as an aware UTC datetime; None when unreadable."""
    try:
        seconds = int(value) if isinstance(value, str | int) else None
        return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None
    except (ValueError, OverflowError, OSError):
        return None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _required_str(content: Any, key: str) -> str:
    value = content[key]
    if not isinstance(value, str):
        raise TypeError(key)
    return value


def _text(value: Any) -> str | None:
    """``value`` when it is a non-empty string (anything else is ignored, never an error)."""
    return value if isinstance(value, str) and value else None


def _optional_str(content: dict[str, Any], key: str) -> str | None:
    value = content.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(key)
    return value or None
