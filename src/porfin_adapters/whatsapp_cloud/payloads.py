"""Porfin messages as Cloud API request bodies (``POST /<PHONE_NUMBER_ID>/messages``).

The shapes follow Meta's "Send messages" page and the request fixtures in
``../shared/fixtures/whatsapp_cloud/send_*_request.json``; tests compare each kind against them.

What a :class:`~porfin_core.domain.message.Message` carries for each kind:

- ``text``: ``body``; ``extra["preview_url"]`` (default False).
- ``image``/``video``/``audio``/``document``/``sticker``: ``media`` with a Cloud API media id
  (``provider_media_id``, e.g. from an upload) or a public ``url`` (sent as ``link``);
  ``caption`` (not audio or sticker), ``filename`` (documents); ``extra["voice"]`` for a
  voice note (OGG/Opus; default: True for ``audio/ogg``).
- ``location``: ``extra`` ``latitude``, ``longitude``, optional ``name``, ``address``.
- ``template``: ``extra`` ``name``, ``language`` (default ``pt_BR``), ``components`` in the
  Graph API's own form (``[{"type": "body", "parameters": [...]}]``).
- ``interactive``: ``extra["type"]`` ``button`` (``buttons: [{id, title}]``, at most 3) or
  ``list`` (``button``, ``sections: [{title, rows: [{id, title, description}]}]``); the
  ``body`` text, optional ``extra`` ``header`` (text) and ``footer``.
- ``reaction``: ``extra`` ``message_id`` (the wamid reacted to) and ``emoji`` ("" removes it).
- any kind: ``reply_to_provider_id`` becomes ``context.message_id`` (a quoted reply).
"""

from __future__ import annotations

from typing import Any

from porfin_core.domain.media import normalize_media_type
from porfin_core.domain.message import MediaRef, Message, MessageKind
from porfin_core.errors import ValidationError

MEDIA_KINDS = frozenset(
    {
        MessageKind.IMAGE,
        MessageKind.VIDEO,
        MessageKind.AUDIO,
        MessageKind.DOCUMENT,
        MessageKind.STICKER,
    }
)
MAX_REPLY_BUTTONS = 3
MAX_LIST_ROWS = 10
DEFAULT_TEMPLATE_LANGUAGE = "pt_BR"


def _invalid(message: str, **fields: Any) -> ValidationError:
    return ValidationError(message, provider="cloud_api", **fields)


def addressee(recipient: str) -> dict[str, str]:
    """``{"to": phone}``, or ``{"recipient": bsuid}`` for a business-scoped user id."""
    stripped = recipient.strip()
    if stripped.lstrip("+").replace(" ", "").replace("-", "").isdigit():
        return {"to": stripped}
    return {"recipient": stripped}


