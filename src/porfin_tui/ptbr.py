"""Brazilian Portuguese for the agenda, booking and charge screens: dates, weekdays, money,
statuses, and the API's refusals said to people."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

WEEKDAYS_SHORT = ("seg", "ter", "qua", "qui", "sex", "sáb", "dom")
WEEKDAYS_LONG = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

APPOINTMENT_STATUS = {
    "requested": "a confirmar",
    "confirmed": "confirmada",
    "attended": "compareceu",
    "no_show": "faltou",
    "cancelled": "cancelada",
}
CHARGE_STATUS = {
    "pending": "pendente",
    "paid": "paga",
    "expired": "vencida",
    "cancelled": "cancelada",
    "refunded": "estornada",
}
WAITLIST_STATUS = {
    "waiting": "aguardando",
    "offered": "vaga oferecida",
    "booked": "agendado",
    "removed": "removido",
}
PERIODS = {"manha": "manhã", "tarde": "tarde", "noite": "noite"}

# What the API's refusals mean, by problem ``code``, for the front desk.
PROBLEMS = {
    "slot_taken": "Esse horário não está livre.",
    "invalid_state": "Não é possível: a consulta já está encerrada ou cancelada.",
    "window_closed": "A janela de 24 horas do WhatsApp está fechada para este paciente.",
    "forbidden": "Seu perfil não tem permissão para isso.",
}


def parse_day(text: str, today: date) -> date:
    """A date typed at the front desk: ``26/11/2026``, ``26/11`` (this year), ``26`` (this
    month) or ``2026-11-26``; ``hoje``/``amanhã`` too. Raises ValueError."""
    text = text.strip().lower()
    if text in ("", "hoje"):
        return today
    if text in ("amanhã", "amanha"):
        return date.fromordinal(today.toordinal() + 1)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return date.fromisoformat(text)
    match = re.fullmatch(r"(\d{1,2})(?:[/.-](\d{1,2})(?:[/.-](\d{2}|\d{4}))?)?", text)
    if not match:
        raise ValueError(text)
    day = int(match[1])
    month = int(match[2]) if match[2] else today.month
    year = int(match[3]) if match[3] else today.year
    if year < 100:
        year += 2000
    return date(year, month, day)


def parse_reais(text: str) -> int:
    """Centavos from an amount typed in reais: ``150``, ``150,00``, ``1.500,50``,
    ``R$ 80,5``. Raises ValueError for anything else or for zero."""
    cleaned = text.strip().replace("R$", "").replace(" ", "")
    if "," in cleaned:
        whole, _, cents = cleaned.rpartition(",")
        whole = whole.replace(".", "")
    elif re.fullmatch(r"\d+\.\d{1,2}", cleaned):  # "150.5": a decimal point, not thousands
        whole, _, cents = cleaned.partition(".")
    else:
        whole, cents = cleaned.replace(".", ""), ""
    if not whole.isdigit() or (cents and not cents.isdigit()) or len(cents) > 2:
        raise ValueError(text)
    value = int(whole) * 100 + int(cents.ljust(2, "0") or 0)
    if value <= 0:
        raise ValueError(text)
    return value


def reais(cents: int) -> str:
    """``R$ 1.500,50``."""
    whole, part = divmod(abs(cents), 100)
    sign = "-" if cents < 0 else ""
    return f"{sign}R$ {whole:,}".replace(",", ".") + f",{part:02d}"


def instant(value: str) -> datetime:
    """An ISO 8601 instant from the API."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def hhmm(value: str) -> str:
    """``09:30`` of an instant in the clinic's offset (as the agenda and slots send them)."""
    return instant(value).strftime("%H:%M")


def short_day(day: date) -> str:
    """``qui 26/11``."""
    return f"{WEEKDAYS_SHORT[day.weekday()]} {day:%d/%m}"


def long_day(day: date) -> str:
    """``quinta-feira, 26/11/2026``."""
    return f"{WEEKDAYS_LONG[day.weekday()]}, {day:%d/%m/%Y}"


def slot_label(slot: dict[str, Any], professionals: dict[str, str]) -> str:
    """``qui 26/11 09:00–09:30 · Dra. Ana Souza``."""
    start = instant(slot["start"])
    label = f"{short_day(start.date())} {start:%H:%M}–{hhmm(slot['end'])}"
    name = professionals.get(slot.get("professional_id") or "")
    return f"{label} · {name}" if name else label


def problem_text(exc: Exception) -> str:
    """One Portuguese line for a failed request."""
    code = getattr(exc, "code", "")
    status = getattr(exc, "status", None)
    if code in PROBLEMS:
        return PROBLEMS[code]
    if status == 0:
        return f"Sem conexão com o servidor. ({exc})"
    if status == 404:
        return "Não encontrado (talvez já tenha sido removido)."
    if status == 403:
        return PROBLEMS["forbidden"]
    return f"Não foi possível: {exc}"


def period_of(start: datetime) -> str:
    """``manha``/``tarde``/``noite`` of a local time."""
    if start.hour < 12:
        return "manha"
    return "tarde" if start.hour < 18 else "noite"
