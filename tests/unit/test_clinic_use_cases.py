"""The clinic's settings through the use cases: read, change, refuse with a field path."""

from __future__ import annotations

from datetime import time

import pytest

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.clinic import OpeningHours, Weekday
from porfin_core.errors import InvalidPhoneNumber, NotFound, ValidationError
from porfin_core.use_cases.update_clinic import ChangeClinic, Interval

ADMIN = Actor(id="admin", kind=ActorKind.API_TOKEN, source="203.0.113.7")


async def audit_records(container, clinic_id):
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


def change(installation, **fields) -> ChangeClinic:
    return ChangeClinic(clinic_id=installation.clinic.id, actor=ADMIN, **fields)


async def test_the_clinic_as_created_at_first_start(container, installation):
    clinic = await container.get_clinic()(installation.clinic.id)
    assert (clinic.name, clinic.timezone, clinic.locale) == (
        "Minha Clínica",
        "America/Sao_Paulo",
        "pt-BR",
    )
    assert (clinic.phone, clinic.address, clinic.city, clinic.state) == (None, None, None, None)
    assert len(clinic.business_hours) == 6
    with pytest.raises(NotFound):
        await container.get_clinic()("nope")


async def test_an_administrator_changes_the_settings(container, installation, clock):
    updated = await container.update_clinic()(
        change(
            installation,
            name="  Clínica   Sorriso ",
            timezone="America/Manaus",
            phone="(92) 3333-4444",
            address="Av. Eduardo Ribeiro, 520",
            city="Manaus",
            state="am",
            business_hours=[
                Interval(6, "08:00", "12:00"),
                Interval(1, "14:00", "18:00"),
                Interval(1, "08:00", "12:00"),
            ],
        )
    )
    assert (updated.name, updated.timezone, updated.phone) == (
        "Clínica Sorriso",
        "America/Manaus",
        "+559233334444",
    )
    assert (updated.address, updated.city, updated.state) == (
        "Av. Eduardo Ribeiro, 520",
        "Manaus",
        "AM",
    )
    assert updated.business_hours == [  # sorted by weekday and time
        OpeningHours(Weekday.MONDAY, time(8), time(12)),
        OpeningHours(Weekday.MONDAY, time(14), time(18)),
        OpeningHours(Weekday.SATURDAY, time(8), time(12)),
    ]
    assert await container.get_clinic()(installation.clinic.id) == updated
    record = (await audit_records(container, installation.clinic.id))[-1]
    assert (record.action, record.resource_type, record.resource_id, record.actor_id) == (
        "clinic.update",
        "clinic",
        installation.clinic.id,
        "admin",
    )
    assert record.details == {
        "changed": "name,timezone,business_hours,phone,address,city,state",
        "timezone": "America/Manaus",
    }
    assert record.at == clock.now()


async def test_parts_left_out_stay_and_empty_ones_are_removed(container, installation):
    update = container.update_clinic()
    await update(change(installation, phone="11 3333-4444", city="São Paulo", state="SP"))
    updated = await update(change(installation, phone="", city=""))
    assert (updated.phone, updated.city, updated.state) == (None, None, "SP")
    assert updated.name == "Minha Clínica"
    closed = await update(change(installation, business_hours=[]))
    assert closed.business_hours == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 121}, "name"),
        ({"timezone": "America/Atlantis"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"timezone": "Factory"}, "timezone"),
        ({"state": "XX"}, "state"),
        ({"address": "x" * 201}, "address"),
        ({"business_hours": [Interval(8, "08:00", "12:00")]}, "business_hours[0].weekday"),
        ({"business_hours": [Interval(1, "8h", "12:00")]}, "business_hours[0].opens"),
        ({"business_hours": [Interval(1, "08:00", "24:00")]}, "business_hours[0].closes"),
        ({"business_hours": [Interval(1, "12:00", "08:00")]}, "business_hours[0].closes"),
        (
            {"business_hours": [Interval(1, "08:00", "12:00"), Interval(1, "11:00", "13:00")]},
            "business_hours[1]",
        ),
    ],
)
async def test_a_refused_change_names_the_field_and_changes_nothing(
    container, installation, fields, field
):
    before = len(await audit_records(container, installation.clinic.id))
    with pytest.raises(ValidationError) as refused:
        await container.update_clinic()(change(installation, city="Recife", **fields))
    assert refused.value.fields["field"] == field
    clinic = await container.get_clinic()(installation.clinic.id)
    assert clinic == installation.clinic
    assert len(await audit_records(container, installation.clinic.id)) == before


async def test_a_phone_without_its_area_code_is_refused(container, installation):
    with pytest.raises(InvalidPhoneNumber) as refused:
        await container.update_clinic()(change(installation, phone="3333-4444"))
    assert refused.value.fields["field"] == "phone"
