"""What the scheduling use cases share: reading commands' local times, gathering the facts of
an agenda, and offering freed slots to the waitlist."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import TypeVar

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.availability import Availability, day_bounds, nearest
from porfin_core.domain.clinic import Clinic, Weekday
from porfin_core.domain.scheduling import (
    MAX_REASON,
    MAX_SPAN,
    Appointment,
    AppointmentSource,
    AppointmentType,
    DateException,
    DayPeriod,
    Interval,
    Professional,
    ProfessionalKind,
    Slot,
    TimeRange,
    WaitlistEntry,
    WaitlistStatus,
    WeeklyHours,
    first_waiting,
)
from porfin_core.errors import NotFound, PorfinError, ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.holidays import HolidayCalendar
from porfin_core.ports.scheduling import AppointmentQuery, ExternalBusyTimes
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact

E = TypeVar("E", bound=enum.Enum)

_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")

ALTERNATIVE_DAYS = 14
"""How many days after the asked one a refused booking looks for alternatives."""


# -- commands' shapes ---------------------------------------------------------------------------


@attrs.frozen
class WorkingInterval:
    """A weekly range of local time as staff write it.

    Attributes:
        weekday: ISO weekday, 1 (Monday) to 7 (Sunday).
        start: Local time, ``HH:MM`` (24 h).
        end: Local time, ``HH:MM``, after ``start``.
    """

    weekday: int
    start: str
    end: str


@attrs.frozen
class TimeSpan:
    """A range of local time on some date, ``HH:MM`` to ``HH:MM``."""

    start: str
    end: str


@attrs.frozen
class DateHours:
    """A date with other working hours than usual.

    Attributes:
        day: The local date.
        hours: The working time that day; empty: a day off.
        reason: Why (vacation, course...), may be empty.
    """

    day: date
    hours: Sequence[TimeSpan] = ()
    reason: str = ""


def clock_time(value: str, field: str) -> time:
    """``HH:MM`` (00:00 to 23:59) as a time.

    Raises:
        ValidationError: any other text (field ``field``).
    """
    match = _HH_MM.fullmatch(value)
    if match is None:
        raise ValidationError("a time must be HH:MM, from 00:00 to 23:59", field=field)
    return time(int(match[1]), int(match[2]))


def _weekday(value: int, field: str) -> Weekday:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 7:
        raise ValidationError("weekday must be 1 (Monday) to 7 (Sunday)", field=field)
    return Weekday(value)


def _range(start: str, end: str, field: str) -> TimeRange:
    opens, closes = clock_time(start, f"{field}.start"), clock_time(end, f"{field}.end")
    if closes <= opens:
        raise ValidationError("end must be after start", field=f"{field}.end")
    return TimeRange(opens, closes)


def weekly_hours(intervals: Sequence[WorkingInterval], field: str) -> list[WeeklyHours]:
    """The domain's weekly ranges, naming the offending one in every error.

    Raises:
        ValidationError: a bad weekday or time, or an end not after its start (field
            ``<field>[i].<part>``).
    """
    hours = []
    for i, interval in enumerate(intervals):
        where = f"{field}[{i}]"
        weekday = _weekday(interval.weekday, f"{where}.weekday")
        span = _range(interval.start, interval.end, where)
        hours.append(WeeklyHours(weekday, span.start, span.end))
    return hours


def date_exceptions(items: Sequence[DateHours]) -> list[DateException]:
    """The domain's date exceptions, naming the offending one in every error.

    Raises:
        ValidationError: a bad time (``exceptions[i].hours[j].<part>``), overlapping ranges
            (``exceptions[i].hours[j]``) or an over-long reason (``exceptions[i].reason``).
    """
    found = []
    for i, item in enumerate(items):
        where = f"exceptions[{i}]"
        ranges = [_range(s.start, s.end, f"{where}.hours[{j}]") for j, s in enumerate(item.hours)]
        for j, span in enumerate(ranges):
            if any(span.overlaps(earlier) for earlier in ranges[:j]):
                raise ValidationError("ranges of one date overlap", field=f"{where}.hours[{j}]")
        reason = " ".join(item.reason.split())
        if len(reason) > MAX_REASON:
            raise ValidationError(
                f"reason is longer than {MAX_REASON} characters", field=f"{where}.reason"
            )
        found.append(DateException(item.day, tuple(sorted(ranges, key=lambda r: r.start)), reason))
    return found


def _choice(enum_type: type[E], value: str, field: str) -> E:
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValidationError(f"{field} must be one of: {allowed}", field=field) from None


def professional_kind(value: str) -> ProfessionalKind:
    """Raises: ValidationError (field ``kind``) for an unknown kind."""
    return _choice(ProfessionalKind, value, "kind")


def appointment_source(value: str) -> AppointmentSource:
    """Raises: ValidationError (field ``source``) for an unknown source."""
    return _choice(AppointmentSource, value, "source")


def day_periods(values: Iterable[str]) -> list[DayPeriod]:
    """Raises: ValidationError (field ``periods``) for an unknown period."""
    return [_choice(DayPeriod, value, "periods") for value in values]


def weekdays(values: Iterable[int]) -> list[Weekday]:
    """Raises: ValidationError (field ``weekdays[i]``) for a number outside 1 to 7."""
    return [_weekday(value, f"weekdays[{i}]") for i, value in enumerate(values)]


def aware(moment: datetime, field: str) -> None:
    """Raises: ValidationError (field ``field``) for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValidationError(f"{field} needs a time zone", field=field)


