"""Scheduling use cases on the in-memory container: setting up the agenda, finding slots,
booking without double booking, and the waitlist.

The clock reads Wednesday 25 November 2026, 10:00 in São Paulo; the clinic is in the city of
São Paulo (its holidays come from the real holiday calendar).
"""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.clinic import Role
from porfin_core.domain.events import (
    AppointmentBooked,
    AppointmentCancelled,
    AppointmentConfirmed,
    AppointmentRescheduled,
    WaitlistSlotOffered,
)
from porfin_core.domain.scheduling import AppointmentStatus, ProfessionalKind, WaitlistStatus
from porfin_core.errors import InvalidStateTransition, NotFound, SlotTaken, ValidationError
from porfin_core.permissions import ROLE_PERMISSIONS, Permission
from porfin_core.use_cases._scheduling import DateHours, TimeSpan, WorkingInterval
from porfin_core.use_cases.add_closure import NewClosure
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.confirm_appointment import Confirmation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.find_free_slots import SlotRequest
from porfin_core.use_cases.join_waitlist import WaitlistRequest
from porfin_core.use_cases.list_appointments import AppointmentFilter
from porfin_core.use_cases.mark_attended import Attendance
from porfin_core.use_cases.mark_no_show import MissedAppointment
from porfin_core.use_cases.remove_closure import ClosureRemoval
from porfin_core.use_cases.reschedule_appointment import NewTime
from porfin_core.use_cases.update_appointment_type import ChangeAppointmentType
from porfin_core.use_cases.update_professional import ChangeProfessional
from tests import builders
from tests import scheduling_builders as sb
from tests.unit.conftest import committed_events

THURSDAY = date(2026, 11, 26)
FRIDAY = date(2026, 11, 27)
STAFF = Actor(id="user1", kind=ActorKind.USER, source="127.0.0.1")


def _weekdays(start: str, end: str) -> list[WorkingInterval]:
    return [WorkingInterval(day, start, end) for day in range(1, 6)]


@pytest.fixture
async def agenda(container, installation, clock):
    """Two dentists, two appointment types, three patients; events so far discarded."""
    clinic_id = installation.clinic.id
    async with container.uow_factory()() as uow:
        clinic = await uow.clinics.get(clinic_id)
        clinic.set_address(address=None, city="São Paulo", state="SP")
        await uow.clinics.save(clinic)
        for n in (1, 2, 3):
            await uow.customers.save(
                builders.customer(
                    clock.now(), f"cust{n}", clinic_id, phone=f"+551198765432{n}", name=f"P{n}"
                )
            )
        await uow.commit()
    ana = await container.create_professional()(
        NewProfessional(
            clinic_id=clinic_id,
            name="Dra. Ana",
            hours=_weekdays("08:00", "18:00"),
            breaks=_weekdays("12:00", "13:00"),
            actor=STAFF,
        )
    )
    bia = await container.create_professional()(
        NewProfessional(
            clinic_id=clinic_id, name="Bia", kind="higienista", hours=_weekdays("08:00", "12:00")
        )
    )
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(
            clinic_id=clinic_id,
            name="Limpeza",
            duration_minutes=30,
            price_cents=18000,
            buffer_after_minutes=10,
        )
    )
    root_canal = await container.create_appointment_type()(
        NewAppointmentType(
            clinic_id=clinic_id, name="Canal", duration_minutes=60, professional_ids=[ana.id]
        )
    )
    await committed_events(container)
    return SimpleNamespace(
        clinic_id=clinic_id, ana=ana, bia=bia, cleaning=cleaning, root_canal=root_canal
    )


async def _audit(container, clinic_id):
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


async def _book(container, agenda, start, customer="cust1", professional=None, kind=None, **more):
    return await container.book_appointment()(
        NewAppointment(
            clinic_id=agenda.clinic_id,
            customer_id=customer,
            professional_id=(professional or agenda.ana).id,
            type_id=(kind or agenda.cleaning).id,
            start=start,
            **more,
        )
    )


# -- setting up the agenda ------------------------------------------------------------------


