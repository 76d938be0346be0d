"""The read models and the booking the shells use on top of the scheduling core: a day's
agenda with names, one professional, the waitlist, and booking without naming a
professional.

The clock reads Wednesday 25 November 2026, 10:00 in São Paulo.
"""

from __future__ import annotations

from datetime import date, datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from porfin_core.domain.scheduling import AppointmentStatus, WaitlistStatus
from porfin_core.errors import NotFound, SlotTaken, ValidationError
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_with_any_professional import BookingRequest
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.get_agenda import AgendaQuery
from porfin_core.use_cases.join_waitlist import WaitlistRequest
from porfin_core.use_cases.list_waitlist import WaitlistFilter
from porfin_core.use_cases.update_professional import ChangeProfessional
from tests import builders

SP = ZoneInfo("America/Sao_Paulo")
THURSDAY = date(2026, 11, 26)


def _at(hour: int, minute: int = 0, day: date = THURSDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SP)


@pytest.fixture
async def agenda(container, installation, clock):
    """Two dentists working weekday mornings, a cleaning, two patients."""
    clinic_id = installation.clinic.id
    async with container.uow_factory()() as uow:
        for n, name in ((1, "Maria"), (2, "João")):
            await uow.customers.save(
                builders.customer(
                    clock.now(), f"cust{n}", clinic_id, phone=f"+551198765432{n}", name=name
                )
            )
        await uow.commit()
    mornings = [WorkingInterval(day, "08:00", "12:00") for day in range(1, 6)]
    ana = await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=mornings)
    )
    bia = await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Bia", hours=mornings)
    )
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    return SimpleNamespace(clinic_id=clinic_id, ana=ana, bia=bia, cleaning=cleaning)


def _request(agenda, start, customer="cust1", professional=None, **more) -> BookingRequest:
    return BookingRequest(
        clinic_id=agenda.clinic_id,
        customer_id=customer,
        type_id=agenda.cleaning.id,
        start=start,
        professional_id=professional,
        **more,
    )


async def test_without_a_professional_the_first_free_one_is_booked(container, agenda):
    book = container.book_with_any_professional()
    first = await book(_request(agenda, _at(9)))
    second = await book(_request(agenda, _at(9), customer="cust2"))
    ids = sorted([agenda.ana.id, agenda.bia.id])
    assert [first.professional_id, second.professional_id] == ids
    with pytest.raises(SlotTaken) as taken:
        await book(_request(agenda, _at(9, 15)))
    alternatives = taken.value.alternatives
    # The nearest free times of both: 09:30 with each, then 09:45 with the first by id.
    assert [(s.start, s.professional_id) for s in alternatives] == [
        (_at(9, 30), ids[0]),
        (_at(9, 30), ids[1]),
        (_at(9, 45), ids[0]),
    ]


async def test_with_a_professional_the_booking_is_hers_or_refused(container, agenda):
    book = container.book_with_any_professional()
    booked = await book(_request(agenda, _at(10), professional=agenda.bia.id))
    assert booked.professional_id == agenda.bia.id
    with pytest.raises(SlotTaken):
        await book(_request(agenda, _at(10), customer="cust2", professional=agenda.bia.id))
    with pytest.raises(NotFound):
        await book(_request(agenda, _at(10), professional="nope"))


async def test_nobody_performing_the_type_is_a_validation_error(container, agenda):
    for professional in (agenda.ana, agenda.bia):
        await container.update_professional()(
            ChangeProfessional(
                clinic_id=agenda.clinic_id, professional_id=professional.id, active=False
            )
        )
    with pytest.raises(ValidationError) as refused:
        await container.book_with_any_professional()(_request(agenda, _at(9)))
    assert refused.value.fields["field"] == "type_id"


