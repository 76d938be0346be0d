"""The agenda's request and response bodies: professionals, appointment types, closures, free
slots, appointments and the waitlist (separate from the domain entities, as in
:mod:`porfin_http.schemas`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

import msgspec

from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentChange,
    AppointmentType,
    Closure,
    DateException,
    Professional,
    Slot,
    WaitlistEntry,
    WeeklyHours,
)
from porfin_core.use_cases._scheduling import DateHours, TimeSpan, WorkingInterval
from porfin_core.use_cases.get_agenda import Agenda, AgendaColumn, AgendaEntry
from porfin_http.schemas import WEEKDAYS, AwareDatetime, ClockTime, WeekdayName

ProfessionalKindName = Literal[
    "dentista",
    "medico",
    "higienista",
    "ortodontista",
    "fisioterapeuta",
    "psicologo",
    "nutricionista",
    "fonoaudiologo",
    "esteticista",
    "outro",
]
DayPeriodName = Annotated[
    Literal["manha", "tarde", "noite"],
    msgspec.Meta(description="manhã 06:00-12:00, tarde 12:00-18:00, noite 18:00-22:00 (local)."),
]
AppointmentStatusName = Literal["requested", "confirmed", "attended", "no_show", "cancelled"]
WaitlistStatusName = Literal["waiting", "offered", "booked", "removed"]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Name = Annotated[str, msgspec.Meta(max_length=400)]
Reason = Annotated[str, msgspec.Meta(max_length=400)]
Notes = Annotated[str, msgspec.Meta(max_length=4000)]
Minutes = Annotated[int, msgspec.Meta(ge=0, le=720)]
Cents = Annotated[int, msgspec.Meta(ge=0, le=100_000_000, description="Centavos (BRL).")]


def _hhmm(moment: time) -> str:
    return moment.strftime("%H:%M")


def _utc(moment: datetime | None) -> datetime | None:
    """Appointments' instants in UTC, whichever offset they were given or stored with: every
    answer (and realtime frame) about one appointment spells its times the same way."""
    return None if moment is None else moment.astimezone(UTC)


# -- professionals -------------------------------------------------------------------------------


class WeeklyRange(msgspec.Struct, forbid_unknown_fields=True):
    """A range of local time every week on one weekday: `end` after `start`."""

    weekday: WeekdayName
    start: ClockTime
    end: ClockTime

    @classmethod
    def of(cls, hours: WeeklyHours) -> WeeklyRange:
        """Present ``hours``."""
        return cls(WEEKDAYS[hours.weekday - 1], _hhmm(hours.start), _hhmm(hours.end))  # type: ignore[arg-type]

    def command(self) -> WorkingInterval:
        """The core's shape (ISO weekday number)."""
        return WorkingInterval(WEEKDAYS.index(self.weekday) + 1, self.start, self.end)


class TimeRangeIO(msgspec.Struct, forbid_unknown_fields=True):
    """A range of local time on some date."""

    start: ClockTime
    end: ClockTime


class DateExceptionIO(msgspec.Struct, forbid_unknown_fields=True):
    """A date with other hours than usual: `hours` replace that date's hours and breaks;
    none: a day off."""

    date: date
    hours: Annotated[list[TimeRangeIO], msgspec.Meta(max_length=24)] = msgspec.field(
        default_factory=list
    )
    reason: Reason = ""

    @classmethod
    def of(cls, exception: DateException) -> DateExceptionIO:
        """Present ``exception``."""
        return cls(
            exception.day,
            [TimeRangeIO(_hhmm(r.start), _hhmm(r.end)) for r in exception.hours],
            exception.reason,
        )

    def command(self) -> DateHours:
        """The core's shape."""
        return DateHours(self.date, [TimeSpan(h.start, h.end) for h in self.hours], self.reason)


WeeklyRanges = Annotated[list[WeeklyRange], msgspec.Meta(max_length=100)]
DateExceptions = Annotated[list[DateExceptionIO], msgspec.Meta(max_length=400)]