# -- reading what a booking needs --------------------------------------------------------------


class Unavailable(Exception):
    """Internal: the asked time does not fit; the use case answers ``SlotTaken`` with
    alternatives found outside the failed transaction."""


async def bookable_type(uow: UnitOfWork, clinic_id: str, type_id: str) -> AppointmentType:
    """An active appointment type of the clinic.

    Raises:
        NotFound: no such type in the clinic.
        ValidationError: the type is inactive (field ``type_id``).
    """
    kind = await uow.appointment_types.get(clinic_id, type_id)
    if not kind.active:
        raise ValidationError("this appointment type can no longer be booked", field="type_id")
    return kind


async def bookable_professional(
    uow: UnitOfWork, clinic_id: str, professional_id: str, kind: AppointmentType
) -> Professional:
    """An active professional of the clinic who performs ``kind``.

    Raises:
        NotFound: no such professional in the clinic.
        ValidationError: inactive, or not performing the type (field ``professional_id``).
    """
    professional = await uow.professionals.get(clinic_id, professional_id)
    if not professional.active:
        raise ValidationError(
            "this professional no longer takes appointments", field="professional_id"
        )
    if not kind.performed_by(professional.id):
        raise ValidationError(
            "this professional does not perform this appointment type", field="professional_id"
        )
    return professional


async def performers(uow: UnitOfWork, clinic_id: str, kind: AppointmentType) -> list[Professional]:
    """The clinic's active professionals who perform ``kind``."""
    return [
        p for p in await uow.professionals.list(clinic_id) if p.active and kind.performed_by(p.id)
    ]


async def external_busy(
    source: ExternalBusyTimes | None,
    clinic_id: str,
    professional_ids: Sequence[str],
    window: Interval,
) -> dict[str, list[Interval]]:
    """Busy time from external calendars, or nothing without a source. A calendar that
    cannot be read is left out (Porfin's own agenda still rules out double booking)."""
    if source is None or not professional_ids:
        return {}
    try:
        return await source.busy(clinic_id, professional_ids, window.start, window.end)
    except PorfinError:
        return {}


async def load_availability(
    uow: UnitOfWork,
    holidays: HolidayCalendar,
    clinic: Clinic,
    professional_ids: Iterable[str],
    window: Interval,
    *,
    external: Mapping[str, Sequence[Interval]] | None = None,
    ignore: Collection[str] = (),
    extra: Mapping[str, Sequence[Interval]] | None = None,
) -> Availability:
    """The facts of the clinic's agenda around ``window``: holidays of its state and city,
    closures, and for each professional the occupied time of their appointments that take
    time (except those in ``ignore``), plus ``external`` and ``extra`` busy time."""
    zone = clinic.zone
    days: dict[date, str] = {}
    for year in range(window.start.astimezone(zone).year, window.end.astimezone(zone).year + 1):
        days.update(await holidays.holidays(clinic.state, clinic.city, year))
    closures = [
        c.interval
        for c in await uow.closures.list(clinic.id, ends_after=window.start)
        if c.start < window.end
    ]
    busy: dict[str, list[Interval]] = {}
    for professional_id in professional_ids:
        appointments = await uow.appointments.list(
            AppointmentQuery(
                clinic_id=clinic.id,
                professional_id=professional_id,
                starts_from=window.start - MAX_SPAN,
                starts_before=window.end + MAX_SPAN,
            )
        )
        busy[professional_id] = [
            a.occupied for a in appointments if a.takes_time and a.id not in ignore
        ]
        busy[professional_id] += (external or {}).get(professional_id, [])
        busy[professional_id] += (extra or {}).get(professional_id, [])
    return Availability(zone=zone, holidays=frozenset(days), closures=closures, busy=busy)


