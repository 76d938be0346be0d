"""Scheduling: who works when, what can be booked, when the clinic is closed, the appointments
themselves and the waitlist.

Local times (working hours, breaks, exceptions, periods of the day) are wall-clock times in the
clinic's time zone, without a zone of their own; every instant (appointments, closures, slots)
is a timezone-aware datetime. Where free time is found is :mod:`porfin_core.domain.availability`.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar

import attrs

from porfin_core.domain.clinic import Weekday
from porfin_core.domain.events import (
    AppointmentAttended,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentEvent,
    AppointmentNoShow,
    AppointmentRescheduled,
    EventRecorder,
    WaitlistSlotOffered,
)
from porfin_core.errors import InvalidStateTransition, ValidationError

MAX_NAME = 120
"""Characters of a professional's or an appointment type's name."""
MAX_REASON = 200
"""Characters of a closure's, an exception's or a cancellation's reason."""
MAX_NOTES = 2000
"""Characters of an appointment's or a waitlist entry's notes."""
MIN_DURATION_MINUTES = 5
MAX_DURATION_MINUTES = 12 * 60
"""An appointment lasts 5 minutes to 12 hours."""
MAX_BUFFER_MINUTES = 4 * 60
"""A buffer before or after an appointment lasts at most 4 hours."""
MAX_SPAN = timedelta(hours=24)
"""The longest time an appointment occupies (duration plus both buffers is at most 20 h):
storage looks this far back for appointments that reach into a range."""
MAX_PRICE_CENTS = 100_000_000
"""R$ 1,000,000.00: a price above it is a typo."""
MAX_CLOSURE = timedelta(days=366)
"""A clinic closure lasts at most a year."""
EARLY_ARRIVAL = timedelta(hours=2)
"""How long before its start an appointment may already be marked attended (the patient
checked in early)."""

T = TypeVar("T", time, datetime)
E = TypeVar("E", bound=AppointmentEvent)


def _text(raw: str, field: str, limit: int, *, blank: bool = False, lines: bool = False) -> str:
    """``raw`` trimmed (inner whitespace made single spaces unless ``lines``).

    Raises:
        ValidationError: blank (unless ``blank``), longer than ``limit``, or holding control
            characters (line breaks and tabs are allowed with ``lines``).
    """
    text = raw.strip() if lines else " ".join(raw.split())
    if not text and not blank:
        raise ValidationError(f"{field} is empty", field=field)
    if len(text) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters", field=field)
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(ch).startswith("C") and ch not in allowed for ch in text):
        raise ValidationError(f"{field} holds control characters", field=field)
    return text


