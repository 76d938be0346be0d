"""The scheduling storage contract, on every backend: professionals, types, closures,
appointments and the waitlist round-trip alike, and no professional is ever double-booked,
even by bookings racing from two processes."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta

import pytest

from porfin_adapters.memory.holidays import FixedHolidayCalendar
from porfin_core.domain.scheduling import AppointmentStatus, Slot, WaitlistStatus
from porfin_core.errors import NotFound, SlotTaken, TransactionConflict
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.use_cases.book_appointment import BookAppointment, NewAppointment
from porfin_core.use_cases.reschedule_appointment import NewTime, RescheduleAppointment
from tests import builders
from tests import scheduling_builders as sb

THURSDAY = date(2026, 11, 26)
FRIDAY = date(2026, 11, 27)


async def _setup(backend, clock, customers: int = 10, professionals=("prof1",)) -> None:
    now = clock.now()
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        for professional_id in professionals:
            await uow.professionals.save(sb.professional(now, professional_id))
        await uow.appointment_types.save(sb.appointment_type(now, minutes=30, after=10))
        for n in range(customers):
            await uow.customers.save(
                builders.customer(now, f"cust{n}", phone=f"+55119876543{n:02d}", name=f"P{n}")
            )
        await uow.commit()


async def _second_process(backend):
    """A unit-of-work factory of another process on the same data (the same one for memory,
    whose units of work are serialized within the process)."""
    if backend.reopen is None:
        return backend.uow_factory
    factory, _ = await backend.reopen()
    return factory


def _booker(factory, clock, ids) -> BookAppointment:
    return BookAppointment(
        uow_factory=factory, clock=clock, ids=ids, holidays=FixedHolidayCalendar()
    )


async def _attempt(book: BookAppointment, start, customer_id: str, professional_id="prof1"):
    try:
        return await book(
            NewAppointment(
                clinic_id="clinic1",
                customer_id=customer_id,
                professional_id=professional_id,
                type_id="type1",
                start=start,
            )
        )
    except SlotTaken as exc:
        return exc


# -- round trips -------------------------------------------------------------------------------


async def test_professionals_and_types_round_trip_within_their_clinic(backend, clock):
    now = clock.now()
    ana = sb.professional(now, "prof1", breaks=sb.lunch())
    bia = sb.professional(now + timedelta(seconds=1), "prof2", name="Bia")
    other = sb.professional(now, "prof3", clinic_id="clinic2")
    kind = sb.appointment_type(now, professional_ids=["prof1"], before=5, after=10)
    async with backend.uow_factory() as uow:
        for professional in (bia, ana, other):
            await uow.professionals.save(professional)
        await uow.appointment_types.save(kind)
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert await uow.professionals.get("clinic1", "prof1") == ana
        assert await uow.professionals.list("clinic1") == [ana, bia]
        with pytest.raises(NotFound):
            await uow.professionals.get("clinic1", "prof3")
        assert await uow.appointment_types.get("clinic1", "type1") == kind
        assert await uow.appointment_types.list("clinic2") == []
        with pytest.raises(NotFound):
            await uow.appointment_types.get("clinic2", "type1")
        ana.set_active(False)
        await uow.professionals.save(ana)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert not (await uow.professionals.get("clinic1", "prof1")).active


async def test_closures_are_listed_by_start_and_removed(backend, clock):
    now = clock.now()
    christmas = sb.closure(now, date(2026, 12, 24), date(2026, 12, 26), "c2")
    past = sb.closure(now, date(2026, 11, 2), closure_id="c1")
    async with backend.uow_factory() as uow:
        await uow.closures.save(christmas)
        await uow.closures.save(past)
        await uow.closures.save(sb.closure(now, date(2026, 12, 1), closure_id="c3", clinic_id="x"))
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert await uow.closures.list("clinic1") == [past, christmas]
        assert await uow.closures.list("clinic1", ends_after=now) == [christmas]
        assert await uow.closures.get("clinic1", "c2") == christmas
        await uow.closures.remove(past)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.closures.list("clinic1") == [christmas]
        with pytest.raises(NotFound):
            await uow.closures.get("clinic1", "c1")


async def test_appointments_are_found_by_professional_time_and_patient(backend, clock):
    now = clock.now()
    nine, ten = sb.local(THURSDAY, 9), sb.local(THURSDAY, 10)
    a = sb.appointment(now, nine, "a1", customer_id="cust1", professional_id="prof1")
    b = sb.appointment(now, nine, "a2", customer_id="cust2", professional_id="prof2")
    c = sb.appointment(now, ten, "a3", customer_id="cust1", professional_id="prof2")
    d = sb.appointment(now, sb.local(FRIDAY, 9), "a4", customer_id="cust1", professional_id="prof1")
    elsewhere = sb.appointment(now, nine, "a5", clinic_id="clinic2")
    async with backend.uow_factory() as uow:
        for appointment in (d, c, b, a, elsewhere):
            await uow.appointments.save(appointment)
        await uow.commit()

    async def ids(**query) -> list[str]:
        async with backend.uow_factory(read_only=True) as uow:
            found = await uow.appointments.list(AppointmentQuery(clinic_id="clinic1", **query))
        return [x.id for x in found]

    thursday = sb.local(THURSDAY, 0), sb.local(FRIDAY, 0)
    assert await ids() == ["a1", "a2", "a3", "a4"]
    assert await ids(starts_from=thursday[0], starts_before=thursday[1]) == ["a1", "a2", "a3"]
    assert await ids(starts_from=ten) == ["a3", "a4"]  # from: included
    assert await ids(starts_before=ten) == ["a1", "a2"]  # before: excluded
    assert await ids(professional_id="prof2") == ["a2", "a3"]
    assert await ids(customer_id="cust1") == ["a1", "a3", "a4"]
    assert await ids(customer_id="cust1", professional_id="prof1") == ["a1", "a4"]
    assert await ids(customer_id="cust1", starts_from=ten, limit=1) == ["a3"]
    assert await ids(limit=2) == ["a1", "a2"]
    async with backend.uow_factory() as uow:
        moved = await uow.appointments.get("clinic1", "a1")
        assert moved == a
        moved.reschedule(sb.local(FRIDAY, 11), sb.local(FRIDAY, 11, 30), now)
        moved.cancel("", now)
        await uow.appointments.save(moved)
        await uow.commit()
    assert await ids(professional_id="prof1") == ["a4", "a1"]
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.appointments.get("clinic1", "a1")
        assert stored.status is AppointmentStatus.CANCELLED
        assert [h.action for h in stored.history] == ["booked", "rescheduled", "cancelled"]
        with pytest.raises(NotFound):
            await uow.appointments.get("clinic2", "a1")
    # A merge of two records of one person gives the appointment to the other record.
    async with backend.uow_factory() as uow:
        merged = await uow.appointments.get("clinic1", "a4")
        merged.customer_id = "cust2"
        await uow.appointments.save(merged)
        await uow.commit()
    assert await ids(customer_id="cust2") == ["a2", "a4"]
    assert await ids(customer_id="cust1") == ["a3", "a1"]


async def test_the_waitlist_is_listed_in_line_order(backend, clock):
    now = clock.now()
    first = sb.waitlist_entry(now, "w2", customer_id="cust1")
    second = sb.waitlist_entry(now + timedelta(minutes=1), "w1", customer_id="cust2")
    other_type = sb.waitlist_entry(now, "w3", customer_id="cust1", type_id="type2")
    async with backend.uow_factory() as uow:
        for entry in (second, other_type, first):
            await uow.waitlist.save(entry)
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert await uow.waitlist.list("clinic1", type_id="type1") == [first, second]
        assert await uow.waitlist.list("clinic1", customer_id="cust1") == [first, other_type]
        first.offer(Slot("prof1", sb.local(THURSDAY, 9), sb.local(THURSDAY, 9, 30)), now)
        await uow.waitlist.save(first)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        waiting = await uow.waitlist.list("clinic1", status=WaitlistStatus.WAITING)
        assert [e.id for e in waiting] == ["w3", "w1"]
        offered = await uow.waitlist.get("clinic1", "w2")
        assert offered.status is WaitlistStatus.OFFERED
        assert offered.offered_slot is not None
        assert offered.offered_slot.start == sb.local(THURSDAY, 9)


# -- agenda holds --------------------------------------------------------------------------------


async def test_two_units_of_work_holding_one_agenda_date_do_not_both_commit(backend, clock):
    now = clock.now()
    if backend.reopen is None:
        # The memory store runs writing units of work one at a time: the second one starts
        # only once the first has ended, so it decides on the first one's writes.
        async with backend.uow_factory() as first:
            second_enters = asyncio.ensure_future(backend.uow_factory().__aenter__())
            await asyncio.sleep(0.01)
            assert not second_enters.done()
            await first.appointments.hold("clinic1", "prof1", [THURSDAY])
            await first.appointments.save(sb.appointment(now, sb.local(THURSDAY, 9), "a0"))
            await first.commit()
        second = await second_enters
        try:
            await second.appointments.hold("clinic1", "prof1", [THURSDAY])
            found = await second.appointments.list(AppointmentQuery(clinic_id="clinic1"))
            assert [a.id for a in found] == ["a0"]
        finally:
            await second.__aexit__(None, None, None)
        return
    other = await _second_process(backend)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(backend.uow_factory())
        second = await stack.enter_async_context(other())
        for n, uow in enumerate((first, second)):
            await uow.appointments.hold("clinic1", "prof1", [THURSDAY])
            await uow.appointments.save(
                sb.appointment(now, sb.local(THURSDAY, 9), f"a{n}", customer_id=f"cust{n}")
            )
        outcomes = await asyncio.gather(first.commit(), second.commit(), return_exceptions=True)
    # At most one commits (SQLite: the first to reach the writer; Firestore may abort both,
    # each then retried by ``transact``); every other one fails with TransactionConflict.
    committed = [o for o in outcomes if o is None]
    assert all(o is None or isinstance(o, TransactionConflict) for o in outcomes)
    assert len(committed) <= 1
    if backend.name == "sqlite":
        assert len(committed) == 1
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.appointments.list(AppointmentQuery(clinic_id="clinic1"))
    assert len(stored) == len(committed)


async def test_holds_of_other_dates_or_professionals_do_not_conflict(backend, clock):
    other = await _second_process(backend)
    async with backend.uow_factory() as uow:  # an existing lock row, read below
        await uow.appointments.hold("clinic1", "prof1", [THURSDAY])
        await uow.commit()
    for first_hold, second_hold in [
        (("prof1", THURSDAY), ("prof1", FRIDAY)),
        (("prof1", THURSDAY), ("prof2", THURSDAY)),
    ]:
        if backend.reopen is None:  # one writer at a time: they simply both commit
            for professional_id, day in (first_hold, second_hold):
                async with backend.uow_factory() as uow:
                    await uow.appointments.hold("clinic1", professional_id, [day])
                    await uow.commit()
            continue
        async with contextlib.AsyncExitStack() as stack:
            first = await stack.enter_async_context(backend.uow_factory())
            second = await stack.enter_async_context(other())
            await first.appointments.hold("clinic1", first_hold[0], [first_hold[1]])
            await second.appointments.hold("clinic1", second_hold[0], [second_hold[1]])
            outcomes = await asyncio.gather(first.commit(), second.commit(), return_exceptions=True)
        assert outcomes == [None, None]


# -- no double booking ---------------------------------------------------------------------------


async def test_ten_concurrent_bookings_of_one_slot_make_one_appointment(backend, clock, ids):
    await _setup(backend, clock)
    here = _booker(backend.uow_factory, clock, ids)
    there = _booker(await _second_process(backend), clock, ids)
    start = sb.local(THURSDAY, 10)
    outcomes = await asyncio.gather(
        *(_attempt(here if n % 2 else there, start, f"cust{n}") for n in range(10))
    )
    booked = [o for o in outcomes if not isinstance(o, SlotTaken)]
    refused = [o for o in outcomes if isinstance(o, SlotTaken)]
    assert len(booked) == 1 and len(refused) == 9
    for error in refused:
        assert error.code == "slot_taken"
        assert len(error.alternatives) == 3
        assert all(s.start != start for s in error.alternatives)
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.appointments.list(AppointmentQuery(clinic_id="clinic1"))
    assert [a.id for a in stored] == [booked[0].id]


async def test_overlapping_bookings_at_different_times_make_one_appointment(backend, clock, ids):
    await _setup(backend, clock, customers=6)
    here = _booker(backend.uow_factory, clock, ids)
    there = _booker(await _second_process(backend), clock, ids)
    # Every two of these overlap (30 minutes plus 10 of buffer after).
    starts = [sb.local(THURSDAY, 10, minute) for minute in (0, 5, 15, 20, 25, 35)]
    outcomes = await asyncio.gather(
        *(_attempt(here if n % 2 else there, s, f"cust{n}") for n, s in enumerate(starts))
    )
    assert sum(not isinstance(o, SlotTaken) for o in outcomes) == 1


async def test_bookings_of_different_professionals_all_succeed(backend, clock, ids):
    await _setup(backend, clock, customers=4, professionals=("prof1", "prof2"))
    here = _booker(backend.uow_factory, clock, ids)
    there = _booker(await _second_process(backend), clock, ids)
    start = sb.local(THURSDAY, 10)
    outcomes = await asyncio.gather(
        _attempt(here, start, "cust0", "prof1"),
        _attempt(there, start, "cust1", "prof2"),
        _attempt(here, sb.local(FRIDAY, 10), "cust2", "prof1"),
        _attempt(there, sb.local(FRIDAY, 10), "cust3", "prof2"),
    )
    assert not any(isinstance(o, SlotTaken) for o in outcomes)
    async with backend.uow_factory(read_only=True) as uow:
        assert len(await uow.appointments.list(AppointmentQuery(clinic_id="clinic1"))) == 4


async def test_a_reschedule_racing_a_booking_into_one_slot_lets_one_through(backend, clock, ids):
    await _setup(backend, clock, customers=2)
    here = _booker(backend.uow_factory, clock, ids)
    moving = await here(
        NewAppointment(
            clinic_id="clinic1",
            customer_id="cust0",
            professional_id="prof1",
            type_id="type1",
            start=sb.local(FRIDAY, 9),
        )
    )
    move = RescheduleAppointment(
        uow_factory=await _second_process(backend), clock=clock, holidays=FixedHolidayCalendar()
    )
    target = sb.local(THURSDAY, 10)

    async def reschedule():
        try:
            return await move(NewTime(clinic_id="clinic1", appointment_id=moving.id, start=target))
        except SlotTaken as exc:
            return exc

    outcomes = await asyncio.gather(reschedule(), _attempt(here, target, "cust1"))
    assert sum(isinstance(o, SlotTaken) for o in outcomes) == 1
    async with backend.uow_factory(read_only=True) as uow:
        thursday = await uow.appointments.list(
            AppointmentQuery(
                clinic_id="clinic1",
                starts_from=sb.local(THURSDAY, 0),
                starts_before=sb.local(FRIDAY, 0),
            )
        )
    assert len(thursday) == 1