async def alternatives_near(
    uow_factory: UnitOfWorkFactory,
    holidays: HolidayCalendar,
    busy_times: ExternalBusyTimes | None,
    clock: Clock,
    *,
    clinic_id: str,
    professional_id: str,
    type_id: str,
    asked: datetime,
    ignore: Collection[str] = (),
) -> tuple[Slot, ...]:
    """The three free slots of the professional nearest to ``asked``, from the asked date on
    (never in the past), within :data:`ALTERNATIVE_DAYS` days."""
    async with uow_factory(read_only=True) as uow:
        clinic = await uow.clinics.get(clinic_id)
        kind = await uow.appointment_types.get(clinic_id, type_id)
        professional = await uow.professionals.get(clinic_id, professional_id)
        now = clock.now()
        zone = clinic.zone
        first = max(asked.astimezone(zone).date(), now.astimezone(zone).date())
        last = first + timedelta(days=ALTERNATIVE_DAYS - 1)
        window = Interval(day_bounds(first, zone).start, day_bounds(last, zone).end)
        external = await external_busy(busy_times, clinic_id, [professional_id], window)
        availability = await load_availability(
            uow, holidays, clinic, [professional_id], window, external=external, ignore=ignore
        )
    slots = availability.slots(
        [professional],
        first_day=first,
        last_day=last,
        duration=kind.duration,
        buffer_before=kind.buffer_before,
        buffer_after=kind.buffer_after,
        not_before=now,
        limit=200,
    )
    return nearest(slots, asked)


# -- after a slot frees up ---------------------------------------------------------------------


async def offer_freed_slot(
    uow: UnitOfWork,
    holidays: HolidayCalendar,
    clinic: Clinic,
    freed: Appointment,
    slot: Slot,
    now: datetime,
    *,
    extra: Mapping[str, Sequence[Interval]] | None = None,
) -> WaitlistEntry | None:
    """Offer ``slot``, which ``freed`` gave up (cancelled or moved), to the first waiting
    entry of its type that wants it, unless it is past or no longer fits the agenda (``extra``:
    time taken by this unit of work's own, uncommitted writes). Returns the entry, now
    ``offered``, saved with its ``waitlist.slot_offered`` event recorded."""
    if slot.start <= now:
        return None
    entries = await uow.waitlist.list(
        clinic.id, type_id=freed.type_id, status=WaitlistStatus.WAITING
    )
    entry = first_waiting(entries, freed.type_id, slot, clinic.zone, skip=freed.customer_id)
    if entry is None:
        return None
    try:
        professional = await uow.professionals.get(clinic.id, slot.professional_id)
    except NotFound:
        return None
    if not professional.active:
        return None
    availability = await load_availability(
        uow,
        holidays,
        clinic,
        [professional.id],
        Interval(slot.start, slot.end),
        ignore={freed.id},
        extra=extra,
    )
    fits = availability.fits(
        professional,
        slot.start,
        slot.end,
        buffer_before=timedelta(minutes=freed.buffer_before_minutes),
        buffer_after=timedelta(minutes=freed.buffer_after_minutes),
    )
    if not fits:
        return None
    entry.offer(slot, now)
    await uow.waitlist.save(entry)
    uow.record(entry.pull_events())
    return entry


# -- simple transitions --------------------------------------------------------------------------


async def change_appointment(
    uow_factory: UnitOfWorkFactory,
    clock: Clock,
    *,
    clinic_id: str,
    appointment_id: str,
    actor: Actor | None,
    action: AuditAction,
    apply: Callable[[Appointment, datetime, str], object],
) -> Appointment:
    """Apply one transition (``apply(appointment, now, actor_id)``) in a transaction, with
    its events and an audit record."""
    who = actor_of(actor)

    async def work(uow: UnitOfWork) -> Appointment:
        appointment = await uow.appointments.get(clinic_id, appointment_id)
        now = clock.now()
        apply(appointment, now, who.id)
        events = appointment.pull_events()
        if events:
            await uow.appointments.save(appointment)
            uow.record(events)
        await uow.audit.append(appointment_audit(who, appointment, now, action))
        await uow.commit()
        return appointment

    return await transact(uow_factory, work)


def appointment_audit(
    actor: Actor,
    appointment: Appointment,
    at: datetime,
    action: AuditAction,
    details: Mapping[str, str] | None = None,
) -> AuditEntry:
    """The audit record of a change to ``appointment`` (its status and times, never notes)."""
    return AuditEntry.of(
        actor,
        clinic_id=appointment.clinic_id,
        at=at,
        action=action,
        resource_type="appointment",
        resource_id=appointment.id,
        details={
            "status": appointment.status.value,
            "start": appointment.start.isoformat(),
            "professional_id": appointment.professional_id,
            **(details or {}),
        },
    )
