"""The storage contract for merging customers: identities change hands, chats change customers,
messages change chats, and a merged customer is found by nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from porfin_core.domain.customer import Identity, identity_keys
from porfin_core.errors import Conflict, NotFound
from porfin_core.ports.storage import ChatQuery, CustomerQuery
from porfin_core.use_cases.merge_customers import DuplicateCustomer, MergeCustomers
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage, ReceiveMessage
from tests import builders

MARIA = "+5511987654321"
MARIA_NEW = "+5511912345678"  # the same person, from her new number


async def _seed(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic())
        await uow.channels.save(builders.channel(clock.now(), "chan1"))
        await uow.channels.save(builders.channel(clock.now(), "chan2"))
        await uow.commit()


async def _write(backend, clock, ids, phone, body, channel="chan1", name="Maria Silva"):
    clock.advance(minutes=1)
    receive = ReceiveInboundMessage(uow_factory=backend.uow_factory, clock=clock, ids=ids)
    return await receive(
        ReceiveMessage(
            channel_id=channel,
            provider_message_id=f"wamid.{ids.new_id()}",
            sender=[Identity.of_phone(phone)],
            sender_name=name,
            body=body,
        )
    )


async def test_a_merged_customer_hands_its_identities_over_and_leaves_every_list(backend, clock):
    survivor = builders.customer(clock.now(), "cust1", phone=MARIA)
    duplicate = builders.customer(
        clock.now() + timedelta(minutes=1), "cust2", phone=MARIA_NEW, name="Mary Souza"
    )
    async with backend.uow_factory() as uow:
        await uow.customers.save(survivor)
        await uow.customers.save(duplicate)
        await uow.commit()
    survivor.absorb(duplicate)
    async with backend.uow_factory() as uow:
        await uow.customers.save(duplicate)  # first: it releases the identities
        await uow.customers.save(survivor)
        await uow.commit()
    new_number = identity_keys([Identity.of_phone(MARIA_NEW)])
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.customers.find_by_identity("clinic1", new_number)
        assert found is not None and found.id == "cust1"
        merged = await uow.customers.get("clinic1", "cust2")
        assert merged.merged_into == "cust1"
        listed = await uow.customers.list(CustomerQuery(clinic_id="clinic1"))
        assert [c.id for c in listed.items] == ["cust1"]
        for search, expected in [("Maria", ["cust1"]), ("98765-4321", ["cust1"]), ("souza", [])]:
            page = await uow.customers.list(CustomerQuery(clinic_id="clinic1", search=search))
            assert [c.id for c in page.items] == expected, search
        # The survivor is searched by its own phone; the duplicate's number finds no one.
        page = await uow.customers.list(CustomerQuery(clinic_id="clinic1", search="12345678"))
        assert page.items == []
        staged = await uow.customers.list(
            CustomerQuery(clinic_id="clinic1", stage=merged.stage, search="maria")
        )
        assert [c.id for c in staged.items] == ["cust1"]


async def test_a_merged_customer_s_identities_cannot_be_taken_while_it_holds_them(backend, clock):
    survivor = builders.customer(clock.now(), "cust1", phone=MARIA)
    duplicate = builders.customer(clock.now(), "cust2", phone=MARIA_NEW)
    async with backend.uow_factory() as uow:
        await uow.customers.save(survivor)
        await uow.customers.save(duplicate)
        await uow.commit()
    survivor.absorb(duplicate)
    with pytest.raises(Conflict):  # the duplicate was not saved (released) first
        async with backend.uow_factory() as uow:
            await uow.customers.save(survivor)
            await uow.commit()


async def test_a_transferred_chat_is_found_under_its_new_customer_only(backend, clock):
    chat = builders.chat(clock.now(), "chat2", customer_id="cust2", name="Mary Souza")
    async with backend.uow_factory() as uow:
        await uow.customers.save(builders.customer(clock.now(), "cust1", phone=MARIA))
        await uow.chats.save(chat)
        await uow.commit()
    async with backend.uow_factory() as uow:
        loaded = await uow.chats.get("clinic1", "chat2")
        loaded.transfer_to("cust1", "Maria Silva", MARIA)
        await uow.chats.save_transferred(loaded, "cust2")
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.chats.find("clinic1", "cust2", "chan1") is None
        found = await uow.chats.find("clinic1", "cust1", "chan1")
        assert found is not None and found.id == "chat2"
        assert (found.customer_id, found.customer_name) == ("cust1", "Maria Silva")
        page = await uow.chats.list(ChatQuery(clinic_id="clinic1", search="silva"))
        assert [c.id for c in page.items] == ["chat2"]
    async with backend.uow_factory() as uow:  # later saves keep the new customer
        again = await uow.chats.get("clinic1", "chat2")
        again.mark_read(clock.now())
        await uow.chats.save(again)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.chats.find("clinic1", "cust1", "chan1")
        assert found is not None and found.id == "chat2"


async def test_messages_move_to_another_chat_and_the_chat_left_empty_is_removed(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.chats.save(builders.chat(clock.now(), "chat1", customer_id="cust1"))
        await uow.chats.save(builders.chat(clock.now(), "chat2", customer_id="cust2"))
        for n, (chat_id, body) in enumerate(
            [("chat1", "Bom dia"), ("chat2", "Quero marcar uma limpeza"), ("chat2", "Amanhã?")]
        ):
            await uow.messages.save(
                builders.message(
                    clock.now() + timedelta(seconds=n),
                    f"m{n}",
                    chat_id=chat_id,
                    body=body,
                    provider_id=f"wamid.{n}",
                )
            )
        await uow.commit()
    async with backend.uow_factory() as uow:
        emptied = await uow.chats.get("clinic1", "chat2")
        assert await uow.messages.move_to_chat("clinic1", "chat2", "chat1") == 2
        assert await uow.messages.move_to_chat("clinic1", "nothing", "chat1") == 0
        await uow.chats.remove(emptied)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        page = await uow.messages.list_for_chat("clinic1", "chat1", limit=10)
        assert [(m.id, m.chat_id) for m in page.items] == [
            ("m2", "chat1"),
            ("m1", "chat1"),
            ("m0", "chat1"),
        ]
        assert (await uow.messages.list_for_chat("clinic1", "chat2", limit=10)).items == []
        moved = await uow.messages.find_by_provider_id("clinic1", "chan1", "wamid.1")
        assert moved is not None and moved.chat_id == "chat1"
        assert (await uow.messages.get("clinic1", "m1")).chat_id == "chat1"
        with pytest.raises(NotFound):
            await uow.chats.get("clinic1", "chat2")
        assert await uow.chats.find("clinic1", "cust2", "chan1") is None
        found = await uow.chats.list(ChatQuery(clinic_id="clinic1", search="limpeza"))
        assert [c.id for c in found.items] == ["chat1"]
        listed = await uow.chats.list(ChatQuery(clinic_id="clinic1"))
        assert [c.id for c in listed.items] == ["chat1"]


async def test_merging_customers_end_to_end(backend, clock, ids):
    """The use case on each store: identities, chats, messages and the search follow."""
    await _seed(backend, clock)
    first = await _write(backend, clock, ids, MARIA, "Bom dia")
    second = await _write(backend, clock, ids, MARIA_NEW, "Quero marcar uma limpeza")
    elsewhere = await _write(backend, clock, ids, MARIA_NEW, "Oi", channel="chan2")
    merge = MergeCustomers(uow_factory=backend.uow_factory, clock=clock)
    merged = await merge(
        DuplicateCustomer(
            clinic_id="clinic1", customer_id=first.customer_id, duplicate_id=second.customer_id
        )
    )
    assert merged.customer.id == first.customer_id
    assert merged.moved_chat_ids == (elsewhere.chat_id,)
    assert merged.joined_chat_ids == (first.chat_id,)
    assert merged.removed_chat_ids == (second.chat_id,)
    assert merged.messages_moved == 1
    later = await _write(backend, clock, ids, MARIA_NEW, "Chego às 10h")
    assert (later.customer_id, later.chat_id) == (first.customer_id, first.chat_id)
    async with backend.uow_factory(read_only=True) as uow:
        chats = await uow.chats.list(ChatQuery(clinic_id="clinic1"))
        assert {(c.id, c.customer_id) for c in chats.items} == {
            (first.chat_id, first.customer_id),
            (elsewhere.chat_id, first.customer_id),
        }
        joined = await uow.chats.get("clinic1", first.chat_id)
        assert joined.unread_count == 3
        timeline = await uow.messages.list_for_chat("clinic1", first.chat_id, limit=10)
        assert [m.body for m in timeline.items] == [
            "Chego às 10h",
            "Quero marcar uma limpeza",
            "Bom dia",
        ]
        found = await uow.chats.list(ChatQuery(clinic_id="clinic1", search="limpeza"))
        assert [c.id for c in found.items] == [first.chat_id]
        customers = await uow.customers.list(CustomerQuery(clinic_id="clinic1"))
        assert [c.id for c in customers.items] == [first.customer_id]
    with pytest.raises(Conflict):
        await merge(
            DuplicateCustomer(
                clinic_id="clinic1", customer_id=first.customer_id, duplicate_id=second.customer_id
            )
        )
