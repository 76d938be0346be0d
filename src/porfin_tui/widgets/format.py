"""How the inbox writes things for people, in Portuguese: times in the clinic's zone, waits,
phones, money, delivery ticks, authors and the labels of the API's codes."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from rich.text import Text

from porfin_tui.ptbr import instant

AUTHORS = {
    "patient": "paciente",
    "ai": "IA",
    "staff": "equipe",
    "clinic_phone": "celular da clínica",
    "system": "sistema",
}
KINDS = {
    "image": "imagem",
    "audio": "áudio",
    "video": "vídeo",
    "document": "documento",
    "sticker": "figurinha",
    "location": "localização",
    "contacts": "contato",
    "interactive": "botões",
    "reaction": "reação",
    "template": "modelo",
    "unsupported": "mensagem não suportada",
}
STAGES = {
    "new_lead": "novo contato",
    "contacted": "contatado",
    "qualified": "qualificado",
    "scheduled": "agendado",
    "attended": "atendido",
    "paid": "pago",
    "returning": "retorno",
    "lost": "perdido",
}
CONSENTS = {"service": "atendimento", "reminders": "lembretes", "marketing": "marketing"}
HANDOFF_REASONS = {
    "ai_turned_off": "IA desligada pela equipe",
    "clinic_phone_reply": "respondida pelo celular da clínica",
}


def parse_time(value: Any) -> datetime | None:
    """An API time (ISO 8601 with an offset), or None."""
    if not value or not isinstance(value, str):
        return None
    try:
        return instant(value)
    except ValueError:
        return None


def local(value: Any, zone: tzinfo | None) -> datetime | None:
    """An API time in the clinic's zone (or the computer's when unknown)."""
    moment = parse_time(value)
    if moment is None:
        return None
    return moment.astimezone(zone) if zone is not None else moment.astimezone()


def clock_time(value: Any, zone: tzinfo | None, now: datetime) -> str:
    """``14:05`` today, ``24/11 14:05`` another day."""
    moment = local(value, zone)
    if moment is None:
        return ""
    today = now.astimezone(moment.tzinfo).date()
    if moment.date() == today:
        return moment.strftime("%H:%M")
    return moment.strftime("%d/%m %H:%M")


def day_label(day: date) -> str:
    """``30/11``."""
    return day.strftime("%d/%m")


def waited(since: Any, now: datetime) -> str:
    """How long ago: ``agora``, ``há 12 min``, ``há 3 h``, ``há 2 d``."""
    moment = parse_time(since)
    if moment is None:
        return ""
    minutes = int((now - moment).total_seconds() // 60)
    if minutes < 1:
        return "agora"
    if minutes < 60:
        return f"há {minutes} min"
    if minutes < 48 * 60:
        return f"há {minutes // 60} h"
    return f"há {minutes // (24 * 60)} d"


def phone(value: str | None) -> str:
    """``+55 11 98765-4321`` for a Brazilian E.164 number; other numbers as they are."""
    if not value:
        return ""
    if value.startswith("+55") and len(value) in (13, 14):
        area, number = value[3:5], value[5:]
        return f"+55 {area} {number[:-4]}-{number[-4:]}"
    return value


def chat_name(chat: dict[str, Any]) -> str:
    """The customer's name, or their phone when the name is unknown."""
    name = (chat.get("customer_name") or "").strip()
    return name or phone(chat.get("customer_phone")) or "(sem nome)"


def ticks(message: dict[str, Any]) -> Text:
    """The delivery mark of an outbound message: ◷ pending, ✓ sent, ✓✓ delivered, ✓✓ lida
    (blue), ✗ falhou (red)."""
    status = message.get("status")
    if status == "pending":
        return Text("◷ enviando", style="dim")
    if status == "sent":
        return Text("✓", style="dim")
    if status == "delivered":
        return Text("✓✓")
    if status == "read":
        return Text("✓✓ lida", style="bold blue")
    if status == "played":
        return Text("✓✓ ouvida", style="bold blue")
    if status == "failed":
        return Text("✗ falhou", style="bold red")
    return Text("")


def failure(message: dict[str, Any]) -> str:
    """Why a message failed, from the provider's error."""
    error = message.get("error") or {}
    detail = (error.get("error_detail") or "").strip()
    code = (error.get("error_code") or "").strip()
    if detail and code:
        return f"{detail} (código {code})"
    return detail or (f"código {code}" if code else "o WhatsApp recusou a mensagem")


def attachment(message: dict[str, Any]) -> str:
    """``[imagem] foto.jpg`` for a message with a file; empty for text."""
    kind = message.get("kind") or "text"
    if kind == "text":
        return ""
    if kind == "template":
        name = (message.get("extra") or {}).get("name") or ""
        return f"[modelo {name}]".replace(" ]", "]")
    media = message.get("media") or {}
    label = KINDS.get(kind, kind)
    name = media.get("filename") or media.get("mime_type") or ""
    return f"[{label}] {name}".rstrip()


def handoff(reason: str | None) -> str:
    """A handoff reason for people."""
    if not reason:
        return ""
    return HANDOFF_REASONS.get(reason, reason)
