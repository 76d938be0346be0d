"""Builders for scheduling entities shared by the unit and contract tests."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from porfin_core.domain.clinic import Weekday
from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentSource,
    AppointmentType,
    Closure,
    DateException,
    Professional,
    ProfessionalKind,
    WaitlistEntry,
    WeeklyHours,
)

SAO_PAULO = ZoneInfo("America/Sao_Paulo")


def weekdays_hours(
    start: time = time(8), end: time = time(18), days: Iterable[int] = range(1, 6)
) -> list[WeeklyHours]:
    """The same hours every given weekday (Monday to Friday by default)."""
    return [WeeklyHours(Weekday(day), start, end) for day in days]


def lunch(days: Iterable[int] = range(1, 6)) -> list[WeeklyHours]:
    """A 12:00-13:00 break on the given weekdays."""
    return [WeeklyHours(Weekday(day), time(12), time(13)) for day in days]


def professional(
    at: datetime,
    professional_id: str = "prof1",
    clinic_id: str = "clinic1",
    name: str = "Dra. Ana Souza",
    hours: Iterable[WeeklyHours] | None = None,
    breaks: Iterable[WeeklyHours] = (),
    exceptions: Iterable[DateException] = (),
) -> Professional:
    return Professional.create(
        id=professional_id,
        clinic_id=clinic_id,
        name=name,
        kind=ProfessionalKind.DENTISTA,
        hours=weekdays_hours() if hours is None else hours,
        breaks=breaks,
        exceptions=exceptions,
        at=at,
    )


def appointment_type(
    at: datetime,
    type_id: str = "type1",
    clinic_id: str = "clinic1",
    name: str = "Limpeza",
    minutes: int = 30,
    before: int = 0,
    after: int = 0,
    professional_ids: Iterable[str] = (),
    price_cents: int = 15000,
) -> AppointmentType:
    return AppointmentType.create(
        id=type_id,
        clinic_id=clinic_id,
        name=name,
        duration_minutes=minutes,
        price_cents=price_cents,
        buffer_before_minutes=before,
        buffer_after_minutes=after,
        professional_ids=professional_ids,
        at=at,
    )


def appointment(
    at: datetime,
    start: datetime,
    appointment_id: str = "appt1",
    clinic_id: str = "clinic1",
    customer_id: str = "cust1",
    professional_id: str = "prof1",
    kind: AppointmentType | None = None,
) -> Appointment:
    booked = Appointment.book(
        id=appointment_id,
        clinic_id=clinic_id,
        customer_id=customer_id,
        professional_id=professional_id,
        appointment_type=kind or appointment_type(at, clinic_id=clinic_id),
        start=start,
        source=AppointmentSource.STAFF,
        at=at,
    )
    booked.pull_events()
    return booked


def closure(
    at: datetime,
    first: date,
    last: date | None = None,
    closure_id: str = "closure1",
    clinic_id: str = "clinic1",
) -> Closure:
    return Closure.for_days(
        id=closure_id,
        clinic_id=clinic_id,
        first_day=first,
        last_day=last or first,
        zone=SAO_PAULO,
        reason="Recesso",
        at=at,
    )


def waitlist_entry(
    at: datetime,
    entry_id: str = "wait1",
    clinic_id: str = "clinic1",
    customer_id: str = "cust2",
    type_id: str = "type1",
    **preferences,
) -> WaitlistEntry:
    return WaitlistEntry.join(
        id=entry_id,
        clinic_id=clinic_id,
        customer_id=customer_id,
        type_id=type_id,
        at=at,
        **preferences,
    )


def local(day: date, hour: int, minute: int = 0, zone: ZoneInfo = SAO_PAULO) -> datetime:
    """A local wall-clock time as an aware datetime."""
    return datetime.combine(day, time(hour, minute), tzinfo=zone)


def days_after(day: date, n: int) -> date:
    return day + timedelta(days=n)