async def test_professionals_are_created_listed_and_changed(container, agenda):
    assert agenda.ana.kind is ProfessionalKind.DENTISTA
    assert agenda.bia.kind is ProfessionalKind.HIGIENISTA
    changed = await container.update_professional()(
        ChangeProfessional(
            clinic_id=agenda.clinic_id,
            professional_id=agenda.bia.id,
            name="Bia Lima",
            exceptions=[DateHours(THURSDAY, [], "Curso")],
            actor=STAFF,
        )
    )
    assert changed.name == "Bia Lima" and changed.exceptions[0].day_off
    await container.update_professional()(
        ChangeProfessional(clinic_id=agenda.clinic_id, professional_id=agenda.ana.id, active=False)
    )
    listed = await container.list_professionals()(agenda.clinic_id)
    assert [p.id for p in listed] == [agenda.bia.id]
    everyone = await container.list_professionals()(agenda.clinic_id, include_inactive=True)
    assert [p.id for p in everyone] == [agenda.ana.id, agenda.bia.id]
    records = await _audit(container, agenda.clinic_id)
    actions = [r.action for r in records if r.resource_type == "professional"]
    assert actions == [
        "professional.create",
        "professional.create",
        "professional.update",
        "professional.update",
    ]
    update = next(r for r in records if r.action == "professional.update")
    assert update.details["changed"] == "name,exceptions" and update.actor_id == "user1"


@pytest.mark.parametrize(
    ("hours", "field"),
    [
        ([WorkingInterval(0, "08:00", "12:00")], "hours[0].weekday"),
        ([WorkingInterval(1, "8h", "12:00")], "hours[0].start"),
        ([WorkingInterval(1, "12:00", "08:00")], "hours[0].end"),
        (
            [WorkingInterval(1, "08:00", "12:00"), WorkingInterval(1, "11:00", "13:00")],
            "hours[1]",
        ),
    ],
)
async def test_bad_hours_name_the_offending_interval(container, installation, hours, field):
    with pytest.raises(ValidationError) as caught:
        await container.create_professional()(
            NewProfessional(clinic_id=installation.clinic.id, name="X", hours=hours)
        )
    assert caught.value.fields["field"] == field


async def test_appointment_types_check_their_professionals(container, agenda):
    with pytest.raises(ValidationError) as caught:
        await container.create_appointment_type()(
            NewAppointmentType(
                clinic_id=agenda.clinic_id,
                name="Clareamento",
                duration_minutes=60,
                professional_ids=[agenda.ana.id, "nobody"],
            )
        )
    assert caught.value.fields["field"] == "professional_ids[1]"
    changed = await container.update_appointment_type()(
        ChangeAppointmentType(
            clinic_id=agenda.clinic_id,
            type_id=agenda.cleaning.id,
            price_cents=20000,
            buffer_before_minutes=5,
        )
    )
    assert (changed.price_cents, changed.buffer_before_minutes) == (20000, 5)
    assert changed.buffer_after_minutes == 10  # left alone
    types = await container.list_appointment_types()(agenda.clinic_id)
    assert [t.name for t in types] == ["Limpeza", "Canal"]


# -- finding slots ---------------------------------------------------------------------------


async def test_slots_start_now_and_cover_every_professional_of_the_type(container, agenda):
    slots = await container.find_free_slots()(
        SlotRequest(clinic_id=agenda.clinic_id, type_id=agenda.cleaning.id, limit=4)
    )
    assert [(s.start.strftime("%d %H:%M"), s.professional_id) for s in slots] == [
        ("25 10:00", agenda.ana.id),
        ("25 10:00", agenda.bia.id),
        ("25 10:15", agenda.ana.id),
        ("25 10:15", agenda.bia.id),
    ]
    assert str(slots[0].start.tzinfo) == "America/Sao_Paulo"
    canal = await container.find_free_slots()(
        SlotRequest(
            clinic_id=agenda.clinic_id,
            type_id=agenda.root_canal.id,
            first_day=THURSDAY,
            periods=["tarde"],
            step_minutes=60,
            limit=2,
        )
    )
    assert [(s.start.strftime("%d %H:%M"), s.professional_id) for s in canal] == [
        ("26 13:00", agenda.ana.id),
        ("26 14:00", agenda.ana.id),
    ]


