"""Customers through the use cases: list and search, the audited read, staff edits."""

from __future__ import annotations

import pytest

from porfin_core.domain.audit import Actor, ActorKind, AuditRecord
from porfin_core.domain.customer import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    ConsentPurpose,
    FunnelStage,
    Identity,
)
from porfin_core.domain.events import CustomerUpdated
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.storage import ChatQuery, CustomerQuery
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.update_customer import ChangeCustomer
from tests.unit.conftest import committed_events

ANA = Actor(id="ana", kind=ActorKind.USER, source="198.51.100.4", request_id="req-9")


async def audit_records(container, clinic_id: str) -> list[AuditRecord]:
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


async def _write(container, installation, phone, name, pid):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id=pid,
            sender=[Identity.of_phone(phone)],
            sender_name=name,
            body="Olá",
        )
    )


@pytest.fixture
async def maria(container, installation, clock):
    received = await _write(container, installation, "+5511987654321", "Maria Silva", "w1")
    clock.advance(minutes=1)
    await committed_events(container)
    return received


@pytest.fixture
async def joao(container, installation, maria, clock):
    received = await _write(container, installation, "+5521998765432", "João Conceição", "w2")
    clock.advance(minutes=1)
    await committed_events(container)
    return received


def change(received, **fields) -> ChangeCustomer:
    return ChangeCustomer(
        clinic_id=received.clinic_id, customer_id=received.customer_id, actor=ANA, **fields
    )


# -- list -------------------------------------------------------------------------------------


async def test_list_newest_first_and_search(container, maria, joao):
    list_customers = container.list_customers()
    everyone = await list_customers(CustomerQuery(clinic_id=maria.clinic_id))
    assert [c.id for c in everyone.items] == [joao.customer_id, maria.customer_id]
    found = await list_customers(CustomerQuery(clinic_id=maria.clinic_id, search="conceicao"))
    assert [c.id for c in found.items] == [joao.customer_id]
    by_phone = await list_customers(CustomerQuery(clinic_id=maria.clinic_id, search="551187654321"))
    assert [c.id for c in by_phone.items] == [maria.customer_id]
    blank = await list_customers(CustomerQuery(clinic_id=maria.clinic_id, search="   "))
    assert len(blank.items) == 2  # a blank search is no search


async def test_list_normalizes_the_tag_filter(container, maria, joao):
    await container.update_customer()(change(joao, tags=["Implante"]))
    found = await container.list_customers()(
        CustomerQuery(clinic_id=maria.clinic_id, tag="  IMPLANTE ")
    )
    assert [c.id for c in found.items] == [joao.customer_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"tag": "  "}, "tag"), ({"cursor": "nope"}, "cursor")],
)
async def test_list_refuses_bad_queries(container, maria, query, field):
    with pytest.raises(ValidationError) as refused:
        await container.list_customers()(CustomerQuery(clinic_id=maria.clinic_id, **query))
    assert refused.value.fields["field"] == field


# -- the audited read -------------------------------------------------------------------------


async def test_reading_a_customer_is_recorded(container, maria, clock):
    customer = await container.get_customer()(maria.clinic_id, maria.customer_id, actor=ANA)
    assert customer.name == "Maria Silva"
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_type, record.resource_id) == (
        "customer.read",
        "customer",
        maria.customer_id,
    )
    assert (record.actor_id, record.source, record.request_id, record.at) == (
        "ana",
        "198.51.100.4",
        "req-9",
        clock.now(),
    )


async def test_reading_a_missing_or_foreign_customer_records_nothing(container, maria):
    before = len(await audit_records(container, maria.clinic_id))
    for clinic_id, customer_id in ((maria.clinic_id, "nope"), ("other", maria.customer_id)):
        with pytest.raises(NotFound):
            await container.get_customer()(clinic_id, customer_id, actor=ANA)
    assert len(await audit_records(container, maria.clinic_id)) == before


# -- staff edits ------------------------------------------------------------------------------


