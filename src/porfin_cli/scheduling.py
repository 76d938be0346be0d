"""What the agenda's commands share: reading hours and times as people type them, and showing
professionals, types and appointments (JSON with the API's field names, or Portuguese text)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import TYPE_CHECKING, Any

from porfin_cli.runtime import fail

if TYPE_CHECKING:
    from porfin_core.domain.scheduling import (
        Appointment,
        AppointmentType,
        Professional,
        WeeklyHours,
    )
    from porfin_core.use_cases._scheduling import WorkingInterval

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAYS_PT = ("seg", "ter", "qua", "qui", "sex", "sab", "dom")
WEEKDAY_NAMES_PT = (
    "segunda-feira",
    "terça-feira",
    "quarta-feira",
    "quinta-feira",
    "sexta-feira",
    "sábado",
    "domingo",
)
STATUS_PT = {
    "requested": "a confirmar",
    "confirmed": "confirmada",
    "attended": "compareceu",
    "no_show": "faltou",
    "cancelled": "cancelada",
}
_RANGE = re.compile(r"\s*(?P<days>\S+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*")


def _day(token: str, spec: str) -> int:
    token = token.strip().lower().replace("á", "a")
    if token.isdigit() and 1 <= int(token) <= 7:
        return int(token)
    if token[:3] in DAYS_PT:
        return DAYS_PT.index(token[:3]) + 1
    fail(f"dia da semana inválido em {spec!r}: use seg, ter, qua, qui, sex, sab, dom ou 1-7")


def _days(text: str, spec: str) -> list[int]:
    days: list[int] = []
    for part in text.split(","):
        if "-" in part:
            first, last = (_day(p, spec) for p in part.split("-", 1))
            if last < first:
                fail(f"intervalo de dias invertido em {spec!r}")
            days.extend(range(first, last + 1))
        else:
            days.append(_day(part, spec))
    return days


def weekly_ranges(specs: list[str] | None) -> list[WorkingInterval]:
    """``"seg-sex 08:00-12:00"``, ``"sab 08:00-12:00"``, ``"seg,qua 14:00-18:00"`` as the
    core's weekly ranges (checked by the use case); a spec that cannot be read exits."""
    from porfin_core.use_cases._scheduling import WorkingInterval

    found = []
    for spec in specs or []:
        match = _RANGE.fullmatch(spec)
        if match is None:
            fail(f'horário inválido: {spec!r} (exemplo: "seg-sex 08:00-12:00")')
        start, end = (
            f"{int(t.split(':')[0]):02d}:{t.split(':')[1]}" for t in match.group("start", "end")
        )
        found += [WorkingInterval(day, start, end) for day in _days(match["days"], spec)]
    return found


def local_time(text: str, zone: tzinfo) -> datetime:
    """An ISO 8601 date and time; without an offset, in the clinic's time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"data e hora inválidas: {text!r} (exemplo: 2026-12-01T09:00)")
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def when(moment: datetime, zone: tzinfo) -> str:
    """``quinta-feira, 26/11/2026 às 09:00`` in the clinic's time zone."""
    local = moment.astimezone(zone)
    return f"{WEEKDAY_NAMES_PT[local.weekday()]}, {local:%d/%m/%Y} às {local:%H:%M}"


def _hhmm(value: Any) -> str:
    return str(value.strftime("%H:%M"))


def _weekly_json(hours: WeeklyHours) -> dict[str, str]:
    return {
        "weekday": WEEKDAYS[hours.weekday - 1],
        "start": _hhmm(hours.start),
        "end": _hhmm(hours.end),
    }


def professional_json(professional: Professional) -> dict[str, Any]:
    """A professional with the same fields as the API's ``ProfessionalOut``."""
    return {
        "id": professional.id,
        "name": professional.name,
        "kind": professional.kind.value,
        "hours": [_weekly_json(h) for h in professional.hours],
        "breaks": [_weekly_json(b) for b in professional.breaks],
        "exceptions": [
            {
                "date": e.day.isoformat(),
                "hours": [{"start": _hhmm(r.start), "end": _hhmm(r.end)} for r in e.hours],
                "reason": e.reason,
            }
            for e in professional.exceptions
        ],
        "active": professional.active,
        "created_at": professional.created_at.isoformat(),
    }


def type_json(kind: AppointmentType) -> dict[str, Any]:
    """An appointment type with the same fields as the API's ``AppointmentTypeOut``."""
    return {
        "id": kind.id,
        "name": kind.name,
        "duration_minutes": kind.duration_minutes,
        "price_cents": kind.price_cents,
        "buffer_before_minutes": kind.buffer_before_minutes,
        "buffer_after_minutes": kind.buffer_after_minutes,
        "professional_ids": list(kind.professional_ids),
        "active": kind.active,
        "created_at": kind.created_at.isoformat(),
    }


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def appointment_json(appointment: Appointment) -> dict[str, Any]:
    """An appointment with the same fields as the API's ``AppointmentOut`` (UTC)."""
    return {
        "id": appointment.id,
        "customer_id": appointment.customer_id,
        "professional_id": appointment.professional_id,
        "type_id": appointment.type_id,
        "start": _utc(appointment.start),
        "end": _utc(appointment.end),
        "buffer_before_minutes": appointment.buffer_before_minutes,
        "buffer_after_minutes": appointment.buffer_after_minutes,
        "status": appointment.status.value,
        "source": appointment.source.value,
        "notes": appointment.notes,
        "chat_id": appointment.chat_id,
        "cancel_reason": appointment.cancel_reason,
        "history": [
            {
                "at": _utc(c.at),
                "action": c.action,
                "status": c.status.value,
                "by": c.by,
                "reason": c.reason,
                "previous_start": _utc(c.previous_start),
                "previous_end": _utc(c.previous_end),
            }
            for c in appointment.history
        ],
        "created_at": _utc(appointment.created_at),
        "updated_at": _utc(appointment.updated_at),
    }


def money(cents: int) -> str:
    """``R$ 150,00``."""
    reais, centavos = divmod(cents, 100)
    return f"R$ {reais:,}".replace(",", ".") + f",{centavos:02d}"


def cents(text: str) -> int:
    """A price in reais as people type it (``150``, ``150,00``, ``1.234,50``, ``150.5``) in
    centavos."""
    raw = text.strip().removeprefix("R$").strip()
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    try:
        whole, _, fraction = raw.partition(".")
        if not whole.isdigit() or len(fraction) > 2 or (fraction and not fraction.isdigit()):
            raise ValueError(raw)
        return int(whole) * 100 + int(fraction.ljust(2, "0") or 0)
    except ValueError:
        fail(f"preço inválido: {text!r} (exemplo: 150,00)")


def waitlist_json(entry: Any) -> dict[str, Any] | None:
    """A waitlist entry with the same fields as the API's ``WaitlistEntryOut`` (None stays
    None)."""
    if entry is None:
        return None
    slot = entry.offered_slot
    return {
        "id": entry.id,
        "customer_id": entry.customer_id,
        "type_id": entry.type_id,
        "professional_id": entry.professional_id,
        "periods": [p.value for p in entry.periods],
        "weekdays": [WEEKDAYS[d - 1] for d in entry.weekdays],
        "notes": entry.notes,
        "since": entry.since.isoformat(),
        "status": entry.status.value,
        "offered_slot": None
        if slot is None
        else {
            "professional_id": slot.professional_id,
            "start": slot.start.isoformat(),
            "end": slot.end.isoformat(),
        },
        "offered_at": entry.offered_at.isoformat() if entry.offered_at else None,
        "updated_at": entry.updated_at.isoformat(),
    }