async def test_slots_skip_the_city_holidays_and_closures(container, agenda):
    # 25 January is the city of São Paulo's anniversary (a Monday in 2027).
    slots = await container.find_free_slots()(
        SlotRequest(
            clinic_id=agenda.clinic_id,
            type_id=agenda.cleaning.id,
            first_day=date(2027, 1, 25),
            last_day=date(2027, 1, 26),
            professional_id=agenda.bia.id,
            limit=1,
        )
    )
    assert slots[0].start.date() == date(2027, 1, 26)
    added = await container.add_closure()(
        NewClosure(clinic_id=agenda.clinic_id, reason="Dedetização", first_day=THURSDAY)
    )
    thursday = await container.find_free_slots()(
        SlotRequest(
            clinic_id=agenda.clinic_id,
            type_id=agenda.cleaning.id,
            first_day=THURSDAY,
            last_day=FRIDAY,
            limit=1,
        )
    )
    assert thursday[0].start.date() == FRIDAY
    await container.remove_closure()(
        ClosureRemoval(clinic_id=agenda.clinic_id, closure_id=added.closure.id)
    )
    assert await container.list_closures()(agenda.clinic_id) == []


async def test_searches_are_checked(container, agenda):
    request = SlotRequest(
        clinic_id=agenda.clinic_id, type_id=agenda.root_canal.id, professional_id=agenda.bia.id
    )
    with pytest.raises(ValidationError) as caught:
        await container.find_free_slots()(request)
    assert caught.value.fields["field"] == "professional_id"  # Bia does no root canals
    with pytest.raises(ValidationError):
        await container.find_free_slots()(
            SlotRequest(clinic_id=agenda.clinic_id, type_id=agenda.cleaning.id, periods=["dia"])
        )
    with pytest.raises(NotFound):
        await container.find_free_slots()(SlotRequest(clinic_id=agenda.clinic_id, type_id="x"))


# -- booking ---------------------------------------------------------------------------------


async def test_booking_commits_the_appointment_its_event_and_audit(container, agenda):
    start = sb.local(THURSDAY, 9)
    appointment = await _book(container, agenda, start, source="ai", actor=STAFF, notes="Dor")
    assert appointment.status is AppointmentStatus.REQUESTED
    assert appointment.end == start + timedelta(minutes=30)
    assert appointment.buffer_after_minutes == 10
    [event] = await committed_events(container)
    assert isinstance(event, AppointmentBooked) and event.source == "ai"
    record = (await _audit(container, agenda.clinic_id))[-1]
    assert (record.action, record.resource_id) == ("appointment.book", appointment.id)
    assert "Dor" not in str(record.details)  # notes never reach the audit log
    got = await container.get_appointment()(agenda.clinic_id, appointment.id, actor=STAFF)
    assert got == appointment
    assert (await _audit(container, agenda.clinic_id))[-1].action == "appointment.read"


async def test_an_overlapping_booking_gets_slot_taken_with_the_nearest_alternatives(
    container, agenda
):
    await _book(container, agenda, sb.local(THURSDAY, 9))
    with pytest.raises(SlotTaken) as caught:
        await _book(container, agenda, sb.local(THURSDAY, 9, 15), customer="cust2")
    error = caught.value
    assert error.code == "slot_taken"
    # 09:00-09:30 plus 10 minutes of cleaning: 08:30 (ends 09:00, its buffer reaches 09:10:
    # taken), 08:15, 09:45 and 10:00 are free; the three nearest to 09:15 win.
    assert [s.start.strftime("%H:%M") for s in error.alternatives] == ["08:15", "09:45", "10:00"]
    assert error.fields["alternatives"] == list(error.alternatives)
    # Off the grid is fine when free: right after the buffer.
    later = await _book(container, agenda, sb.local(THURSDAY, 9, 40), customer="cust2")
    assert later.start == sb.local(THURSDAY, 9, 40)