def _aware(moment: datetime, field: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{field} needs a time zone", field=field)


def subtract(spans: Iterable[tuple[T, T]], cuts: Iterable[tuple[T, T]]) -> list[tuple[T, T]]:
    """The parts of ``spans`` (half-open ``(start, end)`` pairs) not covered by any of
    ``cuts``, sorted by start."""
    remaining = sorted(spans)
    for cut_start, cut_end in cuts:
        kept: list[tuple[T, T]] = []
        for start, end in remaining:
            if cut_end <= start or end <= cut_start:
                kept.append((start, end))
                continue
            if start < cut_start:
                kept.append((start, cut_start))
            if cut_end < end:
                kept.append((cut_end, end))
        remaining = kept
    return sorted(remaining)


# -- local time: ranges, weekly hours, periods of the day --------------------------------------


@attrs.frozen
class TimeRange:
    """A stretch of wall-clock time within one day: ``start`` included, ``end`` excluded.

    Raises:
        ValidationError: a time with a time zone, or ``end`` not after ``start``.
    """

    start: time
    end: time

    def __attrs_post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValidationError("local times carry no time zone", field="start")
        if self.end <= self.start:
            raise ValidationError("end must be after start", field="end")

    def overlaps(self, other: TimeRange) -> bool:
        """True when both ranges share some time."""
        return self.start < other.end and other.start < self.end


@attrs.frozen
class WeeklyHours:
    """A range of local time on one weekday, every week: working hours or a break.

    Raises:
        ValidationError: ``end`` not after ``start``, or a time with a time zone.
    """

    weekday: Weekday
    start: time
    end: time

    def __attrs_post_init__(self) -> None:
        TimeRange(self.start, self.end)

    @property
    def range(self) -> TimeRange:
        """The time of day, without the weekday."""
        return TimeRange(self.start, self.end)


def check_weekly(hours: Iterable[WeeklyHours], field: str) -> list[WeeklyHours]:
    """``hours`` sorted by weekday and start, once checked.

    Raises:
        ValidationError: two ranges of one weekday overlap (field ``<field>[i]``, ``i`` the
            position of the later one in ``hours``).
    """
    given = list(hours)
    for i, item in enumerate(given):
        for earlier in given[:i]:
            if item.weekday == earlier.weekday and item.range.overlaps(earlier.range):
                raise ValidationError("ranges of one weekday overlap", field=f"{field}[{i}]")
    return sorted(given, key=lambda h: (h.weekday, h.start))


@attrs.frozen
class DateException:
    """A date on which a professional's weekly hours do not apply.

    Attributes:
        day: The local date.
        hours: The working time that day, replacing the weekly hours and breaks; empty: a
            day off.
        reason: Why (shown to staff), may be empty.

    Raises:
        ValidationError: overlapping ranges.
    """

    day: date
    hours: tuple[TimeRange, ...] = ()
    reason: str = ""

    def __attrs_post_init__(self) -> None:
        for i, item in enumerate(self.hours):
            if any(item.overlaps(earlier) for earlier in self.hours[:i]):
                raise ValidationError("ranges of one date overlap", field=f"hours[{i}]")

    @property
    def day_off(self) -> bool:
        """True when the professional does not work at all that day."""
        return not self.hours


class DayPeriod(enum.StrEnum):
    """A part of the day patients ask for: manhã 06:00-12:00, tarde 12:00-18:00, noite
    18:00-22:00 (local time; start included, end excluded).

    A slot belongs to the period in which it *starts* (a 11:30-12:30 slot is manhã); slots
    starting before 06:00 or from 22:00 belong to none and are found only when no period is
    asked for.
    """

    MANHA = "manha"
    TARDE = "tarde"
    NOITE = "noite"

    @property
    def bounds(self) -> TimeRange:
        """The period's local start (included) and end (excluded)."""
        return _PERIOD_BOUNDS[self]

    @classmethod
    def of(cls, moment: time) -> DayPeriod | None:
        """The period a local time falls in, or None (before 06:00, from 22:00)."""
        for period, bounds in _PERIOD_BOUNDS.items():
            if bounds.start <= moment < bounds.end:
                return period
        return None


_PERIOD_BOUNDS = {
    DayPeriod.MANHA: TimeRange(time(6), time(12)),
    DayPeriod.TARDE: TimeRange(time(12), time(18)),
    DayPeriod.NOITE: TimeRange(time(18), time(22)),
}


# -- instants ----------------------------------------------------------------------------------


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.utcoffset() is not None else moment


@attrs.frozen
class Interval:
    """A stretch of time between two instants: ``start`` included, ``end`` excluded.

    Both are kept in UTC, so comparisons never depend on a zone's wall clock.

    Raises:
        ValidationError: a naive datetime, or ``end`` not after ``start``.
    """

    start: datetime = attrs.field(converter=_utc)
    end: datetime = attrs.field(converter=_utc)

    def __attrs_post_init__(self) -> None:
        _aware(self.start, "start")
        _aware(self.end, "end")
        if self.end <= self.start:
            raise ValidationError("end must be after start", field="end")

    def overlaps(self, other: Interval) -> bool:
        """True when both intervals share some time (touching ends do not)."""
        return self.start < other.end and other.start < self.end

    def contains(self, other: Interval) -> bool:
        """True when ``other`` lies entirely within this interval."""
        return self.start <= other.start and other.end <= self.end


def local_days(interval: Interval, zone: tzinfo) -> list[date]:
    """Every local date (in ``zone``) that ``interval`` touches, in order."""
    first = interval.start.astimezone(zone).date()
    last = (interval.end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@attrs.frozen
class Slot:
    """A bookable time: an appointment with ``professional_id`` from ``start`` to ``end``
    (the appointment itself; its type's buffers around it are free too)."""

    professional_id: str
    start: datetime
    end: datetime


# -- professionals ---------------------------------------------------------------------------


class ProfessionalKind(enum.StrEnum):
    """What a professional does (shown to patients, used by the AI to pick one)."""

    DENTISTA = "dentista"
    MEDICO = "medico"
    HIGIENISTA = "higienista"
    ORTODONTISTA = "ortodontista"
    FISIOTERAPEUTA = "fisioterapeuta"
    PSICOLOGO = "psicologo"
    NUTRICIONISTA = "nutricionista"
    FONOAUDIOLOGO = "fonoaudiologo"
    ESTETICISTA = "esteticista"
    OUTRO = "outro"


def check_exceptions(exceptions: Iterable[DateException]) -> list[DateException]:
    """``exceptions`` sorted by date, once checked.

    Raises:
        ValidationError: two exceptions for one date (field ``exceptions[i]``).
    """
    given = list(exceptions)
    seen: set[date] = set()
    for i, item in enumerate(given):
        if item.day in seen:
            raise ValidationError("two exceptions for one date", field=f"exceptions[{i}]")
        seen.add(item.day)
    return sorted(given, key=lambda e: e.day)


@attrs.define(kw_only=True)
class Professional:
    """A dentist, doctor, hygienist... who attends patients, and when.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        name: Name shown to staff and patients ("Dra. Ana Souza").
        kind: What they do.
        hours: Weekly working hours (local time), sorted; a weekday without any is a day off.
        breaks: Weekly breaks (lunch...), taken out of the working hours of their weekday.
        exceptions: Dates with other hours, or none (vacations, a Saturday on duty), sorted.
        active: False once the professional no longer takes appointments (kept for history).
        created_at: When the professional was added.
    """

    id: str
    clinic_id: str
    name: str
    kind: ProfessionalKind = ProfessionalKind.DENTISTA
    hours: list[WeeklyHours] = attrs.field(factory=list)
    breaks: list[WeeklyHours] = attrs.field(factory=list)
    exceptions: list[DateException] = attrs.field(factory=list)
    active: bool = True
    created_at: datetime

    @classmethod
    def create(
        cls,
        *,
        id: str,
        clinic_id: str,
        name: str,
        kind: ProfessionalKind,
        hours: Iterable[WeeklyHours],
        breaks: Iterable[WeeklyHours] = (),
        exceptions: Iterable[DateException] = (),
        at: datetime,
    ) -> Professional:
        """A new, active professional.

        Raises:
            ValidationError: a blank or over-long name (``name``), overlapping hours
                (``hours[i]``) or breaks (``breaks[i]``), two exceptions for one date
                (``exceptions[i]``).
        """
        return cls(
            id=id,
            clinic_id=clinic_id,
            name=_text(name, "name", MAX_NAME),
            kind=kind,
            hours=check_weekly(hours, "hours"),
            breaks=check_weekly(breaks, "breaks"),
            exceptions=check_exceptions(exceptions),
            created_at=at,
        )

    def rename(self, name: str) -> bool:
        """Change the name; True when it changed.

        Raises:
            ValidationError: blank or over-long (field ``name``).
        """
        name = _text(name, "name", MAX_NAME)
        changed, self.name = name != self.name, name
        return changed

    def change_kind(self, kind: ProfessionalKind) -> bool:
        """Change what the professional does; True when it changed."""
        changed, self.kind = kind != self.kind, kind
        return changed

    def set_hours(self, hours: Iterable[WeeklyHours]) -> bool:
        """Replace the weekly working hours; True when they changed.

        Raises:
            ValidationError: two ranges of one weekday overlap (field ``hours[i]``).
        """
        checked = check_weekly(hours, "hours")
        changed, self.hours = checked != self.hours, checked
        return changed

    def set_breaks(self, breaks: Iterable[WeeklyHours]) -> bool:
        """Replace the weekly breaks; True when they changed.

        Raises:
            ValidationError: two breaks of one weekday overlap (field ``breaks[i]``).
        """
        checked = check_weekly(breaks, "breaks")
        changed, self.breaks = checked != self.breaks, checked
        return changed

    def set_exceptions(self, exceptions: Iterable[DateException]) -> bool:
        """Replace the date exceptions; True when they changed.

        Raises:
            ValidationError: two exceptions for one date (field ``exceptions[i]``).
        """
        checked = check_exceptions(exceptions)
        changed, self.exceptions = checked != self.exceptions, checked
        return changed

    def set_active(self, active: bool) -> bool:
        """Take appointments again (True) or no more (False); True when it changed."""
        changed, self.active = active != self.active, active
        return changed

    def exception_on(self, day: date) -> DateException | None:
        """The exception for ``day``, if any."""
        return next((e for e in self.exceptions if e.day == day), None)

    def working_ranges(self, day: date) -> list[TimeRange]:
        """The local working time on ``day``: the exception's hours when there is one, else
        the weekday's hours without its breaks. Holidays and closures are not considered
        here (see :class:`porfin_core.domain.availability.Availability`)."""
        exception = self.exception_on(day)
        if exception is not None:
            return sorted(exception.hours, key=lambda r: r.start)
        weekday = Weekday(day.isoweekday())
        spans = [(h.start, h.end) for h in self.hours if h.weekday == weekday]
        cuts = [(b.start, b.end) for b in self.breaks if b.weekday == weekday]
        return [TimeRange(start, end) for start, end in subtract(spans, cuts)]


# -- appointment types ---------------------------------------------------------------------


def _check_minutes(value: int, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"{field} must be a whole number from {low} to {high}", field=field)
    return value


def _check_price(cents: int) -> int:
    return _check_minutes(cents, "price_cents", 0, MAX_PRICE_CENTS)


def _ids(values: Iterable[str], field: str) -> list[str]:
    found: list[str] = []
    for i, value in enumerate(values):
        if not value.strip():
            raise ValidationError(f"{field} holds an empty id", field=f"{field}[{i}]")
        if value not in found:
            found.append(value)
    return found


@attrs.define(kw_only=True)
class AppointmentType:
    """Something a patient can book: a cleaning, an evaluation, a root canal session...

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        name: Name shown to staff and patients ("Limpeza").
        duration_minutes: How long the appointment lasts (5 to 720).
        price_cents: Price in centavos (BRL); 0 when free or not told.
        buffer_before_minutes: Time the professional needs before it (preparing the room),
            kept free of other appointments and external events (0 to 240).
        buffer_after_minutes: Time needed after it (cleaning, notes), likewise.
        professional_ids: Who performs it; empty: every professional of the clinic.
        active: False once it can no longer be booked (kept for history).
        created_at: When it was added.
    """

    id: str
    clinic_id: str
    name: str
    duration_minutes: int
    price_cents: int = 0
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    professional_ids: list[str] = attrs.field(factory=list)
    active: bool = True
    created_at: datetime

    @classmethod
    def create(
        cls,
        *,
        id: str,
        clinic_id: str,
        name: str,
        duration_minutes: int,
        price_cents: int = 0,
        buffer_before_minutes: int = 0,
        buffer_after_minutes: int = 0,
        professional_ids: Iterable[str] = (),
        at: datetime,
    ) -> AppointmentType:
        """A new, active appointment type.

        Raises:
            ValidationError: a bad name (``name``), duration (``duration_minutes``), price
                (``price_cents``), buffer (``buffer_before_minutes``,
                ``buffer_after_minutes``) or an empty professional id
                (``professional_ids[i]``).
        """
        kind = cls(
            id=id,
            clinic_id=clinic_id,
            name=_text(name, "name", MAX_NAME),
            duration_minutes=MIN_DURATION_MINUTES,
            created_at=at,
        )
        kind.set_duration(duration_minutes)
        kind.set_price(price_cents)
        kind.set_buffers(buffer_before_minutes, buffer_after_minutes)
        kind.set_professionals(professional_ids)
        return kind

    @property
    def duration(self) -> timedelta:
        """How long the appointment lasts."""
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_before(self) -> timedelta:
        """Free time kept before the appointment."""
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        """Free time kept after the appointment."""
        return timedelta(minutes=self.buffer_after_minutes)

    def performed_by(self, professional_id: str) -> bool:
        """True when ``professional_id`` performs this type (every professional does when
        none is named)."""
        return not self.professional_ids or professional_id in self.professional_ids

    def rename(self, name: str) -> bool:
        """Change the name; True when it changed.

        Raises:
            ValidationError: blank or over-long (field ``name``).
        """
        name = _text(name, "name", MAX_NAME)
        changed, self.name = name != self.name, name
        return changed

    def set_duration(self, minutes: int) -> bool:
        """Change the duration (existing appointments keep theirs); True when it changed.

        Raises:
            ValidationError: not a whole number of minutes from 5 to 720.
        """
        minutes = _check_minutes(
            minutes, "duration_minutes", MIN_DURATION_MINUTES, MAX_DURATION_MINUTES
        )
        changed, self.duration_minutes = minutes != self.duration_minutes, minutes
        return changed

    def set_price(self, cents: int) -> bool:
        """Change the price (centavos); True when it changed.

        Raises:
            ValidationError: negative, fractional or above R$ 1,000,000.00.
        """
        cents = _check_price(cents)
        changed, self.price_cents = cents != self.price_cents, cents
        return changed

    def set_buffers(self, before_minutes: int, after_minutes: int) -> bool:
        """Change the buffers (existing appointments keep theirs); True when they changed.

        Raises:
            ValidationError: not a whole number of minutes from 0 to 240.
        """
        before = _check_minutes(before_minutes, "buffer_before_minutes", 0, MAX_BUFFER_MINUTES)
        after = _check_minutes(after_minutes, "buffer_after_minutes", 0, MAX_BUFFER_MINUTES)
        changed = (before, after) != (self.buffer_before_minutes, self.buffer_after_minutes)
        self.buffer_before_minutes, self.buffer_after_minutes = before, after
        return changed

    def set_professionals(self, professional_ids: Iterable[str]) -> bool:
        """Change who performs it (empty: everyone); True when it changed.

        Raises:
            ValidationError: an empty id (field ``professional_ids[i]``).
        """
        ids = _ids(professional_ids, "professional_ids")
        changed, self.professional_ids = ids != self.professional_ids, ids
        return changed

    def set_active(self, active: bool) -> bool:
        """Allow booking it again (True) or no more (False); True when it changed."""
        changed, self.active = active != self.active, active
        return changed


# -- clinic closures -------------------------------------------------------------------------


@attrs.define(kw_only=True)
class Closure:
    """A time the whole clinic is closed beyond its professionals' hours and the holidays: a
    collective vacation, a bridge day, a power cut, a training afternoon.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        start: When the closure starts (included).
        end: When it ends (excluded).
        reason: Why (shown to staff; the AI may tell patients).
        all_day: True when it was given as whole local dates (``start`` and ``end`` are then
            local midnights).
        created_at: When it was added.
    """

    id: str
    clinic_id: str
    start: datetime
    end: datetime
    reason: str
    all_day: bool = False
    created_at: datetime

    @classmethod
    def for_period(
        cls, *, id: str, clinic_id: str, start: datetime, end: datetime, reason: str, at: datetime
    ) -> Closure:
        """A closure between two instants.

        Raises:
            ValidationError: naive datetimes, ``end`` not after ``start``, longer than a year
                (field ``end``), or a blank or over-long reason (``reason``).
        """
        interval = Interval(start, end)
        if interval.end - interval.start > MAX_CLOSURE:
            raise ValidationError("a closure lasts at most a year", field="end")
        return cls(
            id=id,
            clinic_id=clinic_id,
            start=start,
            end=end,
            reason=_text(reason, "reason", MAX_REASON),
            created_at=at,
        )

    @classmethod
    def for_days(
        cls,
        *,
        id: str,
        clinic_id: str,
        first_day: date,
        last_day: date,
        zone: tzinfo,
        reason: str,
        at: datetime,
    ) -> Closure:
        """A closure of whole local dates, ``first_day`` to ``last_day`` included.

        Raises:
            ValidationError: ``last_day`` before ``first_day`` or more than a year later
                (field ``last_day``), or a blank or over-long reason (``reason``).
        """
        if last_day < first_day:
            raise ValidationError("last_day is before first_day", field="last_day")
        if (last_day - first_day).days >= MAX_CLOSURE.days:
            raise ValidationError("a closure lasts at most a year", field="last_day")
        return cls(
            id=id,
            clinic_id=clinic_id,
            start=datetime.combine(first_day, time(), tzinfo=zone),
            end=datetime.combine(last_day + timedelta(days=1), time(), tzinfo=zone),
            reason=_text(reason, "reason", MAX_REASON),
            all_day=True,
            created_at=at,
        )

    @property
    def interval(self) -> Interval:
        """The time the clinic is closed."""
        return Interval(self.start, self.end)


# -- appointments ----------------------------------------------------------------------------


class AppointmentStatus(enum.StrEnum):
    """Where an appointment stands: ``requested`` -> ``confirmed`` -> ``attended`` |
    ``no_show`` | ``cancelled``. The last three are final."""

    REQUESTED = "requested"
    CONFIRMED = "confirmed"
    ATTENDED = "attended"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """True for statuses nothing follows (attended, no-show, cancelled)."""
        return self in _FINAL


_FINAL = frozenset(
    {AppointmentStatus.ATTENDED, AppointmentStatus.NO_SHOW, AppointmentStatus.CANCELLED}
)


class AppointmentSource(enum.StrEnum):
    """Who booked: the AI receptionist, staff, or the patient themselves."""

    AI = "ai"
    STAFF = "staff"
    PATIENT = "patient"


@attrs.frozen(kw_only=True)
class AppointmentChange:
    """One entry of an appointment's history.

    Attributes:
        at: When it happened.
        action: ``booked``, ``confirmed``, ``rescheduled``, ``cancelled``, ``attended`` or
            ``no_show``.
        status: The status after the change.
        by: Who made it, if known.
        reason: Why (cancellations), if given.
        previous_start: Where a rescheduled appointment was before.
        previous_end: Likewise.
    """

    at: datetime
    action: str
    status: AppointmentStatus
    by: str | None = None
    reason: str | None = None
    previous_start: datetime | None = None
    previous_end: datetime | None = None


@attrs.define(kw_only=True)
class Appointment(EventRecorder):
    """A patient's appointment with a professional.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        customer_id: The patient.
        professional_id: Who attends them (fixed: another professional is another
            appointment).
        type_id: What was booked.
        start: When it starts (timezone-aware).
        end: When it ends.
        buffer_before_minutes: The type's buffer when booked, kept free before ``start``.
        buffer_after_minutes: The type's buffer when booked, kept free after ``end``.
        status: Where it stands (see :class:`AppointmentStatus`).
        source: Who booked it.
        notes: Free text for staff.
        chat_id: The conversation it was booked in, if any.
        cancel_reason: Why it was cancelled.
        deposit_charge_id: The charge whose payment secured it (a deposit), once paid.
        deposit_paid_at: When that deposit was paid.
        history: Every change, oldest first (reschedules keep the previous times).
        created_at: When it was booked.
        updated_at: When it last changed.
    """

    id: str
    clinic_id: str
    customer_id: str
    professional_id: str
    type_id: str
    start: datetime
    end: datetime
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    status: AppointmentStatus = AppointmentStatus.REQUESTED
    source: AppointmentSource = AppointmentSource.STAFF
    notes: str = ""
    chat_id: str | None = None
    cancel_reason: str | None = None
    deposit_charge_id: str | None = None
    deposit_paid_at: datetime | None = None
    history: list[AppointmentChange] = attrs.field(factory=list)
    created_at: datetime
    updated_at: datetime

    @classmethod
    def book(
        cls,
        *,
        id: str,
        clinic_id: str,
        customer_id: str,
        professional_id: str,
        appointment_type: AppointmentType,
        start: datetime,
        source: AppointmentSource,
        at: datetime,
        notes: str = "",
        chat_id: str | None = None,
        by: str | None = None,
    ) -> Appointment:
        """A new appointment (``requested``) of ``appointment_type``: it lasts the type's
        duration and keeps its buffers. Records ``appointment.booked``.

        Raises:
            ValidationError: a naive ``start`` (field ``start``), over-long notes
                (``notes``).
        """
        _aware(start, "start")
        appointment = cls(
            id=id,
            clinic_id=clinic_id,
            customer_id=customer_id,
            professional_id=professional_id,
            type_id=appointment_type.id,
            start=start,
            end=start + appointment_type.duration,
            buffer_before_minutes=appointment_type.buffer_before_minutes,
            buffer_after_minutes=appointment_type.buffer_after_minutes,
            source=source,
            notes=_text(notes, "notes", MAX_NOTES, blank=True, lines=True),
            chat_id=chat_id,
            created_at=at,
            updated_at=at,
        )
        appointment._change("booked", at, by)
        appointment.record(
            appointment._event(
                AppointmentBooked, at, by, type_id=appointment.type_id, source=source.value
            )
        )
        return appointment

    @property
    def interval(self) -> Interval:
        """The appointment itself, without buffers."""
        return Interval(self.start, self.end)

    @property
    def occupied(self) -> Interval:
        """The professional's time it takes: the appointment and its buffers."""
        return Interval(
            self.start - timedelta(minutes=self.buffer_before_minutes),
            self.end + timedelta(minutes=self.buffer_after_minutes),
        )

    @property
    def takes_time(self) -> bool:
        """True unless cancelled: a cancelled appointment frees its time."""
        return self.status is not AppointmentStatus.CANCELLED

    # -- transitions ---------------------------------------------------------------------

    def confirm(self, now: datetime, by: str | None = None) -> bool:
        """The patient will come. Confirming a confirmed appointment changes nothing
        (False); a patient tapping "Confirmar" twice is not an error.

        Raises:
            InvalidStateTransition: attended, no-show or cancelled.
        """
        if self.status is AppointmentStatus.CONFIRMED:
            return False
        self._require_open("confirm")
        self.status = AppointmentStatus.CONFIRMED
        self._change("confirmed", now, by)
        self.record(self._event(AppointmentConfirmed, now, by))
        return True

    def record_deposit(self, charge_id: str, paid_at: datetime, by: str | None) -> bool:
        """The deposit (charge ``charge_id``) was paid; False when it was recorded already.
        A deposit is recorded whatever the appointment's status: the money arrived."""
        if self.deposit_charge_id == charge_id:
            return False
        self.deposit_charge_id = charge_id
        self.deposit_paid_at = paid_at
        self._change("deposit_paid", paid_at, by)
        return True

    def cancel(self, reason: str, now: datetime, by: str | None = None) -> None:
        """Cancel: the time is free again. Final.

        Raises:
            InvalidStateTransition: already attended, no-show or cancelled.
            ValidationError: a reason longer than 200 characters (field ``reason``).
        """
        reason = _text(reason, "reason", MAX_REASON, blank=True)
        self._require_open("cancel")
        self.status = AppointmentStatus.CANCELLED
        self.cancel_reason = reason or None
        self._change("cancelled", now, by, reason=reason or None)
        self.record(self._event(AppointmentCancelled, now, by, reason=reason))

    def reschedule(
        self, new_start: datetime, new_end: datetime, now: datetime, by: str | None = None
    ) -> bool:
        """Move to ``new_start``-``new_end``; the appointment waits for confirmation again
        (``requested``). The previous times stay in the history. Moving to the same times
        changes nothing (False).

        Raises:
            InvalidStateTransition: attended, no-show or cancelled.
            ValidationError: naive datetimes (``start``), ``new_end`` not after ``new_start``
                or longer than 12 hours (``end``).
        """
        _aware(new_start, "start")
        _aware(new_end, "end")
        if new_end <= new_start:
            raise ValidationError("end must be after start", field="end")
        if new_end - new_start > timedelta(minutes=MAX_DURATION_MINUTES):
            raise ValidationError("an appointment lasts at most 12 hours", field="end")
        if (new_start, new_end) == (self.start, self.end):
            return False
        self._require_open("reschedule")
        previous_start, previous_end = self.start, self.end
        self.start, self.end = new_start, new_end
        self.status = AppointmentStatus.REQUESTED
        self._change(
            "rescheduled", now, by, previous_start=previous_start, previous_end=previous_end
        )
        self.record(
            self._event(
                AppointmentRescheduled,
                now,
                by,
                previous_start=previous_start,
                previous_end=previous_end,
            )
        )
        return True

    def mark_attended(self, now: datetime, by: str | None = None) -> None:
        """The patient came. Final. Allowed from two hours before the start (early
        check-in).

        Raises:
            InvalidStateTransition: final already, or more than two hours before the start.
        """
        self._require_open("mark attended")
        if now < self.start - EARLY_ARRIVAL:
            raise InvalidStateTransition(
                "an appointment cannot be attended this long before it starts",
                appointment_id=self.id,
            )
        self.status = AppointmentStatus.ATTENDED
        self._change("attended", now, by)
        self.record(self._event(AppointmentAttended, now, by))

    def mark_no_show(self, now: datetime, by: str | None = None) -> None:
        """The patient did not come. Final. Only once the appointment has started.

        Raises:
            InvalidStateTransition: final already, or before the start.
        """
        self._require_open("mark no-show")
        if now < self.start:
            raise InvalidStateTransition(
                "a patient cannot miss an appointment that has not started",
                appointment_id=self.id,
            )
        self.status = AppointmentStatus.NO_SHOW
        self._change("no_show", now, by)
        self.record(self._event(AppointmentNoShow, now, by))

    def _require_open(self, action: str) -> None:
        if self.status.final:
            raise InvalidStateTransition(
                f"cannot {action} an appointment that is {self.status.value}",
                appointment_id=self.id,
                status=self.status.value,
            )

    def _change(
        self,
        action: str,
        now: datetime,
        by: str | None,
        *,
        reason: str | None = None,
        previous_start: datetime | None = None,
        previous_end: datetime | None = None,
    ) -> None:
        self.updated_at = now
        self.history.append(
            AppointmentChange(
                at=now,
                action=action,
                status=self.status,
                by=by,
                reason=reason,
                previous_start=previous_start,
                previous_end=previous_end,
            )
        )

    def _event(self, cls: type[E], now: datetime, by: str | None, **extra: Any) -> E:
        return cls(
            clinic_id=self.clinic_id,
            occurred_at=now,
            appointment_id=self.id,
            customer_id=self.customer_id,
            professional_id=self.professional_id,
            start=self.start,
            end=self.end,
            changed_by=by,
            **extra,
        )


# -- waitlist --------------------------------------------------------------------------------


class WaitlistStatus(enum.StrEnum):
    """``waiting`` for a slot; ``offered`` one (waiting for the answer); ``booked``; or
    ``removed`` from the list."""

    WAITING = "waiting"
    OFFERED = "offered"
    BOOKED = "booked"
    REMOVED = "removed"


@attrs.define(kw_only=True)
class WaitlistEntry(EventRecorder):
    """A patient waiting for an earlier (or any) slot of an appointment type.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        customer_id: The patient.
        type_id: What they want to book.
        professional_id: Only with this professional; None: anyone who performs the type.
        periods: Parts of the day that suit them; empty: any.
        weekdays: Weekdays that suit them; empty: any.
        notes: Free text for staff.
        since: When they joined (the list is served in this order).
        status: Where the entry stands.
        offered_slot: The slot offered to them (status ``offered``).
        offered_at: When it was offered.
        updated_at: When the entry last changed.
    """

    id: str
    clinic_id: str
    customer_id: str
    type_id: str
    professional_id: str | None = None
    periods: list[DayPeriod] = attrs.field(factory=list)
    weekdays: list[Weekday] = attrs.field(factory=list)
    notes: str = ""
    since: datetime
    status: WaitlistStatus = WaitlistStatus.WAITING
    offered_slot: Slot | None = None
    offered_at: datetime | None = None
    updated_at: datetime

    @classmethod
    def join(
        cls,
        *,
        id: str,
        clinic_id: str,
        customer_id: str,
        type_id: str,
        professional_id: str | None = None,
        periods: Iterable[DayPeriod] = (),
        weekdays: Iterable[Weekday] = (),
        notes: str = "",
        at: datetime,
    ) -> WaitlistEntry:
        """A new entry, waiting.

        Raises:
            ValidationError: over-long notes (field ``notes``).
        """
        return cls(
            id=id,
            clinic_id=clinic_id,
            customer_id=customer_id,
            type_id=type_id,
            professional_id=professional_id,
            periods=sorted(set(periods), key=list(DayPeriod).index),
            weekdays=sorted(set(weekdays)),
            notes=_text(notes, "notes", MAX_NOTES, blank=True, lines=True),
            since=at,
            updated_at=at,
        )

    @property
    def open(self) -> bool:
        """True while waiting or holding an offer."""
        return self.status in (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)

    def wants(self, type_id: str, slot: Slot, zone: tzinfo) -> bool:
        """True when the entry is waiting and a slot of ``type_id`` suits it: the type, the
        professional (if one was asked), the weekday and part of the day where the slot
        starts (in ``zone``, the clinic's)."""
        if self.status is not WaitlistStatus.WAITING or type_id != self.type_id:
            return False
        if self.professional_id is not None and slot.professional_id != self.professional_id:
            return False
        local = slot.start.astimezone(zone)
        if self.weekdays and Weekday(local.isoweekday()) not in self.weekdays:
            return False
        return not self.periods or DayPeriod.of(local.time()) in self.periods

    def offer(self, slot: Slot, now: datetime) -> None:
        """Offer ``slot`` to the patient: the entry holds it until they answer. Records
        ``waitlist.slot_offered``.

        Raises:
            InvalidStateTransition: not waiting.
        """
        if self.status is not WaitlistStatus.WAITING:
            raise InvalidStateTransition(
                f"cannot offer a slot to an entry that is {self.status.value}", entry_id=self.id
            )
        self.status = WaitlistStatus.OFFERED
        self.offered_slot, self.offered_at, self.updated_at = slot, now, now
        self.record(
            WaitlistSlotOffered(
                clinic_id=self.clinic_id,
                occurred_at=now,
                entry_id=self.id,
                customer_id=self.customer_id,
                type_id=self.type_id,
                professional_id=slot.professional_id,
                start=slot.start,
                end=slot.end,
            )
        )

    def decline(self, now: datetime) -> None:
        """The offer was turned down or expired: waiting again, in the same place.

        Raises:
            InvalidStateTransition: no offer is pending.
        """
        if self.status is not WaitlistStatus.OFFERED:
            raise InvalidStateTransition("no offer is pending", entry_id=self.id)
        self.status = WaitlistStatus.WAITING
        self.offered_slot, self.offered_at, self.updated_at = None, None, now

    def mark_booked(self, now: datetime) -> None:
        """The patient got an appointment: the entry is done.

        Raises:
            InvalidStateTransition: booked or removed already.
        """
        if not self.open:
            raise InvalidStateTransition(
                f"the entry is {self.status.value} already", entry_id=self.id
            )
        self.status, self.updated_at = WaitlistStatus.BOOKED, now

    def remove(self, now: datetime) -> None:
        """Take the patient off the list.

        Raises:
            InvalidStateTransition: booked or removed already.
        """
        if not self.open:
            raise InvalidStateTransition(
                f"the entry is {self.status.value} already", entry_id=self.id
            )
        self.status, self.updated_at = WaitlistStatus.REMOVED, now
        self.offered_slot = None


def first_waiting(
    entries: Sequence[WaitlistEntry], type_id: str, slot: Slot, zone: tzinfo, *, skip: str = ""
) -> WaitlistEntry | None:
    """The entry first in line (earliest ``since``, then id) that wants ``slot``, leaving out
    customer ``skip`` (the patient who just gave the slot up)."""
    ordered = sorted(entries, key=lambda e: (e.since, e.id))
    return next(
        (e for e in ordered if e.customer_id != skip and e.wants(type_id, slot, zone)), None
    )