async def test_staff_edit_name_tags_stage_and_consents(container, maria, clock):
    updated = await container.update_customer()(
        change(
            maria,
            name="  Maria   Aparecida Silva ",
            tags=["VIP", " Pós  Operatório ", "vip"],
            stage="scheduled",
            consents={"marketing": True, "reminders": True},
        )
    )
    assert updated.name == "Maria Aparecida Silva"
    assert updated.tags == ["vip", "pós operatório"]
    assert updated.stage is FunnelStage.SCHEDULED
    marketing = updated.consents[ConsentPurpose.MARKETING]
    assert (marketing.granted, marketing.at, marketing.source, marketing.recorded_by) == (
        True,
        clock.now(),
        "staff",
        "ana",
    )
    # the implied service consent is untouched
    assert updated.consents[ConsentPurpose.SERVICE].source == "inbound_message"
    async with container.uow_factory()(read_only=True) as uow:
        assert await uow.customers.get(maria.clinic_id, maria.customer_id) == updated
    assert await committed_events(container) == [
        CustomerUpdated(
            clinic_id=maria.clinic_id,
            occurred_at=clock.now(),
            customer_id=maria.customer_id,
            changed=("name", "tags", "stage", "consents.marketing", "consents.reminders"),
            changed_by="ana",
        )
    ]
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_id, record.actor_id) == (
        "customer.update",
        maria.customer_id,
        "ana",
    )
    assert record.details == {
        "changed": "name,tags,stage,consents.marketing,consents.reminders",
        "stage": "scheduled",
        "consents.marketing": "granted",
        "consents.reminders": "granted",
    }


async def test_a_new_name_reaches_the_inbox(container, maria):
    await container.update_customer()(change(maria, name="Maria Aparecida"))
    chats = await container.list_chats()(ChatQuery(clinic_id=maria.clinic_id, search="aparecida"))
    assert [(c.id, c.customer_name) for c in chats.items] == [(maria.chat_id, "Maria Aparecida")]


async def test_withdrawing_a_consent_keeps_when_and_who(container, maria, clock):
    await container.update_customer()(change(maria, consents={"marketing": True}))
    granted_at = clock.now()
    clock.advance(days=3)
    again = await container.update_customer()(change(maria, consents={"marketing": True}))
    assert again.consents[ConsentPurpose.MARKETING].at == granted_at  # same decision: kept
    withdrawn = await container.update_customer()(change(maria, consents={"marketing": False}))
    consent = withdrawn.consents[ConsentPurpose.MARKETING]
    assert (consent.granted, consent.at) == (False, clock.now())
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert record.details == {"changed": "consents.marketing", "consents.marketing": "withdrawn"}


async def test_an_edit_that_changes_nothing_is_recorded_without_an_event(container, maria):
    before = len(await audit_records(container, maria.clinic_id))
    await container.update_customer()(change(maria, name="Maria Silva", stage="new_lead"))
    records = await audit_records(container, maria.clinic_id)
    assert len(records) == before + 1
    assert records[-1].details == {"changed": ""}
    assert await committed_events(container) == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"name": "Maria\x00"}, "name"),
        ({"tags": ["ok", ""]}, "tags[1]"),
        ({"tags": ["ok", "x" * (MAX_TAG_LENGTH + 1)]}, "tags[1]"),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags"),
        ({"stage": "vip"}, "stage"),
        ({"consents": {"newsletter": True}}, "consents.newsletter"),
    ],
)
async def test_a_refused_edit_names_the_field_and_changes_nothing(container, maria, fields, field):
    before = len(await audit_records(container, maria.clinic_id))
    with pytest.raises(ValidationError) as refused:
        await container.update_customer()(change(maria, **{"stage": "paid", **fields}))
    assert refused.value.fields["field"] == field
    customer = await container.get_customer()(maria.clinic_id, maria.customer_id)
    assert customer.stage is FunnelStage.NEW_LEAD
    assert len(await audit_records(container, maria.clinic_id)) == before + 1  # the read only


async def test_twenty_tags_are_fine_and_repeats_do_not_count(container, maria):
    tags = [f"t{i}" for i in range(MAX_TAGS)] + ["T0", " t1 "]
    updated = await container.update_customer()(change(maria, tags=tags))
    assert len(updated.tags) == MAX_TAGS


async def test_another_clinics_customer_cannot_be_edited(container, maria):
    with pytest.raises(NotFound):
        await container.update_customer()(
            ChangeCustomer(clinic_id="other", customer_id=maria.customer_id, name="X")
        )