async def test_another_professional_is_not_affected(container, agenda):
    await _book(container, agenda, sb.local(THURSDAY, 9))
    other = await _book(container, agenda, sb.local(THURSDAY, 9), "cust2", agenda.bia)
    assert other.professional_id == agenda.bia.id


@pytest.mark.parametrize(
    "when",
    [
        (THURSDAY, 12, 15),  # lunch break
        (THURSDAY, 17, 45),  # runs past 18:00
        (date(2026, 11, 28), 9, 0),  # Saturday
        (date(2026, 12, 25), 9, 0),  # Christmas
    ],
)
async def test_times_outside_availability_are_refused(container, agenda, when):
    day, hour, minute = when
    with pytest.raises(SlotTaken) as caught:
        await _book(container, agenda, sb.local(day, hour, minute))
    assert len(caught.value.alternatives) == 3


async def test_bookings_are_checked(container, agenda, clock):
    with pytest.raises(ValidationError) as caught:
        await _book(container, agenda, clock.now() - timedelta(minutes=1))
    assert caught.value.fields["field"] == "start"
    with pytest.raises(ValidationError) as caught:
        await _book(
            container,
            agenda,
            sb.local(THURSDAY, 9),
            kind=agenda.root_canal,
            professional=agenda.bia,
        )
    assert caught.value.fields["field"] == "professional_id"
    with pytest.raises(NotFound):
        await _book(container, agenda, sb.local(THURSDAY, 9), customer="nobody")
    with pytest.raises(ValidationError) as caught:
        await _book(container, agenda, sb.local(THURSDAY, 9), source="robot")
    assert caught.value.fields["field"] == "source"
    await container.update_appointment_type()(
        ChangeAppointmentType(clinic_id=agenda.clinic_id, type_id=agenda.cleaning.id, active=False)
    )
    with pytest.raises(ValidationError) as caught:
        await _book(container, agenda, sb.local(THURSDAY, 9))
    assert caught.value.fields["field"] == "type_id"


# -- after booking ---------------------------------------------------------------------------


async def test_confirm_twice_records_one_event(container, agenda):
    appointment = await _book(container, agenda, sb.local(THURSDAY, 9))
    await committed_events(container)
    confirm = container.confirm_appointment()
    command = Confirmation(clinic_id=agenda.clinic_id, appointment_id=appointment.id)
    assert (await confirm(command)).status is AppointmentStatus.CONFIRMED
    assert (await confirm(command)).status is AppointmentStatus.CONFIRMED
    events = await committed_events(container)
    assert [type(e) for e in events] == [AppointmentConfirmed]


async def test_attended_and_no_show_follow_the_clock(container, agenda, clock):
    first = await _book(container, agenda, sb.local(THURSDAY, 9))
    second = await _book(container, agenda, sb.local(THURSDAY, 10), "cust2")
    no_show = MissedAppointment(clinic_id=agenda.clinic_id, appointment_id=second.id)
    with pytest.raises(InvalidStateTransition):
        await container.mark_no_show()(no_show)
    clock.current = sb.local(THURSDAY, 10, 5)
    attended = await container.mark_attended()(
        Attendance(clinic_id=agenda.clinic_id, appointment_id=first.id)
    )
    missed = await container.mark_no_show()(no_show)
    assert attended.status is AppointmentStatus.ATTENDED
    assert missed.status is AppointmentStatus.NO_SHOW
    with pytest.raises(InvalidStateTransition):
        await container.cancel_appointment()(
            Cancellation(clinic_id=agenda.clinic_id, appointment_id=first.id)
        )


