"""How the CLI shows chats and messages: JSON with the API's field names, or text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from porfin_adapters.serialization import to_document
from porfin_core.domain.chat import Chat
from porfin_core.domain.message import Message

MODE_PT = {"ai": "IA", "human": "humano", "paused": "pausado"}
STATUS_PT = {"open": "aberto", "closed": "fechado"}
TICKS = {
    "pending": "🕓",
    "sent": "✓",
    "delivered": "✓✓",
    "read": "✓✓ lida",
    "played": "✓✓ ouvida",
    "failed": "✗ falhou",
    "received": "",
}
HANDOFF_PT = {
    "ai_turned_off": "IA desligada pela equipe",
    "clinic_phone_reply": "respondida pelo celular da clínica",
}
AUTHOR_PT = {
    "patient": "paciente",
    "ai": "IA",
    "staff": "equipe",
    "clinic_phone": "celular da clínica",
    "system": "sistema",
}


def chat_json(chat: Chat, now: datetime) -> dict[str, Any]:
    """A chat with the same fields as the API's ``ChatOut``."""
    document = to_document(chat)
    document.pop("clinic_id")
    expires = chat.window_expires_at()
    document.update(
        effective_mode=chat.effective_mode(now).value,
        window_open=chat.window_open(now),
        window_expires_at=expires.isoformat() if expires else None,
    )
    return document


def message_json(message: Message) -> dict[str, Any]:
    """A message as a JSON-ready dict."""
    document = to_document(message)
    document.pop("clinic_id")
    return document


def _when(value: str | None) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone().strftime("%d/%m %H:%M")


def chat_lines(chat: dict[str, Any]) -> list[str]:
    """Two lines per chat in ``porfin chats list``: who and in what state, then the preview."""
    unread = chat["unread_count"]
    parts = [
        MODE_PT.get(chat["mode"], chat["mode"]),
        STATUS_PT.get(chat["status"], chat["status"]),
        f"{unread} não lida{'s' if unread != 1 else ''}" if unread else "lida",
        _when(chat["last_message_at"]),
    ]
    phone = f" ({chat['customer_phone']})" if chat["customer_phone"] else ""
    return [
        f"{chat['id']}  {chat['customer_name']}{phone}",
        f"    {' · '.join(parts)} — {chat['last_message_preview']}",
    ]


def message_line(message: dict[str, Any]) -> str:
    """One timeline line: time, author, text and delivery ticks."""
    author = AUTHOR_PT.get(message["author"], message["author"])
    body = message.get("body") or f"[{message['kind']}]"
    ticks = TICKS.get(message["status"], message["status"])
    return f"[{_when(message['created_at'])}] {author}: {body} {ticks}".rstrip()
