"""The storage contract: every adapter behaves exactly like this."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from porfin_core.domain.chat import ChatMode, ChatStatus
from porfin_core.domain.customer import Identity, IdentityKind, identity_keys
from porfin_core.domain.events import ChatClosed, CustomerCreated
from porfin_core.domain.message import DeliveryStatus, StatusChange
from porfin_core.errors import Conflict, NotFound, ValidationError
from porfin_core.ports.storage import ChatQuery, PendingStatus
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage, ReceiveMessage
from tests import builders


async def _seed(backend, clock, clinic_id="clinic1", channel_id="chan1"):
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic(clinic_id))
        await uow.channels.save(builders.channel(clock.now(), channel_id, clinic_id))
        await uow.commit()


async def test_clinic_and_channel_round_trip(backend, clock):
    await _seed(backend, clock)
    async with backend.uow_factory(read_only=True) as uow:
        clinic = await uow.clinics.get("clinic1")
        channel = await uow.channels.get("chan1")
        assert clinic == builders.clinic("clinic1")
        assert channel == builders.channel(clock.now())
        assert [c.id for c in await uow.clinics.list()] == ["clinic1"]
        assert [c.id for c in await uow.channels.list("clinic1")] == ["chan1"]
        assert await uow.channels.list("other") == []
        with pytest.raises(NotFound):
            await uow.clinics.get("nope")
        with pytest.raises(NotFound):
            await uow.channels.get("nope")


async def test_uncommitted_writes_are_discarded(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.clinics.list() == []


async def test_an_error_inside_the_unit_of_work_discards_everything(backend, clock):
    with pytest.raises(RuntimeError):
        async with backend.uow_factory() as uow:
            await uow.clinics.save(builders.clinic("clinic1"))
            raise RuntimeError("boom")
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.clinics.list() == []


async def test_customer_found_by_any_identity_and_scoped_to_its_clinic(backend, clock):
    customer = builders.customer(clock.now())
    customer.add_identity(Identity(IdentityKind.BSUID, "BR.123"))
    async with backend.uow_factory() as uow:
        await uow.customers.save(customer)
        await uow.commit()
    wa_id = Identity(IdentityKind.WA_ID, "551187654321")  # legacy form, no 9th digit
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.customers.get("clinic1", "cust1") == customer
        found = await uow.customers.find_by_identity("clinic1", identity_keys([wa_id]))
        assert found is not None and found.id == "cust1"
        by_bsuid = await uow.customers.find_by_identity("clinic1", ["bsuid:BR.123"])
        assert by_bsuid is not None and by_bsuid.id == "cust1"
        assert await uow.customers.find_by_identity("clinic2", identity_keys([wa_id])) is None
        assert await uow.customers.find_by_identity("clinic1", ["bsuid:nope"]) is None
        with pytest.raises(NotFound):
            await uow.customers.get("clinic2", "cust1")


async def test_identities_of_two_customers_find_the_older_one(backend, clock):
    # Before a merge, a sender's identities (phone and BSUID, say) may belong to two customers.
    older = builders.customer(clock.now(), "cust2", phone="+5511987654321")
    newer = builders.customer(clock.now() + timedelta(minutes=5), "cust1", phone="+5511912345678")
    async with backend.uow_factory() as uow:
        await uow.customers.save(newer)
        await uow.customers.save(older)
        await uow.commit()
    keys = identity_keys([Identity.of_phone("+5511912345678"), Identity.of_phone("+5511987654321")])
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.customers.find_by_identity("clinic1", keys)
    assert found is not None and found.id == "cust2"


async def test_an_identity_cannot_belong_to_two_customers(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.customers.save(builders.customer(clock.now(), "cust1"))
        await uow.commit()
    with pytest.raises(Conflict):
        async with backend.uow_factory() as uow:
            await uow.customers.save(builders.customer(clock.now(), "cust2"))
            await uow.commit()


async def test_chat_round_trip_and_lookup(backend, clock):
    chat = builders.chat(clock.now())
    chat.pause_ai(clock.now() + timedelta(hours=2), clock.now())
    chat.pull_events()
    async with backend.uow_factory() as uow:
        await uow.chats.save(chat)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.chats.get("clinic1", "chat1") == chat
        assert await uow.chats.find("clinic1", "cust1", "chan1") == chat
        assert await uow.chats.find("clinic1", "cust1", "other") is None
        with pytest.raises(NotFound):
            await uow.chats.get("clinic2", "chat1")


async def _many_chats(backend, clock, count):
    """``count`` chats, each of its own customer (the chat shows the customer's name)."""
    async with backend.uow_factory() as uow:
        for n in range(count):
            at = clock.now() + timedelta(minutes=n)
            name, phone = f"Paciente {n:02d}", f"+55119876543{n:02d}"
            await uow.customers.save(builders.customer(at, f"cust{n:02d}", phone=phone, name=name))
            chat = builders.chat(
                at, chat_id=f"chat{n:02d}", customer_id=f"cust{n:02d}", name=name, phone=phone
            )
            await uow.chats.save(chat)
        await uow.commit()


async def test_chat_list_is_newest_first_and_pages_with_cursors(backend, clock):
    await _many_chats(backend, clock, 7)
    seen = []
    cursor = None
    async with backend.uow_factory(read_only=True) as uow:
        while True:
            page = await uow.chats.list(ChatQuery(clinic_id="clinic1", limit=3, cursor=cursor))
            seen += [c.id for c in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [f"chat{n:02d}" for n in reversed(range(7))]
        assert (await uow.chats.list(ChatQuery(clinic_id="other"))).items == []
        with pytest.raises(ValidationError):
            await uow.chats.list(ChatQuery(clinic_id="clinic1", cursor="not-a-cursor"))


async def test_chat_list_filters(backend, clock):
    await _many_chats(backend, clock, 4)
    async with backend.uow_factory() as uow:
        first = await uow.chats.get("clinic1", "chat00")
        first.hand_off("quer falar com a recepção", clock.now())
        first.assign("staff1", clock.now())
        second = await uow.chats.get("clinic1", "chat01")
        second.close(clock.now())
        third = await uow.chats.get("clinic1", "chat02")
        third.unread_count = 2
        for chat in (first, second, third):
            await uow.chats.save(chat)
        await uow.commit()

    async def ids(**filters):
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.chats.list(ChatQuery(clinic_id="clinic1", **filters))
            return [c.id for c in page.items]

    assert await ids(mode=ChatMode.HUMAN) == ["chat00"]
    assert await ids(status=ChatStatus.CLOSED) == ["chat01"]
    assert await ids(status=ChatStatus.OPEN) == ["chat03", "chat02", "chat00"]
    assert await ids(assignee_id="staff1") == ["chat00"]
    assert await ids(unassigned=True) == ["chat03", "chat02", "chat01"]
    assert await ids(unread=True) == ["chat02"]
    assert await ids(mode=ChatMode.AI, unread=True) == ["chat02"]
    assert await ids(visible_to="staff1") == ["chat03", "chat02", "chat01", "chat00"]
    assert await ids(visible_to="staff2") == ["chat03", "chat02", "chat01"]
    assert await ids(visible_to="staff2", status=ChatStatus.OPEN) == ["chat03", "chat02"]


async def test_waiting_chats_are_listed_oldest_wait_first_with_filters_and_cursors(backend, clock):
    await _many_chats(backend, clock, 6)
    now = clock.now()
    # chat01 waits since +5 min, chat04 since +1 min, chat02 since +3 min (assigned to
    # staff1), chat05 since +2 min but closed (no longer waiting); the others never waited.
    waits = {"chat01": 5, "chat04": 1, "chat02": 3, "chat05": 2}
    async with backend.uow_factory() as uow:
        for chat_id, minutes in waits.items():
            chat = await uow.chats.get("clinic1", chat_id)
            chat.turn_ai_off(now)
            at = now + timedelta(minutes=minutes)
            chat.add_message(builders.message(at, f"m-{chat_id}", chat_id=chat_id), at)
            if chat_id == "chat02":
                chat.assign("staff1", now)
            if chat_id == "chat05":
                chat.close(now + timedelta(minutes=10))
            await uow.chats.save(chat)
        await uow.commit()

    async def ids(**filters):
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.chats.list(ChatQuery(clinic_id="clinic1", waiting=True, **filters))
            return [c.id for c in page.items]

    assert await ids() == ["chat04", "chat02", "chat01"]
    assert await ids(unassigned=True) == ["chat04", "chat01"]
    assert await ids(visible_to="staff2") == ["chat04", "chat01"]
    assert await ids(visible_to="staff1") == ["chat04", "chat02", "chat01"]
    assert await ids(assignee_id="staff1") == ["chat02"]
    assert await ids(mode=ChatMode.AI) == []
    assert await ids(search="Paciente 01") == ["chat01"]
    async with backend.uow_factory(read_only=True) as uow:
        first = await uow.chats.list(ChatQuery(clinic_id="clinic1", waiting=True, limit=2))
        assert [c.id for c in first.items] == ["chat04", "chat02"]
        assert first.items[0].waiting_since == now + timedelta(minutes=1)
        rest = await uow.chats.list(
            ChatQuery(clinic_id="clinic1", waiting=True, limit=2, cursor=first.next_cursor)
        )
        assert [c.id for c in rest.items] == ["chat01"] and rest.next_cursor is None
    # A staff reply ends the wait.
    async with backend.uow_factory() as uow:
        chat = await uow.chats.get("clinic1", "chat04")
        at = now + timedelta(minutes=20)
        chat.add_message(builders.staff_message(at, "r-chat04", chat_id="chat04"), at)
        await uow.chats.save(chat)
        await uow.commit()
    assert await ids() == ["chat02", "chat01"]


async def test_a_clinic_s_messages_of_a_period_oldest_first_in_pages(backend, clock):
    await _seed(backend, clock)
    start = clock.now()
    async with backend.uow_factory() as uow:
        for n in range(7):
            at = start + timedelta(minutes=10 * n)
            chat_id = f"chat{n % 2}"
            await uow.messages.save(builders.message(at, f"msg{n}", chat_id=chat_id))
        await uow.messages.save(builders.message(start, "elsewhere", clinic_id="clinic2"))
        await uow.commit()
    since, until = start + timedelta(minutes=10), start + timedelta(minutes=60)
    seen, cursor = [], None
    async with backend.uow_factory(read_only=True) as uow:
        while True:
            page = await uow.messages.list_for_clinic(
                "clinic1", since=since, until=until, limit=2, cursor=cursor
            )
            seen += [m.id for m in page.items]
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == ["msg1", "msg2", "msg3", "msg4", "msg5"]  # until is excluded
        with pytest.raises(ValidationError):
            await uow.messages.list_for_clinic("clinic1", since=since, until=until, limit=0)


async def test_customers_created_in_a_period_are_counted(backend, clock):
    start = clock.now()
    async with backend.uow_factory() as uow:
        for n in range(4):
            at = start + timedelta(hours=n)
            await uow.customers.save(
                builders.customer(at, f"cust{n}", phone=f"+551198765430{n}", name=f"P {n}")
            )
        await uow.customers.save(builders.customer(start, "other", clinic_id="clinic2"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        counted = await uow.customers.count_created(
            "clinic1", start + timedelta(hours=1), start + timedelta(hours=3)
        )
        assert counted == 2
        assert await uow.customers.count_created("clinic1", start, start) == 0


async def test_chat_search_by_name_phone_and_message_text(backend, clock):
    await _many_chats(backend, clock, 3)
    async with backend.uow_factory() as uow:  # renamed, as UpdateCustomer does
        customer = await uow.customers.get("clinic1", "cust01")
        customer.rename("João Conceição")
        await uow.customers.save(customer)
        chat = await uow.chats.get("clinic1", "chat01")
        chat.customer_name = "João Conceição"
        await uow.chats.save(chat)
        await uow.messages.save(
            builders.message(clock.now(), "m1", chat_id="chat02", body="Quero marcar uma LIMPEZA")
        )
        await uow.commit()

    async def search(term):
        async with backend.uow_factory(read_only=True) as uow:
            page = await uow.chats.list(ChatQuery(clinic_id="clinic1", search=term))
            return [c.id for c in page.items]

    assert await search("conceicao") == ["chat01"]
    assert await search("JOÃO") == ["chat01"]
    assert await search("98765-4300") == ["chat00"]
    assert await search("limpeza") == ["chat02"]
    assert await search("ninguém") == []


async def test_messages_dedupe_on_provider_id_and_page_newest_first(backend, clock):
    async with backend.uow_factory() as uow:
        for n in range(5):
            await uow.messages.save(
                builders.message(
                    clock.now() + timedelta(seconds=n), f"m{n}", provider_id=f"wamid.{n}"
                )
            )
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.messages.find_by_provider_id("clinic1", "chan1", "wamid.3")
        assert found is not None and found.id == "m3"
        assert await uow.messages.find_by_provider_id("clinic1", "chan2", "wamid.3") is None
        assert await uow.messages.find_by_provider_id("clinic2", "chan1", "wamid.3") is None
        first = await uow.messages.list_for_chat("clinic1", "chat1", limit=3)
        assert [m.id for m in first.items] == ["m4", "m3", "m2"]
        second = await uow.messages.list_for_chat(
            "clinic1", "chat1", limit=3, cursor=first.next_cursor
        )
        assert [m.id for m in second.items] == ["m1", "m0"]
        assert second.next_cursor is None
        assert (await uow.messages.list_for_chat("clinic2", "chat1", limit=3)).items == []
        with pytest.raises(NotFound):
            await uow.messages.get("clinic2", "m1")
    with pytest.raises(Conflict):
        async with backend.uow_factory() as uow:
            await uow.messages.save(builders.message(clock.now(), "other", provider_id="wamid.1"))
            await uow.commit()


async def test_message_status_history_round_trips(backend, clock):
    msg = builders.message(clock.now(), "m1", provider_id="wamid.1")
    msg.status = DeliveryStatus.SENT
    msg.apply_status(StatusChange(DeliveryStatus.FAILED, clock.now(), "131047", "window"))
    msg.pull_events()
    async with backend.uow_factory() as uow:
        await uow.messages.save(msg)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.messages.get("clinic1", "m1") == msg


async def test_pending_statuses_are_taken_once(backend, clock):
    pending = PendingStatus(
        clinic_id="clinic1",
        channel_id="chan1",
        provider_message_id="wamid.9",
        change=StatusChange(DeliveryStatus.READ, clock.now()),
        received_at=clock.now(),
    )
    async with backend.uow_factory() as uow:
        await uow.pending_statuses.add(pending)
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert await uow.pending_statuses.take("clinic1", "chan1", "wamid.9") == [pending]
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert await uow.pending_statuses.take("clinic1", "chan1", "wamid.9") == []


async def test_events_are_committed_with_the_change_and_dispatched_once(backend, clock):
    events = [
        CustomerCreated(clinic_id="clinic1", occurred_at=clock.now(), customer_id="c1"),
        ChatClosed(clinic_id="clinic1", occurred_at=clock.now(), chat_id="chat1"),
    ]
    async with backend.uow_factory() as uow:
        uow.record(events[:1])
    assert await backend.outbox.pending() == []
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic())
        uow.record(events)
        await uow.commit()
    pending = await backend.outbox.pending()
    assert [p.event for p in pending] == events
    if backend.reopen is not None:  # durable: still there after a restart
        _, outbox = await backend.reopen()
        assert [p.event for p in await outbox.pending()] == events
    await backend.outbox.mark_dispatched([pending[0].id])
    assert [p.event for p in await backend.outbox.pending()] == events[1:]


async def test_same_message_delivered_ten_times_concurrently_is_stored_once(backend, clock, ids):
    await _seed(backend, clock)
    receive = ReceiveInboundMessage(uow_factory=backend.uow_factory, clock=clock, ids=ids)
    command = ReceiveMessage(
        channel_id="chan1",
        provider_message_id="wamid.ABC",
        sender=[Identity(IdentityKind.WA_ID, "551187654321")],
        sender_name="Maria",
        body="Oi",
    )
    results = await asyncio.gather(*(receive(command) for _ in range(10)))
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.message_id for r in results}) == 1
    async with backend.uow_factory(read_only=True) as uow:
        page = await uow.messages.list_for_chat("clinic1", results[0].chat_id, limit=50)
        assert len(page.items) == 1


async def test_one_person_in_two_number_formats_is_one_customer_even_concurrently(
    backend, clock, ids
):
    await _seed(backend, clock)
    receive = ReceiveInboundMessage(uow_factory=backend.uow_factory, clock=clock, ids=ids)
    senders = ["551187654321", "5511987654321", "551187654321@s.whatsapp.net"]
    kinds = [IdentityKind.WA_ID, IdentityKind.WA_ID, IdentityKind.JID]
    results = await asyncio.gather(
        *(
            receive(
                ReceiveMessage(
                    channel_id="chan1",
                    provider_message_id=f"wamid.{n}",
                    sender=[Identity(kind, sender)],
                    body=f"mensagem {n}",
                )
            )
            for n, (sender, kind) in enumerate(zip(senders, kinds, strict=True))
        )
    )
    assert len({r.customer_id for r in results}) == 1
    assert len({r.chat_id for r in results}) == 1
    async with backend.uow_factory(read_only=True) as uow:
        customer = await uow.customers.get("clinic1", results[0].customer_id)
        assert customer.phone == "+5511987654321"
        chats = await uow.chats.list(ChatQuery(clinic_id="clinic1"))
        assert len(chats.items) == 1 and chats.items[0].unread_count == 3