async def test_cancelling_frees_the_slot_and_offers_it_to_the_first_in_line(
    container, agenda, clock
):
    appointment = await _book(container, agenda, sb.local(THURSDAY, 14))
    join = container.join_waitlist()
    evening_only = await join(
        WaitlistRequest(
            clinic_id=agenda.clinic_id,
            customer_id="cust2",
            type_id=agenda.cleaning.id,
            periods=["noite"],
        )
    )
    clock.advance(minutes=1)
    afternoon = await join(
        WaitlistRequest(
            clinic_id=agenda.clinic_id,
            customer_id="cust3",
            type_id=agenda.cleaning.id,
            periods=["tarde"],
            weekdays=[4],
        )
    )
    again = await join(
        WaitlistRequest(clinic_id=agenda.clinic_id, customer_id="cust3", type_id=agenda.cleaning.id)
    )
    assert again == afternoon  # already waiting: same entry, same place
    await committed_events(container)
    outcome = await container.cancel_appointment()(
        Cancellation(
            clinic_id=agenda.clinic_id,
            appointment_id=appointment.id,
            reason="Imprevisto",
            actor=STAFF,
        )
    )
    assert outcome.appointment.status is AppointmentStatus.CANCELLED
    assert outcome.offered_to is not None and outcome.offered_to.id == afternoon.id
    assert outcome.offered_to.offered_slot.start == sb.local(THURSDAY, 14)
    events = await committed_events(container)
    assert [type(e) for e in events] == [WaitlistSlotOffered, AppointmentCancelled]
    async with container.uow_factory()(read_only=True) as uow:
        assert (await uow.waitlist.get(agenda.clinic_id, evening_only.id)).status is (
            WaitlistStatus.WAITING
        )
    # The freed time is bookable again; booking from the offer closes the entry.
    rebooked = await _book(
        container, agenda, sb.local(THURSDAY, 14), "cust3", waitlist_entry_id=afternoon.id
    )
    assert rebooked.customer_id == "cust3"
    async with container.uow_factory()(read_only=True) as uow:
        assert (await uow.waitlist.get(agenda.clinic_id, afternoon.id)).status is (
            WaitlistStatus.BOOKED
        )


async def test_a_past_or_unwanted_slot_is_offered_to_nobody(container, agenda, clock):
    appointment = await _book(container, agenda, sb.local(THURSDAY, 9))
    await container.join_waitlist()(
        WaitlistRequest(
            clinic_id=agenda.clinic_id,
            customer_id="cust2",
            type_id=agenda.cleaning.id,
            professional_id=agenda.bia.id,
        )
    )
    outcome = await container.cancel_appointment()(
        Cancellation(clinic_id=agenda.clinic_id, appointment_id=appointment.id)
    )
    assert outcome.offered_to is None  # the patient waits for Bia, the slot is Ana's


async def test_rescheduling_moves_checks_and_offers_the_old_slot(container, agenda):
    first = await _book(container, agenda, sb.local(THURSDAY, 9))
    taken = await _book(container, agenda, sb.local(THURSDAY, 11), "cust2")
    await container.confirm_appointment()(
        Confirmation(clinic_id=agenda.clinic_id, appointment_id=first.id)
    )
    await container.join_waitlist()(
        WaitlistRequest(clinic_id=agenda.clinic_id, customer_id="cust3", type_id=agenda.cleaning.id)
    )
    await committed_events(container)
    reschedule = container.reschedule_appointment()
    with pytest.raises(SlotTaken) as caught:
        await reschedule(
            NewTime(
                clinic_id=agenda.clinic_id,
                appointment_id=first.id,
                start=taken.start + timedelta(minutes=15),
            )
        )
    assert caught.value.alternatives
    # Moving by 15 minutes overlaps its own old time: that is fine.
    moved = await reschedule(
        NewTime(
            clinic_id=agenda.clinic_id,
            appointment_id=first.id,
            start=sb.local(THURSDAY, 9, 15),
            actor=STAFF,
        )
    )
    assert moved.appointment.status is AppointmentStatus.REQUESTED
    assert moved.appointment.history[-1].previous_start == sb.local(THURSDAY, 9)
    assert moved.offered_to is None  # 09:00-09:30 overlaps the new time: not free
    far = await reschedule(
        NewTime(clinic_id=agenda.clinic_id, appointment_id=first.id, start=sb.local(FRIDAY, 15))
    )
    assert far.offered_to is not None and far.offered_to.customer_id == "cust3"
    assert far.offered_to.offered_slot.start == sb.local(THURSDAY, 9, 15)
    kinds = [type(e) for e in await committed_events(container)]
    assert kinds.count(AppointmentRescheduled) == 2 and WaitlistSlotOffered in kinds


