"""Appointment reminders: when they go out, and what a patient's answer means.

A clinic's reminder plan is a list of :class:`ReminderRule` (default: the day before at 10:00
and 2 hours before). Each reminder asks the patient to confirm, reschedule or cancel, with
reply buttons inside WhatsApp's 24-hour window and an approved template with quick-reply
buttons outside it. A button carries a payload naming the appointment and the action
(``appt:<id>:confirm``); a typed answer ("confirmo", "não vou poder", "1") is read by
:func:`read_reply`.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from porfin_core.errors import ValidationError

MAX_RULES = 5


class ReplyIntent(enum.StrEnum):
    """What a patient answered to a reminder."""

    CONFIRM = "confirm"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"


BUTTON_TITLES = {
    ReplyIntent.CONFIRM: "Confirmar",
    ReplyIntent.RESCHEDULE: "Remarcar",
    ReplyIntent.CANCEL: "Cancelar",
}
"""The reply buttons' titles, in the order they are shown (WhatsApp: at most 20 characters)."""


_RULE = re.compile(
    r"(?P<days>[0-9]{1,2})d@(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})|(?P<hours>[0-9]{1,2})h"
)


@attrs.frozen(kw_only=True)
class ReminderRule:
    """One reminder before each appointment.

    Either ``days_before`` with ``at`` (a time of day in the clinic's time zone: "the day
    before at 10:00", written ``1d@10:00``), or ``hours_before`` ("2 hours before", ``2h``).

    Attributes:
        days_before: Days before the appointment's date (1: the day before), 1-14.
        at: Time of day for ``days_before``.
        hours_before: Hours before the appointment's start, 1-72.
    """

    days_before: int | None = None
    at: time | None = None
    hours_before: int | None = None

    @classmethod
    def parse(cls, text: str) -> ReminderRule:
        """The rule written ``text`` (``1d@10:00`` or ``2h``).

        Raises:
            ValidationError: anything else, or numbers out of range (field ``reminders``).
        """
        match = _RULE.fullmatch(text.strip())
        if match is None:
            raise ValidationError(
                f"a reminder is written like 1d@10:00 or 2h, not {text!r}", field="reminders"
            )
        if match["hours"] is not None:
            hours = int(match["hours"])
            if not 1 <= hours <= 72:
                raise ValidationError("hours before must be 1-72", field="reminders")
            return cls(hours_before=hours)
        days, hour, minute = int(match["days"]), int(match["hour"]), int(match["minute"])
        if not 1 <= days <= 14 or hour > 23 or minute > 59:
            raise ValidationError(
                "days before must be 1-14, at a time 00:00-23:59", field="reminders"
            )
        return cls(days_before=days, at=time(hour, minute))

    def __str__(self) -> str:
        if self.hours_before is not None:
            return f"{self.hours_before}h"
        assert self.at is not None
        return f"{self.days_before}d@{self.at.strftime('%H:%M')}"

    @property
    def key(self) -> str:
        """A stable name for the rule (part of the reminder job's idempotency key)."""
        return str(self)

    def due(self, start: datetime, timezone: str) -> datetime:
        """When this reminder goes out for an appointment starting at ``start``."""
        if self.hours_before is not None:
            return start - timedelta(hours=self.hours_before)
        assert self.days_before is not None and self.at is not None
        local = start.astimezone(ZoneInfo(timezone))
        day = local.date() - timedelta(days=self.days_before)
        return datetime.combine(day, self.at, tzinfo=ZoneInfo(timezone))


DEFAULT_REMINDERS = ("1d@10:00", "2h")
"""The day before at 10:00, and 2 hours before."""


def read_plan(texts: list[str] | tuple[str, ...]) -> tuple[ReminderRule, ...]:
    """The rules written ``texts``, if they make a valid plan (at most :data:`MAX_RULES`,
    none twice; an empty plan sends no reminders).

    Raises:
        ValidationError: a malformed rule, too many, or the same one twice.
    """
    rules = tuple(ReminderRule.parse(text) for text in texts)
    if len(rules) > MAX_RULES:
        raise ValidationError(f"at most {MAX_RULES} reminders", field="reminders")
    if len({rule.key for rule in rules}) != len(rules):
        raise ValidationError("the same reminder twice", field="reminders")
    return rules


def reminders_due(
    rules: tuple[ReminderRule, ...], start: datetime, timezone: str, now: datetime
) -> list[tuple[ReminderRule, datetime]]:
    """The reminders still worth sending for an appointment at ``start``, by time.

    A reminder whose time has passed is skipped (an appointment booked for this afternoon
    gets only the "2 hours before" one), and none is sent at or after the start.
    """
    due = [(rule, rule.due(start, timezone)) for rule in rules]
    return sorted(((r, at) for r, at in due if now < at < start), key=lambda item: item[1])


def button_payload(appointment_id: str, intent: ReplyIntent) -> str:
    """The id of a reply button (or a template quick reply's payload)."""
    return f"appt:{appointment_id}:{intent.value}"


_PAYLOAD = re.compile(r"appt:(?P<id>[A-Za-z0-9_-]{1,64}):(?P<intent>confirm|reschedule|cancel)")


def read_payload(payload: str | None) -> tuple[str, ReplyIntent] | None:
    """The appointment and intent of a reminder button's payload; None for anything else."""
    match = _PAYLOAD.fullmatch(payload or "")
    if match is None:
        return None
    return match["id"], ReplyIntent(match["intent"])


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", plain).split())


# Typed answers, as Brazilian patients write them (accents and case folded). Checked in this
# order: a refusal mentioning the visit ("não vou poder ir") is not a confirmation.
_CANCEL = re.compile(
    r"\b(cancel\w*|desmarc\w*|nao (vou|posso|poderei|consigo|irei|vai dar|da)\w*"
    r"|nao vou poder|nao estarei|nao compareco|desisto)\b"
)
_RESCHEDULE = re.compile(
    r"\b(remarc\w*|reagend\w*|outro (dia|horario)|mudar (o |de )?(dia|horario)"
    r"|trocar (o |de )?(dia|horario)|adiar)\b"
)
_CONFIRM = re.compile(
    r"^(sim|s|ok|okay|confirm\w*|pode confirmar|estarei (la|ai|presente)|vou sim|com certeza"
    r"|certo|combinado|claro|positivo|beleza|blz|ta confirmado|to confirmando)\b"
)
_NUMBERED = {"1": ReplyIntent.CONFIRM, "2": ReplyIntent.RESCHEDULE, "3": ReplyIntent.CANCEL}


def read_reply(text: str | None) -> ReplyIntent | None:
    """What a typed answer to a reminder means; None when it is not clearly an answer.

    Understands the numbered menu a bridge shows instead of buttons ("1", "2", "3"), the
    buttons' titles, and common ways of confirming ("confirmo", "sim, estarei lá"),
    cancelling ("não vou poder", "pode cancelar") and rescheduling ("quero remarcar",
    "outro horário"). Anything else (a question, a long message) is left to a person or the
    assistant.
    """
    folded = _fold(text or "")
    if not folded or len(folded) > 120:
        return None
    if folded in _NUMBERED:
        return _NUMBERED[folded]
    if _CANCEL.search(folded):
        return ReplyIntent.CANCEL
    if _RESCHEDULE.search(folded):
        return ReplyIntent.RESCHEDULE
    if _CONFIRM.search(folded) and "?" not in (text or ""):
        return ReplyIntent.CONFIRM
    return None