class ProfessionalOut(msgspec.Struct):
    """A professional and when they work (local times in the clinic's time zone)."""

    id: str
    name: str
    kind: ProfessionalKindName
    hours: Annotated[list[WeeklyRange], msgspec.Meta(description="Weekly working hours.")]
    breaks: Annotated[
        list[WeeklyRange], msgspec.Meta(description="Taken out of the hours of their weekday.")
    ]
    exceptions: list[DateExceptionIO]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, professional: Professional) -> ProfessionalOut:
        """Present ``professional``."""
        return cls(
            id=professional.id,
            name=professional.name,
            kind=professional.kind.value,  # type: ignore[arg-type]
            hours=[WeeklyRange.of(h) for h in professional.hours],
            breaks=[WeeklyRange.of(b) for b in professional.breaks],
            exceptions=[DateExceptionIO.of(e) for e in professional.exceptions],
            active=professional.active,
            created_at=professional.created_at,
        )


class ProfessionalIn(msgspec.Struct, forbid_unknown_fields=True):
    """A professional to add: `name` (1-120 characters), `kind`, weekly `hours` and
    `breaks` (ranges of one weekday must not overlap), date `exceptions` (one per date)."""

    name: Name
    kind: ProfessionalKindName = "dentista"
    hours: WeeklyRanges = msgspec.field(default_factory=list)
    breaks: WeeklyRanges = msgspec.field(default_factory=list)
    exceptions: DateExceptions = msgspec.field(default_factory=list)


class ProfessionalPatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to a professional; omitted (or null) fields stay as they are. `hours`,
    `breaks` and `exceptions` are complete new lists. `active: false`: no new appointments
    (existing ones stay)."""

    name: Name | None = None
    kind: ProfessionalKindName | None = None
    hours: WeeklyRanges | None = None
    breaks: WeeklyRanges | None = None
    exceptions: DateExceptions | None = None
    active: bool | None = None


# -- appointment types ---------------------------------------------------------------------------


class AppointmentTypeOut(msgspec.Struct):
    """Something patients can book."""

    id: str
    name: str
    duration_minutes: int
    price_cents: Annotated[int, msgspec.Meta(description="Centavos (BRL).")]
    buffer_before_minutes: int
    buffer_after_minutes: int
    professional_ids: Annotated[
        list[str], msgspec.Meta(description="Who performs it; empty: every professional.")
    ]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, kind: AppointmentType) -> AppointmentTypeOut:
        """Present ``kind``."""
        return cls(
            id=kind.id,
            name=kind.name,
            duration_minutes=kind.duration_minutes,
            price_cents=kind.price_cents,
            buffer_before_minutes=kind.buffer_before_minutes,
            buffer_after_minutes=kind.buffer_after_minutes,
            professional_ids=list(kind.professional_ids),
            active=kind.active,
            created_at=kind.created_at,
        )


ProfessionalIds = Annotated[list[Id], msgspec.Meta(max_length=200)]


class AppointmentTypeIn(msgspec.Struct, forbid_unknown_fields=True):
    """An appointment type to add: `name` (1-120 characters), `duration_minutes` (5-720),
    `price_cents`, buffers kept free before and after it (0-240 minutes), and who performs
    it (`professional_ids`, the clinic's; empty: everyone)."""

    name: Name
    duration_minutes: Minutes
    price_cents: Cents = 0
    buffer_before_minutes: Minutes = 0
    buffer_after_minutes: Minutes = 0
    professional_ids: ProfessionalIds = msgspec.field(default_factory=list)


class AppointmentTypePatch(msgspec.Struct, forbid_unknown_fields=True):
    """Changes to an appointment type; omitted (or null) fields stay as they are. Booked
    appointments keep their duration and buffers. `active: false`: no new bookings."""

    name: Name | None = None
    duration_minutes: Minutes | None = None
    price_cents: Cents | None = None
    buffer_before_minutes: Minutes | None = None
    buffer_after_minutes: Minutes | None = None
    professional_ids: ProfessionalIds | None = None
    active: bool | None = None


# -- slots and appointments ----------------------------------------------------------------------


class SlotOut(msgspec.Struct):
    """A free time: an appointment with `professional_id` from `start` to `end` (the
    clinic's local offset)."""

    professional_id: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, slot: Slot) -> SlotOut:
        """Present ``slot``."""
        return cls(slot.professional_id, slot.start, slot.end)