async def test_listing_the_agenda_by_day_professional_and_patient(container, agenda):
    a = await _book(container, agenda, sb.local(THURSDAY, 9))
    b = await _book(container, agenda, sb.local(THURSDAY, 9), "cust2", agenda.bia)
    c = await _book(container, agenda, sb.local(FRIDAY, 9), "cust1")
    await container.cancel_appointment()(
        Cancellation(clinic_id=agenda.clinic_id, appointment_id=b.id)
    )
    list_appointments = container.list_appointments()
    thursday = await list_appointments(
        AppointmentFilter(clinic_id=agenda.clinic_id, first_day=THURSDAY)
    )
    assert [x.id for x in thursday] == [a.id, b.id]
    active = await list_appointments(
        AppointmentFilter(clinic_id=agenda.clinic_id, first_day=THURSDAY, include_cancelled=False)
    )
    assert [x.id for x in active] == [a.id]
    anas = await list_appointments(
        AppointmentFilter(
            clinic_id=agenda.clinic_id,
            first_day=THURSDAY,
            last_day=FRIDAY,
            professional_id=agenda.ana.id,
        )
    )
    assert [x.id for x in anas] == [a.id, c.id]
    patients = await list_appointments(
        AppointmentFilter(clinic_id=agenda.clinic_id, customer_id="cust1")
    )
    assert [x.id for x in patients] == [a.id, c.id]
    with pytest.raises(ValidationError):
        await list_appointments(AppointmentFilter(clinic_id=agenda.clinic_id))


async def test_a_closure_reports_the_appointments_inside_it(container, agenda):
    inside = await _book(container, agenda, sb.local(FRIDAY, 9))
    await _book(container, agenda, sb.local(THURSDAY, 9), "cust2")
    added = await container.add_closure()(
        NewClosure(
            clinic_id=agenda.clinic_id,
            reason="Falta de luz",
            start=sb.local(FRIDAY, 8),
            end=sb.local(FRIDAY, 12),
        )
    )
    assert [a.id for a in added.affected] == [inside.id]
    with pytest.raises(ValidationError):
        await container.add_closure()(NewClosure(clinic_id=agenda.clinic_id, reason="x"))


async def test_waitlist_requests_are_checked(container, agenda):
    with pytest.raises(ValidationError) as caught:
        await container.join_waitlist()(
            WaitlistRequest(
                clinic_id=agenda.clinic_id,
                customer_id="cust1",
                type_id=agenda.cleaning.id,
                weekdays=[8],
            )
        )
    assert caught.value.fields["field"] == "weekdays[0]"
    with pytest.raises(NotFound):
        await container.join_waitlist()(
            WaitlistRequest(clinic_id=agenda.clinic_id, customer_id="x", type_id=agenda.cleaning.id)
        )


def test_everyone_books_but_only_admins_and_managers_set_the_agenda_up():
    for role in Role:
        assert Permission.SCHEDULE_VIEW in ROLE_PERMISSIONS[role]
        assert Permission.APPOINTMENTS_MANAGE in ROLE_PERMISSIONS[role]
    assert Permission.SCHEDULE_MANAGE in ROLE_PERMISSIONS[Role.MANAGER]
    assert Permission.SCHEDULE_MANAGE not in ROLE_PERMISSIONS[Role.SECRETARY]


async def test_exceptions_come_in_as_dates_with_spans(container, agenda):
    changed = await container.update_professional()(
        ChangeProfessional(
            clinic_id=agenda.clinic_id,
            professional_id=agenda.bia.id,
            exceptions=[DateHours(date(2026, 11, 28), [TimeSpan("09:00", "10:00")], "Mutirão")],
        )
    )
    assert changed.exceptions[0].hours[0].start.hour == 9
    slots = await container.find_free_slots()(
        SlotRequest(
            clinic_id=agenda.clinic_id,
            type_id=agenda.cleaning.id,
            first_day=date(2026, 11, 28),
            last_day=date(2026, 11, 28),
            step_minutes=30,
        )
    )
    assert [s.start.strftime("%H:%M") for s in slots] == ["09:00", "09:30"]
