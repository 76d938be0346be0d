"""Scheduling entities: professionals' hours, appointment types, closures, the appointment's
life cycle and the waitlist."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from porfin_core.domain.clinic import Weekday
from porfin_core.domain.events import (
    EVENT_TYPES,
    AppointmentAttended,
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentNoShow,
    AppointmentRescheduled,
    WaitlistSlotOffered,
)
from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentSource,
    AppointmentStatus,
    DateException,
    DayPeriod,
    Interval,
    Slot,
    TimeRange,
    WaitlistStatus,
    WeeklyHours,
    first_waiting,
    local_days,
)
from porfin_core.errors import InvalidStateTransition, ValidationError
from tests import scheduling_builders as sb

AT = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # Wednesday 10:00 in São Paulo
THURSDAY = date(2026, 11, 26)


def test_working_ranges_are_the_weekday_hours_without_breaks():
    ana = sb.professional(AT, breaks=sb.lunch())
    assert ana.working_ranges(THURSDAY) == [
        TimeRange(time(8), time(12)),
        TimeRange(time(13), time(18)),
    ]
    assert ana.working_ranges(date(2026, 11, 28)) == []  # Saturday: no hours


def test_a_date_exception_replaces_the_weekday_hours_and_breaks():
    off = DateException(THURSDAY, (), "Congresso")
    saturday = DateException(date(2026, 11, 28), (TimeRange(time(9), time(11)),))
    ana = sb.professional(AT, breaks=sb.lunch(), exceptions=[saturday, off])
    assert ana.exceptions == [off, saturday]  # sorted by date
    assert off.day_off
    assert ana.working_ranges(THURSDAY) == []
    assert ana.working_ranges(date(2026, 11, 28)) == [TimeRange(time(9), time(11))]


def test_overlapping_hours_and_duplicate_exceptions_are_refused():
    with pytest.raises(ValidationError) as caught:
        sb.professional(
            AT, hours=[*sb.weekdays_hours(), WeeklyHours(Weekday(3), time(17), time(19))]
        )
    assert caught.value.fields["field"] == "hours[5]"
    with pytest.raises(ValidationError) as caught:
        sb.professional(AT, exceptions=[DateException(THURSDAY), DateException(THURSDAY)])
    assert caught.value.fields["field"] == "exceptions[1]"
    with pytest.raises(ValidationError):
        TimeRange(time(10), time(9))
    with pytest.raises(ValidationError):
        DateException(THURSDAY, (TimeRange(time(9), time(11)), TimeRange(time(10), time(12))))


def test_professional_changes_say_whether_anything_changed():
    ana = sb.professional(AT)
    assert not ana.rename(" Dra.  Ana Souza ")
    assert ana.rename("Dra. Ana S. Lima") and ana.name == "Dra. Ana S. Lima"
    assert not ana.set_hours(sb.weekdays_hours())
    assert ana.set_breaks(sb.lunch())
    assert ana.set_active(False) and not ana.active
    with pytest.raises(ValidationError):
        ana.rename("  ")


def test_appointment_types_check_their_numbers():
    kind = sb.appointment_type(AT, minutes=45, before=5, after=10)
    assert (kind.duration, kind.buffer_before, kind.buffer_after) == (
        timedelta(minutes=45),
        timedelta(minutes=5),
        timedelta(minutes=10),
    )
    assert kind.performed_by("anyone")
    assert kind.set_professionals(["prof1", "prof1"]) and kind.professional_ids == ["prof1"]
    assert not kind.performed_by("prof2")
    for field, change in [
        ("duration_minutes", lambda: kind.set_duration(4)),
        ("duration_minutes", lambda: kind.set_duration(721)),
        ("price_cents", lambda: kind.set_price(-1)),
        ("buffer_after_minutes", lambda: kind.set_buffers(0, 241)),
    ]:
        with pytest.raises(ValidationError) as caught:
            change()
        assert caught.value.fields["field"] == field


def test_a_closure_of_whole_days_runs_from_local_midnight_to_midnight():
    closure = sb.closure(AT, date(2026, 12, 24), date(2026, 12, 26))
    assert closure.all_day
    assert closure.start == datetime(2026, 12, 24, 3, tzinfo=UTC)
    assert closure.end == datetime(2026, 12, 27, 3, tzinfo=UTC)
    with pytest.raises(ValidationError):
        sb.closure(AT, date(2026, 12, 24), date(2026, 12, 23))


def test_day_periods_are_decided_by_local_start():
    assert DayPeriod.of(time(6)) is DayPeriod.MANHA
    assert DayPeriod.of(time(11, 59)) is DayPeriod.MANHA
    assert DayPeriod.of(time(12)) is DayPeriod.TARDE
    assert DayPeriod.of(time(18)) is DayPeriod.NOITE
    assert DayPeriod.of(time(21, 59)) is DayPeriod.NOITE
    assert DayPeriod.of(time(22)) is None
    assert DayPeriod.of(time(5, 59)) is None
    assert DayPeriod.TARDE.bounds == TimeRange(time(12), time(18))


def test_intervals_compare_instants_and_list_the_local_days_they_touch():
    zone = ZoneInfo("America/Manaus")
    late = Interval(datetime(2026, 11, 26, 23, tzinfo=zone), datetime(2026, 11, 27, 1, tzinfo=zone))
    assert late.start.tzinfo is UTC
    assert local_days(late, zone) == [date(2026, 11, 26), date(2026, 11, 27)]
    midnight = Interval(late.start, datetime(2026, 11, 27, 0, tzinfo=zone))
    assert local_days(midnight, zone) == [date(2026, 11, 26)]  # the end is excluded
    assert not midnight.overlaps(Interval(midnight.end, midnight.end + timedelta(hours=1)))
    with pytest.raises(ValidationError):
        Interval(datetime(2026, 1, 1), datetime(2026, 1, 2))  # naive


def test_booking_records_the_event_and_keeps_the_type_buffers():
    kind = sb.appointment_type(AT, minutes=40, before=5, after=10)
    start = sb.local(THURSDAY, 9)
    appointment = sb.appointment(AT, start, kind=kind)
    assert appointment.end == start + timedelta(minutes=40)
    assert appointment.occupied == Interval(
        start - timedelta(minutes=5), start + timedelta(minutes=50)
    )
    assert appointment.status is AppointmentStatus.REQUESTED
    assert [c.action for c in appointment.history] == ["booked"]
    booked = Appointment.book(
        id="a2",
        clinic_id="clinic1",
        customer_id="cust1",
        professional_id="prof1",
        appointment_type=kind,
        start=start,
        source=AppointmentSource.AI,
        at=AT,
        by="ai",
    )
    [event] = booked.pull_events()
    assert isinstance(event, AppointmentBooked)
    assert (event.source, event.type_id, event.start, event.changed_by) == (
        "ai",
        kind.id,
        start,
        "ai",
    )


def test_the_life_cycle_records_each_change():
    start = sb.local(THURSDAY, 9)
    appointment = sb.appointment(AT, start)
    assert appointment.confirm(AT, by="patient")
    assert not appointment.confirm(AT, by="patient")  # a second tap changes nothing
    new_start = start + timedelta(days=1)
    assert appointment.reschedule(new_start, new_start + timedelta(minutes=30), AT, by="u1")
    assert appointment.status is AppointmentStatus.REQUESTED  # to be confirmed again
    assert appointment.history[-1].previous_start == start
    appointment.mark_attended(new_start, by="u1")
    events = appointment.pull_events()
    assert [type(e) for e in events] == [
        AppointmentConfirmed,
        AppointmentRescheduled,
        AppointmentAttended,
    ]
    assert [c.action for c in appointment.history] == [
        "booked",
        "confirmed",
        "rescheduled",
        "attended",
    ]
    for action in (
        lambda: appointment.cancel("", AT),
        lambda: appointment.confirm(AT),
        lambda: appointment.mark_no_show(new_start),
        lambda: appointment.reschedule(start, start + timedelta(minutes=30), AT),
    ):
        with pytest.raises(InvalidStateTransition):
            action()


def test_cancelled_and_no_show_are_final():
    start = sb.local(THURSDAY, 9)
    cancelled = sb.appointment(AT, start)
    cancelled.cancel("Paciente viajou", AT, by="u1")
    assert cancelled.cancel_reason == "Paciente viajou" and not cancelled.takes_time
    [event] = cancelled.pull_events()
    assert isinstance(event, AppointmentCancelled) and event.reason == "Paciente viajou"
    with pytest.raises(InvalidStateTransition):
        cancelled.confirm(AT)
    missed = sb.appointment(AT, start, "appt2")
    with pytest.raises(InvalidStateTransition):
        missed.mark_no_show(start - timedelta(minutes=1))  # not started yet
    missed.mark_no_show(start)
    assert isinstance(missed.pull_events()[0], AppointmentNoShow)
    with pytest.raises(InvalidStateTransition):
        missed.mark_attended(start)
    early = sb.appointment(AT, start, "appt3")
    with pytest.raises(InvalidStateTransition):
        early.mark_attended(start - timedelta(hours=3))
    early.mark_attended(start - timedelta(hours=1))  # checked in early


def test_reschedule_to_the_same_time_changes_nothing_and_naive_times_are_refused():
    start = sb.local(THURSDAY, 9)
    appointment = sb.appointment(AT, start)
    assert not appointment.reschedule(start, appointment.end, AT)
    assert appointment.pull_events() == []
    with pytest.raises(ValidationError):
        appointment.reschedule(datetime(2026, 11, 27, 9), datetime(2026, 11, 27, 10), AT)
    with pytest.raises(ValidationError):
        appointment.reschedule(start + timedelta(hours=1), start, AT)


def test_a_waitlist_entry_wants_slots_of_its_type_weekdays_and_periods():
    entry = sb.waitlist_entry(
        AT, periods=[DayPeriod.TARDE], weekdays=[Weekday.THURSDAY], professional_id="prof1"
    )
    afternoon = Slot("prof1", sb.local(THURSDAY, 14), sb.local(THURSDAY, 14, 30))
    assert entry.wants("type1", afternoon, sb.SAO_PAULO)
    assert not entry.wants("type2", afternoon, sb.SAO_PAULO)
    assert not entry.wants("type1", Slot("prof2", afternoon.start, afternoon.end), sb.SAO_PAULO)
    morning = Slot("prof1", sb.local(THURSDAY, 9), sb.local(THURSDAY, 9, 30))
    assert not entry.wants("type1", morning, sb.SAO_PAULO)
    friday = Slot("prof1", afternoon.start + timedelta(days=1), afternoon.end + timedelta(days=1))
    assert not entry.wants("type1", friday, sb.SAO_PAULO)


def test_a_waitlist_offer_holds_the_slot_until_declined_or_booked():
    entry = sb.waitlist_entry(AT)
    slot = Slot("prof1", sb.local(THURSDAY, 14), sb.local(THURSDAY, 14, 30))
    entry.offer(slot, AT)
    assert entry.status is WaitlistStatus.OFFERED and entry.offered_slot == slot
    [event] = entry.pull_events()
    assert isinstance(event, WaitlistSlotOffered) and event.start == slot.start
    assert not entry.wants("type1", slot, sb.SAO_PAULO)
    with pytest.raises(InvalidStateTransition):
        entry.offer(slot, AT)
    entry.decline(AT)
    assert entry.status is WaitlistStatus.WAITING and entry.offered_slot is None
    entry.mark_booked(AT)
    with pytest.raises(InvalidStateTransition):
        entry.remove(AT)


def test_the_first_in_line_gets_the_slot_but_not_the_patient_who_freed_it():
    slot = Slot("prof1", sb.local(THURSDAY, 14), sb.local(THURSDAY, 14, 30))
    older = sb.waitlist_entry(AT, "w1", customer_id="cust1")
    newer = sb.waitlist_entry(AT + timedelta(hours=1), "w2", customer_id="cust2")
    newest = sb.waitlist_entry(AT + timedelta(hours=2), "w3", customer_id="cust3")
    entries = [newest, newer, older]
    assert first_waiting(entries, "type1", slot, sb.SAO_PAULO) is older
    assert first_waiting(entries, "type1", slot, sb.SAO_PAULO, skip="cust1") is newer


def test_every_scheduling_event_is_registered_by_name():
    for cls in (
        AppointmentBooked,
        AppointmentConfirmed,
        AppointmentRescheduled,
        AppointmentCancelled,
        AppointmentAttended,
        AppointmentNoShow,
        WaitlistSlotOffered,
    ):
        assert EVENT_TYPES[cls.name] is cls
    assert AppointmentNoShow.name == "appointment.no_show"
