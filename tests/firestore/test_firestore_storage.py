"""Firestore adapter behaviour beyond the storage contract: document ids, search, errors."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import timedelta

import attrs
import pytest

from porfin_adapters.firestore import storage as fs
from porfin_adapters.firestore.client import close_client, ping
from porfin_adapters.firestore.storage import FirestoreEventOutbox, FirestoreUnitOfWorkFactory
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.domain.events import ChatClosed
from porfin_core.errors import StorageUnavailable, TransactionConflict, ValidationError
from porfin_core.pagination import encode_cursor
from porfin_core.ports.storage import ChatQuery
from tests import builders
from tests.support import FixedClock, SequentialIds

pytestmark = pytest.mark.firestore


@pytest.fixture
async def factory(firestore_emulator):
    client = firestore_emulator.client(firestore_emulator.new_project())
    yield FirestoreUnitOfWorkFactory(client, SequentialIds(), root="t_")
    await close_client(client)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def test_ids_that_are_not_valid_document_ids_round_trip(factory, clock):
    customer = builders.customer(clock.now(), "cust/1", clinic_id="a/b")
    customer.add_identity(Identity(IdentityKind.LID, "__lid/9__"))
    message = builders.message(clock.now(), "m/1", clinic_id="a/b", provider_id="wamid/1%2F")
    async with factory() as uow:
        await uow.clinics.save(builders.clinic("a/b"))
        await uow.channels.save(builders.channel(clock.now(), "..", "a/b"))
        await uow.customers.save(customer)
        await uow.messages.save(message)
        await uow.commit()
    async with factory(read_only=True) as uow:
        assert (await uow.clinics.get("a/b")).id == "a/b"
        assert (await uow.channels.get("..")).clinic_id == "a/b"
        found = await uow.customers.find_by_identity("a/b", ["lid:__lid/9__"])
        assert found == customer
        assert await uow.messages.find_by_provider_id("a/b", "chan1", "wamid/1%2F") == message
        assert await uow.messages.find_by_provider_id("a/b", "chan1", "wamid%2F1%2F") is None
    snapshots = [s async for s in factory.client.collection("t_clinics").stream()]
    assert [s.id for s in snapshots] == ["a%2Fb"]  # the root prefix names the collections


async def _chats(factory, clock, names):
    async with factory() as uow:
        for n, name in enumerate(names):
            await uow.chats.save(
                builders.chat(
                    clock.now() + timedelta(minutes=n),
                    chat_id=f"chat{n:02d}",
                    customer_id=f"cust{n:02d}",
                    name=name,
                    phone=f"+55119876543{n:02d}",
                )
            )
        await uow.commit()


async def _search(factory, term, **filters):
    async with factory(read_only=True) as uow:
        page = await uow.chats.list(ChatQuery(clinic_id="clinic1", search=term, **filters))
        return [c.id for c in page.items]


async def test_search_matches_from_the_start_of_words(factory, clock):
    await _chats(factory, clock, ["João da Conceição", "Ana Paula", "Paulo Sérgio"])
    async with factory() as uow:
        await uow.messages.save(
            builders.message(clock.now(), "m1", chat_id="chat01", body="Posso remarcar a limpeza?")
        )
        await uow.commit()
    assert await _search(factory, "conc") == ["chat00"]
    assert await _search(factory, "Da Conceição") == ["chat00"]
    assert await _search(factory, "paul") == ["chat02", "chat01"]
    assert await _search(factory, "ceicao") == []  # not at a word start: a documented limit
    assert await _search(factory, "4301") == ["chat01"]
    assert await _search(factory, "limp") == ["chat01"]
    assert await _search(factory, "remarcar a limpeza") == ["chat01"]
    assert await _search(factory, "a limpeza remarcar") == []
    assert await _search(factory, "paul", unread=True) == []
    assert await _search(factory, "   ") == ["chat02", "chat01", "chat00"]
    assert await _search(factory, "?!") == []


async def test_search_pages_stay_complete_when_the_scan_stops_early(factory, clock, monkeypatch):
    monkeypatch.setattr(fs, "_MAX_CHATS_SCANNED", 3)
    await _chats(factory, clock, [f"Maria {n}" for n in range(10)])
    async with factory() as uow:
        for n in (2, 5, 7):
            chat = await uow.chats.get("clinic1", f"chat{n:02d}")
            chat.unread_count = 1
            await uow.chats.save(chat)
        await uow.messages.save(builders.message(clock.now(), "m1", chat_id="chat03", body="maria"))
        await uow.commit()
    seen, cursor, pages = [], None, 0
    async with factory(read_only=True) as uow:
        while True:
            query = ChatQuery(clinic_id="clinic1", search="maria", unread=True, limit=2)
            page = await uow.chats.list(attrs.evolve(query, cursor=cursor))
            seen += [c.id for c in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert seen == ["chat07", "chat05", "chat02"]
    assert pages >= 2


async def test_cursors_of_another_shape_are_rejected(factory):
    async with factory(read_only=True) as uow:
        for cursor in (encode_cursor("x", "chat1"), encode_cursor(1, "a/b"), encode_cursor(1, 2)):
            with pytest.raises(ValidationError):
                await uow.chats.list(ChatQuery(clinic_id="clinic1", cursor=cursor))
            with pytest.raises(ValidationError):
                await uow.messages.list_for_chat("clinic1", "chat1", limit=5, cursor=cursor)


async def test_read_only_units_of_work_cannot_commit(factory):
    async with factory(read_only=True) as uow:
        with pytest.raises(RuntimeError):
            await uow.commit()


async def test_outbox_keeps_event_ids_and_order(firestore_emulator, clock):
    client = firestore_emulator.client(firestore_emulator.new_project())
    factory = FirestoreUnitOfWorkFactory(client, SequentialIds("evt/"), root="r_")
    committed = []
    factory.on_commit = committed.extend
    try:
        events = [
            ChatClosed(clinic_id="clinic1", occurred_at=clock.now(), chat_id=f"c{n}")
            for n in range(3)
        ]
        async with factory() as uow:
            uow.record(events)
            await uow.commit()
        outbox = FirestoreEventOutbox(client, root="r_")
        pending = await outbox.pending()
        assert pending == committed
        assert [p.id for p in pending] == ["evt/000001", "evt/000002", "evt/000003"]
        await outbox.mark_dispatched([p.id for p in pending[:2]])
        assert [p.event for p in await outbox.pending()] == events[2:]
        assert await FirestoreEventOutbox(client).pending() == []  # another root
    finally:
        await close_client(client)


@pytest.mark.slow
async def test_a_lock_conflict_becomes_transaction_conflict(factory, clock):
    async with factory() as setup:
        await setup.clinics.save(builders.clinic())
        await setup.commit()
    # Units of work of one process take turns; two factories stand for two processes.
    other_process = FirestoreUnitOfWorkFactory(factory.client, SequentialIds(), root="t_")
    async with factory() as first, other_process() as second:
        await first.clinics.get("clinic1")
        await second.clinics.get("clinic1")
        await first.clinics.save(builders.clinic(name="Primeira"))
        with pytest.raises(TransactionConflict):
            await first.commit()  # waits for second's read lock, then gives up
        await second.clinics.save(builders.clinic(name="Segunda"))
        await second.commit()
    async with factory(read_only=True) as uow:
        assert (await uow.clinics.get("clinic1")).name == "Segunda"


@pytest.mark.slow
async def test_an_unreachable_server_fails_fast_with_storage_unavailable(
    firestore_emulator, monkeypatch
):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", dead)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.firestore import AsyncClient

    client = AsyncClient(project="unreachable", credentials=AnonymousCredentials())
    factory = FirestoreUnitOfWorkFactory(client, SequentialIds())
    try:
        started = time.monotonic()
        for read_only in (True, False):
            with pytest.raises(StorageUnavailable):
                async with factory(read_only=read_only) as uow:
                    await uow.clinics.get("clinic1")
        assert time.monotonic() - started < 10
        assert not await asyncio.wait_for(ping(client), 5)
    finally:
        await close_client(client)