class AppointmentChangeOut(msgspec.Struct):
    """One entry of an appointment's history."""

    at: datetime
    action: Literal[
        "booked", "confirmed", "rescheduled", "cancelled", "attended", "no_show", "deposit_paid"
    ]
    status: AppointmentStatusName
    by: str | None
    reason: str | None
    previous_start: datetime | None
    previous_end: datetime | None

    @classmethod
    def of(cls, change: AppointmentChange) -> AppointmentChangeOut:
        """Present ``change``."""
        return cls(
            at=change.at,
            action=change.action,  # type: ignore[arg-type]
            status=change.status.value,  # type: ignore[arg-type]
            by=change.by,
            reason=change.reason,
            previous_start=_utc(change.previous_start),
            previous_end=_utc(change.previous_end),
        )


class AppointmentOut(msgspec.Struct):
    """An appointment with its history (instants in UTC)."""

    id: str
    customer_id: str
    professional_id: str
    type_id: str
    start: datetime
    end: datetime
    buffer_before_minutes: int
    buffer_after_minutes: int
    status: AppointmentStatusName
    source: Literal["ai", "staff", "patient"]
    notes: str
    chat_id: str | None
    cancel_reason: str | None
    deposit_charge_id: str | None
    deposit_paid_at: datetime | None
    history: list[AppointmentChangeOut]
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, appointment: Appointment) -> AppointmentOut:
        """Present ``appointment``."""
        return cls(
            id=appointment.id,
            customer_id=appointment.customer_id,
            professional_id=appointment.professional_id,
            type_id=appointment.type_id,
            start=appointment.start.astimezone(UTC),
            end=appointment.end.astimezone(UTC),
            buffer_before_minutes=appointment.buffer_before_minutes,
            buffer_after_minutes=appointment.buffer_after_minutes,
            status=appointment.status.value,  # type: ignore[arg-type]
            source=appointment.source.value,  # type: ignore[arg-type]
            notes=appointment.notes,
            chat_id=appointment.chat_id,
            cancel_reason=appointment.cancel_reason,
            deposit_charge_id=appointment.deposit_charge_id,
            deposit_paid_at=appointment.deposit_paid_at,
            history=[AppointmentChangeOut.of(c) for c in appointment.history],
            created_at=appointment.created_at,
            updated_at=appointment.updated_at,
        )


class AppointmentIn(msgspec.Struct, forbid_unknown_fields=True):
    """An appointment to book (status `requested`): the patient, the type (its duration and
    buffers), the start and, optionally, the professional; without one, the first who
    performs the type and is free then."""

    customer_id: Id
    type_id: Id
    start: AwareDatetime
    professional_id: Id | None = None
    notes: Notes = ""
    chat_id: Id | None = None
    waitlist_entry_id: Id | None = None


class RescheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    """The new start; the appointment keeps its professional and duration."""

    start: AwareDatetime


class CancelIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the appointment is cancelled (up to 200 characters; may be empty)."""

    reason: Reason = ""


# -- closures ------------------------------------------------------------------------------------


class ClosureOut(msgspec.Struct):
    """A time the whole clinic is closed: `start` included, `end` excluded (UTC). `all_day`:
    given as whole local dates (then `start` and `end` are local midnights)."""

    id: str
    start: datetime
    end: datetime
    reason: str
    all_day: bool
    created_at: datetime

    @classmethod
    def of(cls, closure: Closure) -> ClosureOut:
        """Present ``closure``."""
        return cls(
            closure.id,
            closure.start.astimezone(UTC),
            closure.end.astimezone(UTC),
            closure.reason,
            closure.all_day,
            closure.created_at,
        )


class ClosureIn(msgspec.Struct, forbid_unknown_fields=True):
    """A closure: whole local dates (`first_day`, optional `last_day`) or two instants
    (`start`, `end`), not both; at most a year; `reason` 1-200 characters."""

    reason: Reason
    first_day: date | None = None
    last_day: date | None = None
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None


class ClosureAddedOut(msgspec.Struct):
    """The closure, and the appointments inside it that still take time: adding a closure
    never moves them; reschedule or cancel them."""

    closure: ClosureOut
    affected: list[AppointmentOut]


# -- waitlist ------------------------------------------------------------------------------------


class WaitlistEntryOut(msgspec.Struct):
    """A patient waiting for a slot of a type: `waiting`, `offered` a freed slot
    (`offered_slot`), `booked` or `removed`."""

    id: str
    customer_id: str
    type_id: str
    professional_id: str | None
    periods: list[DayPeriodName]
    weekdays: list[WeekdayName]
    notes: str
    since: datetime
    status: WaitlistStatusName
    offered_slot: SlotOut | None
    offered_at: datetime | None
    updated_at: datetime

    @classmethod
    def of(cls, entry: WaitlistEntry) -> WaitlistEntryOut:
        """Present ``entry``."""
        slot = entry.offered_slot
        return cls(
            id=entry.id,
            customer_id=entry.customer_id,
            type_id=entry.type_id,
            professional_id=entry.professional_id,
            periods=[p.value for p in entry.periods],  # type: ignore[misc]
            weekdays=[WEEKDAYS[d - 1] for d in entry.weekdays],  # type: ignore[misc]
            notes=entry.notes,
            since=entry.since,
            status=entry.status.value,  # type: ignore[arg-type]
            offered_slot=SlotOut.of(slot) if slot is not None else None,
            offered_at=entry.offered_at,
            updated_at=entry.updated_at,
        )


class WaitlistIn(msgspec.Struct, forbid_unknown_fields=True):
    """A patient to put on the waitlist for a type; optionally only with one professional,
    in some parts of the day, on some weekdays (empty: any)."""

    customer_id: Id
    type_id: Id
    professional_id: Id | None = None
    periods: Annotated[list[DayPeriodName], msgspec.Meta(max_length=3)] = msgspec.field(
        default_factory=list
    )
    weekdays: Annotated[list[WeekdayName], msgspec.Meta(max_length=7)] = msgspec.field(
        default_factory=list
    )
    notes: Notes = ""

    def weekday_numbers(self) -> list[int]:
        """ISO weekday numbers (Monday = 1)."""
        return [WEEKDAYS.index(day) + 1 for day in self.weekdays]


class FreedSlotOut(msgspec.Struct):
    """The appointment as stored, and the waitlist entry its former slot was offered to
    (null: nobody was waiting for it)."""

    appointment: AppointmentOut
    offered_to: WaitlistEntryOut | None

    @classmethod
    def of(cls, appointment: Appointment, offered: WaitlistEntry | None) -> FreedSlotOut:
        """Present the outcome of a cancellation or a reschedule."""
        return cls(
            AppointmentOut.of(appointment),
            WaitlistEntryOut.of(offered) if offered is not None else None,
        )


# -- the day's agenda ----------------------------------------------------------------------------


class AgendaAppointmentOut(msgspec.Struct):
    """An appointment of the day as the agenda shows it (times in the clinic's offset)."""

    id: str
    start: datetime
    end: datetime
    status: AppointmentStatusName
    customer_id: str
    customer_name: str
    type_id: str
    type_name: str
    source: Literal["ai", "staff", "patient"]
    chat_id: str | None

    @classmethod
    def of(cls, entry: AgendaEntry, zone: tzinfo) -> AgendaAppointmentOut:
        """Present ``entry`` in ``zone``."""
        appointment = entry.appointment
        return cls(
            id=appointment.id,
            start=appointment.start.astimezone(zone),
            end=appointment.end.astimezone(zone),
            status=appointment.status.value,  # type: ignore[arg-type]
            customer_id=appointment.customer_id,
            customer_name=entry.customer_name,
            type_id=appointment.type_id,
            type_name=entry.type_name,
            source=appointment.source.value,  # type: ignore[arg-type]
            chat_id=appointment.chat_id,
        )


class AgendaColumnOut(msgspec.Struct):
    """A professional's appointments of the day, by start."""

    professional_id: str
    professional_name: str
    kind: ProfessionalKindName
    active: bool
    appointments: list[AgendaAppointmentOut]

    @classmethod
    def of(cls, column: AgendaColumn, zone: tzinfo) -> AgendaColumnOut:
        """Present ``column`` in ``zone``."""
        professional = column.professional
        return cls(
            professional_id=professional.id,
            professional_name=professional.name,
            kind=professional.kind.value,  # type: ignore[arg-type]
            active=professional.active,
            appointments=[AgendaAppointmentOut.of(e, zone) for e in column.entries],
        )


class AgendaOut(msgspec.Struct):
    """One local date of the clinic's agenda, a column per professional."""

    date: date
    timezone: str
    professionals: list[AgendaColumnOut]

    @classmethod
    def of(cls, agenda: Agenda) -> AgendaOut:
        """Present ``agenda``."""
        zone = ZoneInfo(agenda.timezone)
        return cls(
            agenda.day, agenda.timezone, [AgendaColumnOut.of(c, zone) for c in agenda.columns]
        )
