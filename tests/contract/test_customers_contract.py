"""The storage contract for the customer list: newest first, filters, search, cursors."""

from __future__ import annotations

import pytest

from porfin_core.domain.customer import Customer, FunnelStage, Identity, IdentityKind
from porfin_core.errors import ValidationError
from porfin_core.ports.storage import CustomerQuery

PEOPLE = [
    # (id, name, phone, stage, tags), oldest first
    ("c1", "Maria Silva", "+5511987654321", FunnelStage.NEW_LEAD, []),
    ("c2", "João da Conceição", "+5521998765432", FunnelStage.SCHEDULED, ["implante"]),
    ("c3", "Ana Beatriz Souza", "+552133334444", FunnelStage.SCHEDULED, ["clareamento", "vip"]),
    ("c4", "ÉRICA MÜLLER", "+5511912340000", FunnelStage.PAID, ["vip"]),
    ("c5", "Mariana Conceicao", None, FunnelStage.NEW_LEAD, ["implante", "vip"]),
]


def _customer(clock, customer_id, clinic_id, name, phone) -> Customer:
    identity = (
        Identity(IdentityKind.PHONE, phone)
        if phone
        else Identity(IdentityKind.LID, f"{customer_id}@lid")  # no number known
    )
    customer = Customer.first_contact(
        id=customer_id,
        clinic_id=clinic_id,
        name=name,
        identities=[identity],
        at=clock.advance(minutes=1),
    )
    customer.pull_events()
    return customer


async def _seed(backend, clock, clinic_id="clinic1", prefix=""):
    async with backend.uow_factory() as uow:
        for customer_id, name, phone, stage, tags in PEOPLE:
            customer = _customer(clock, prefix + customer_id, clinic_id, name, phone)
            customer.move_to(stage)
            customer.retag(tags)
            await uow.customers.save(customer)
        await uow.commit()


async def _list(backend, **filters):
    async with backend.uow_factory(read_only=True) as uow:
        return await uow.customers.list(CustomerQuery(clinic_id="clinic1", **filters))


async def _ids(backend, **filters) -> list[str]:
    page = await _list(backend, limit=200, **filters)
    assert page.next_cursor is None
    return [c.id for c in page.items]


async def test_customers_are_listed_newest_first_and_only_the_clinics(backend, clock):
    await _seed(backend, clock)
    await _seed(backend, clock, clinic_id="clinic2", prefix="other-")
    assert await _ids(backend) == ["c5", "c4", "c3", "c2", "c1"]
    async with backend.uow_factory(read_only=True) as uow:
        listed = (await uow.customers.list(CustomerQuery(clinic_id="clinic1"))).items
        assert listed[0] == await uow.customers.get("clinic1", "c5")
        nobody = await uow.customers.list(CustomerQuery(clinic_id="nobody"))
    assert (nobody.items, nobody.next_cursor) == ([], None)


async def test_customer_pages_follow_cursors_without_repeats_or_gaps(backend, clock):
    await _seed(backend, clock)
    seen, cursor, pages = [], None, 0
    while True:
        page = await _list(backend, limit=2, cursor=cursor)
        seen += [c.id for c in page.items]
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
        # A customer created between two pages is newer: it never shifts the pages.
        async with backend.uow_factory() as uow:
            await uow.customers.save(
                _customer(clock, f"late{pages}", "clinic1", "Late", f"+55119800000{pages:02d}")
            )
            await uow.commit()
    assert seen == ["c5", "c4", "c3", "c2", "c1"]
    assert pages == 3


async def test_customers_filtered_by_stage_and_tag(backend, clock):
    await _seed(backend, clock)
    assert await _ids(backend, stage=FunnelStage.SCHEDULED) == ["c3", "c2"]
    assert await _ids(backend, tag="vip") == ["c5", "c4", "c3"]
    assert await _ids(backend, tag="implante", stage=FunnelStage.NEW_LEAD) == ["c5"]
    assert await _ids(backend, tag="vip", stage=FunnelStage.SCHEDULED) == ["c3"]
    assert await _ids(backend, tag="nenhuma") == []
    assert await _ids(backend, stage=FunnelStage.LOST) == []


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("maria", ["c5", "c1"]),  # Mariana too: a word prefix
        ("MARI", ["c5", "c1"]),
        ("conceição", ["c5", "c2"]),
        ("conceicao joao", ["c2"]),  # every word, in any order
        ("jo conc", ["c2"]),  # word prefixes are enough
        ("erica muller", ["c4"]),  # accents and case ignored both ways
        ("Érica", ["c4"]),
        ("ceicao", []),  # not from the middle of a word
        ("maria souza", []),  # every word must match
        ("98765", ["c2", "c1"]),  # digits anywhere in the number
        ("98765-4321", ["c1"]),
        ("+55 (11) 98765-4321", ["c1"]),
        ("551187654321", ["c1"]),  # the legacy 12-digit WhatsApp id, no 9th digit
        ("(011) 8765-4321", ["c1"]),  # trunk prefix and no 9th digit
        ("11 8765-4321", ["c1"]),
        ("8765-4321", ["c1"]),
        ("4321", ["c1"]),
        ("3333", ["c3"]),
        ("21", []),  # too few digits for a phone, no name has such a word
        ("  --  ", []),  # nothing searchable
    ],
)
async def test_customer_search_by_name_or_phone(backend, clock, term, expected):
    await _seed(backend, clock)
    assert await _ids(backend, search=term) == expected


async def test_search_combines_with_filters_and_pages(backend, clock):
    await _seed(backend, clock)
    assert await _ids(backend, search="mari", tag="vip") == ["c5"]
    assert await _ids(backend, search="conc", stage=FunnelStage.SCHEDULED) == ["c2"]
    first = await _list(backend, search="m", limit=2)  # Mariana, Müller, Maria
    assert [c.id for c in first.items] == ["c5", "c4"]
    assert first.next_cursor is not None
    second = await _list(backend, search="m", limit=2, cursor=first.next_cursor)
    assert [c.id for c in second.items] == ["c1"]
    assert second.next_cursor is None


async def test_a_changed_customer_is_found_by_its_new_values_only(backend, clock):
    await _seed(backend, clock)
    async with backend.uow_factory() as uow:
        customer = await uow.customers.get("clinic1", "c1")
        customer.rename("Maria Aparecida Santos")
        customer.retag(["retorno"])
        customer.move_to(FunnelStage.ATTENDED)
        await uow.customers.save(customer)
        await uow.commit()
    assert await _ids(backend, search="apar") == ["c1"]
    assert await _ids(backend, search="silva") == []
    assert await _ids(backend, tag="retorno") == ["c1"]
    assert await _ids(backend, stage=FunnelStage.ATTENDED) == ["c1"]
    assert await _ids(backend, stage=FunnelStage.NEW_LEAD) == ["c5"]
    assert await _ids(backend, search="98765-4321") == ["c1"]


async def test_a_cursor_porfin_did_not_make_is_refused(backend, clock):
    await _seed(backend, clock)
    for cursor in ("nope", "WyJhIl0"):
        with pytest.raises(ValidationError):
            await _list(backend, cursor=cursor)
        with pytest.raises(ValidationError):
            await _list(backend, cursor=cursor, search="maria")