def envelope(recipient: str, kind: str, content: dict[str, Any]) -> dict[str, Any]:
    """The common part of every send: product, addressee, type and the kind's object."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        **addressee(recipient),
        "type": kind,
        kind: content,
    }


def media_object(kind: MessageKind, media: MediaRef, extra: dict[str, Any]) -> dict[str, Any]:
    """The ``image``/``document``/... object of a media message: by id, else by link.

    Raises:
        ValidationError: neither a Cloud API media id nor a link.
    """
    content: dict[str, Any] = {}
    if media.provider_media_id:
        content["id"] = media.provider_media_id
    elif media.url:
        content["link"] = media.url
    else:
        raise _invalid("the media has neither a Cloud API id nor a link", field="media")
    if media.caption and kind not in (MessageKind.AUDIO, MessageKind.STICKER):
        content["caption"] = media.caption
    if kind is MessageKind.DOCUMENT and media.filename:
        content["filename"] = media.filename
    if kind is MessageKind.AUDIO:
        mime = normalize_media_type(media.mime_type or "")
        if extra.get("voice", False) or (extra.get("voice") is None and mime == "audio/ogg"):
            content["voice"] = True
    return content


def _location(extra: dict[str, Any]) -> dict[str, Any]:
    try:
        content: dict[str, Any] = {
            "latitude": float(extra["latitude"]),
            "longitude": float(extra["longitude"]),
        }
    except (KeyError, TypeError, ValueError):
        raise _invalid("a location needs a latitude and a longitude", field="extra") from None
    for key in ("name", "address"):
        if extra.get(key):
            content[key] = str(extra[key])
    return content


def _template(extra: dict[str, Any]) -> dict[str, Any]:
    name = extra.get("name")
    if not isinstance(name, str) or not name:
        raise _invalid("a template message needs the template's name", field="extra.name")
    language = extra.get("language") or DEFAULT_TEMPLATE_LANGUAGE
    if isinstance(language, dict):
        language = language.get("code") or DEFAULT_TEMPLATE_LANGUAGE
    content: dict[str, Any] = {"name": name, "language": {"code": str(language)}}
    components = extra.get("components")
    if components:
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise _invalid("template components must be a list of objects", field="extra")
        content["components"] = components
    return content


def _interactive(body: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    kind = extra.get("type")
    text = extra.get("body") or body
    if not text:
        raise _invalid("an interactive message needs a body text", field="body")
    content: dict[str, Any] = {"type": kind}
    if isinstance(extra.get("header"), str) and extra["header"]:
        content["header"] = {"type": "text", "text": extra["header"]}
    content["body"] = {"text": text}
    if extra.get("footer"):
        content["footer"] = {"text": str(extra["footer"])}
    if kind == "button":
        buttons = extra.get("buttons") or []
        if not 1 <= len(buttons) <= MAX_REPLY_BUTTONS:
            raise _invalid("reply buttons: between 1 and 3 buttons", field="extra.buttons")
        content["action"] = {
            "buttons": [
                {"type": "reply", "reply": {"id": str(b["id"]), "title": str(b["title"])}}
                for b in buttons
            ]
        }
    elif kind == "list":
        sections = extra.get("sections") or []
        rows = sum(len(s.get("rows") or []) for s in sections)
        if not sections or not 1 <= rows <= MAX_LIST_ROWS or not extra.get("button"):
            raise _invalid(
                "a list needs a button text and 1-10 rows in its sections", field="extra"
            )
        content["action"] = {
            "button": str(extra["button"]),
            "sections": [
                {
                    **({"title": str(s["title"])} if s.get("title") else {}),
                    "rows": [
                        {
                            "id": str(r["id"]),
                            "title": str(r["title"]),
                            **(
                                {"description": str(r["description"])}
                                if r.get("description")
                                else {}
                            ),
                        }
                        for r in s["rows"]
                    ],
                }
                for s in sections
            ],
        }
    else:
        raise _invalid("interactive messages are 'button' or 'list'", field="extra.type")
    return content


def message_body(recipient: str, message: Message) -> dict[str, Any]:
    """The request body that sends ``message`` to ``recipient``.

    Media messages must already name a Cloud API media id or a link (the gateway uploads
    files from Porfin's media store first).

    Raises:
        ValidationError: the message lacks what its kind needs, or its kind cannot be sent.
    """
    kind = message.kind
    extra = message.extra
    content: dict[str, Any]
    if kind is MessageKind.TEXT:
        if not message.body:
            raise _invalid("message text is empty", field="body")
        content = {"body": message.body, "preview_url": bool(extra.get("preview_url", False))}
    elif kind in MEDIA_KINDS:
        if message.media is None:
            raise _invalid(f"a {kind.value} message needs its media", field="media")
        content = media_object(kind, message.media, extra)
    elif kind is MessageKind.LOCATION:
        content = _location(extra)
    elif kind is MessageKind.TEMPLATE:
        content = _template(extra)
    elif kind is MessageKind.INTERACTIVE:
        content = _interactive(message.body, extra)
    elif kind is MessageKind.REACTION:
        if not extra.get("message_id"):
            raise _invalid("a reaction names the message it reacts to", field="extra")
        content = {"message_id": str(extra["message_id"]), "emoji": str(extra.get("emoji", ""))}
    else:
        raise _invalid(f"the Cloud API gateway cannot send {kind.value} messages", field="kind")
    body = envelope(recipient, kind.value, content)
    if message.reply_to_provider_id:
        body["context"] = {"message_id": message.reply_to_provider_id}
    return body


def mark_as_read_body(provider_message_id: str, *, typing: bool = False) -> dict[str, Any]:
    """Mark an inbound message (and the earlier ones) read, optionally showing "typing..."."""
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": provider_message_id,
    }
    if typing:
        body["typing_indicator"] = {"type": "text"}
    return body