async def test_the_day_s_agenda_names_patients_and_types(container, agenda, clock):
    book = container.book_with_any_professional()
    late = await book(_request(agenda, _at(11), professional=agenda.ana.id))
    early = await book(_request(agenda, _at(8), customer="cust2", professional=agenda.ana.id))
    gone = await book(_request(agenda, _at(9), professional=agenda.bia.id))
    await container.cancel_appointment()(
        Cancellation(clinic_id=agenda.clinic_id, appointment_id=gone.id)
    )
    day = await container.get_agenda()(AgendaQuery(clinic_id=agenda.clinic_id, day=THURSDAY))
    assert (day.day, day.timezone) == (THURSDAY, "America/Sao_Paulo")
    columns = {c.professional.name: c for c in day.columns}
    assert [
        (e.appointment.id, e.customer_name, e.type_name) for e in columns["Dra. Ana"].entries
    ] == [(early.id, "João", "Limpeza"), (late.id, "Maria", "Limpeza")]
    [cancelled] = columns["Dra. Bia"].entries
    assert cancelled.appointment.status is AppointmentStatus.CANCELLED
    without = await container.get_agenda()(
        AgendaQuery(clinic_id=agenda.clinic_id, day=THURSDAY, include_cancelled=False)
    )
    assert [len(c.entries) for c in without.columns] == [2, 0]
    today = await container.get_agenda()(AgendaQuery(clinic_id=agenda.clinic_id))
    assert today.day == date(2026, 11, 25)
    assert all(not c.entries for c in today.columns)
    only_bia = await container.get_agenda()(
        AgendaQuery(clinic_id=agenda.clinic_id, day=THURSDAY, professional_id=agenda.bia.id)
    )
    assert [c.professional.id for c in only_bia.columns] == [agenda.bia.id]
    with pytest.raises(NotFound):
        await container.get_agenda()(AgendaQuery(clinic_id=agenda.clinic_id, professional_id="x"))


async def test_an_inactive_professional_shows_only_with_appointments(container, agenda):
    await container.book_with_any_professional()(
        _request(agenda, _at(9), professional=agenda.bia.id)
    )
    for professional in (agenda.ana, agenda.bia):
        await container.update_professional()(
            ChangeProfessional(
                clinic_id=agenda.clinic_id, professional_id=professional.id, active=False
            )
        )
    day = await container.get_agenda()(AgendaQuery(clinic_id=agenda.clinic_id, day=THURSDAY))
    assert [c.professional.id for c in day.columns] == [agenda.bia.id]


async def test_one_professional_is_read_in_the_clinic_only(container, agenda):
    found = await container.get_professional()(agenda.clinic_id, agenda.ana.id)
    assert found.name == "Dra. Ana"
    with pytest.raises(NotFound):
        await container.get_professional()("another-clinic", agenda.ana.id)


async def test_the_waitlist_is_listed_in_line_order(container, agenda, clock):
    join = container.join_waitlist()
    maria = await join(
        WaitlistRequest(clinic_id=agenda.clinic_id, customer_id="cust1", type_id=agenda.cleaning.id)
    )
    clock.advance(minutes=1)
    joao = await join(
        WaitlistRequest(clinic_id=agenda.clinic_id, customer_id="cust2", type_id=agenda.cleaning.id)
    )
    listing = container.list_waitlist()
    everyone = await listing(WaitlistFilter(clinic_id=agenda.clinic_id))
    assert [e.id for e in everyone] == [maria.id, joao.id]
    mine = await listing(WaitlistFilter(clinic_id=agenda.clinic_id, customer_id="cust2"))
    assert [e.id for e in mine] == [joao.id]
    booked = await container.book_with_any_professional()(
        _request(agenda, _at(9), waitlist_entry_id=maria.id)
    )
    assert booked.customer_id == "cust1"
    assert [e.id for e in await listing(WaitlistFilter(clinic_id=agenda.clinic_id))] == [joao.id]
    closed = await listing(WaitlistFilter(clinic_id=agenda.clinic_id, include_closed=True))
    assert [e.status for e in closed] == [WaitlistStatus.BOOKED, WaitlistStatus.WAITING]
