"""Every storage adapter, behind one fixture: each contract test runs once per backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from porfin_adapters.memory.storage import MemoryEventOutbox, MemoryUnitOfWorkFactory
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.storage import SqliteEventOutbox, SqliteUnitOfWorkFactory
from tests.support import FixedClock, SequentialIds


class Backend:
    """What a contract test needs from a storage backend."""

    def __init__(self, name: str, uow_factory, outbox, reopen=None) -> None:
        self.name = name
        self.uow_factory = uow_factory
        self.outbox = outbox
        # Returns a fresh (uow_factory, outbox) on the same durable data, as after a restart;
        # None for backends without durability (memory).
        self.reopen = reopen


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


async def _memory(ids, tmp_path, request) -> AsyncIterator[Backend]:
    factory = MemoryUnitOfWorkFactory(ids)
    yield Backend("memory", factory, MemoryEventOutbox(factory.store))


async def _sqlite(ids, tmp_path, request) -> AsyncIterator[Backend]:
    path = tmp_path / "porfin.db"
    opened = []

    async def open_db():
        db = SqliteDatabase(path)
        await db.open()
        opened.append(db)
        return SqliteUnitOfWorkFactory(db, ids), SqliteEventOutbox(db)

    factory, outbox = await open_db()
    yield Backend("sqlite", factory, outbox, reopen=open_db)
    for db in opened:
        await db.close()


async def _firestore(ids, tmp_path, request) -> AsyncIterator[Backend]:
    from porfin_adapters.firestore.client import close_client
    from porfin_adapters.firestore.storage import FirestoreEventOutbox, FirestoreUnitOfWorkFactory

    emulator = request.getfixturevalue("firestore_emulator")
    project = emulator.new_project()  # an empty database of its own for every test
    clients = []

    async def open_store():
        client = emulator.client(project)
        clients.append(client)
        return FirestoreUnitOfWorkFactory(client, ids), FirestoreEventOutbox(client)

    factory, outbox = await open_store()
    yield Backend("firestore", factory, outbox, reopen=open_store)
    for client in clients:
        await close_client(client)


BACKENDS = {"memory": _memory, "sqlite": _sqlite, "firestore": _firestore}
BACKEND_MARKS = {"firestore": [pytest.mark.firestore]}
# Slow on one backend only: the Firestore emulator settles each lock conflict after a 2 s
# lock timeout, and these tests are made of conflicts.
SLOW_ON = {
    "firestore": {
        "test_same_message_delivered_ten_times_concurrently_is_stored_once",
        "test_one_person_in_two_number_formats_is_one_customer_even_concurrently",
        "test_concurrent_appends_from_two_processes_never_fork_the_chain",
        "test_two_concurrent_creations_of_one_e_mail_make_one_account",
        "test_a_refresh_token_is_spent_once_even_concurrently",
        "test_two_units_of_work_holding_one_agenda_date_do_not_both_commit",
        "test_ten_concurrent_bookings_of_one_slot_make_one_appointment",
        "test_overlapping_bookings_at_different_times_make_one_appointment",
        "test_bookings_of_different_professionals_all_succeed",
        "test_a_reschedule_racing_a_booking_into_one_slot_lets_one_through",
        "test_two_workers_never_claim_the_same_job",
        "test_one_key_scheduled_concurrently_makes_one_job",
        "test_two_units_of_work_adding_to_one_month_do_not_both_commit",
        "test_concurrent_turns_of_two_processes_lose_no_spending",
    }
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec is not None else None
        if getattr(item, "originalname", None) in SLOW_ON.get(backend, ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(
    params=[pytest.param(name, marks=BACKEND_MARKS.get(name, ())) for name in sorted(BACKENDS)]
)
async def backend(request, ids, tmp_path) -> AsyncIterator[Backend]:
    async for value in BACKENDS[request.param](ids, tmp_path, request):
        yield value
