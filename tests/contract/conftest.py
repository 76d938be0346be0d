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


BACKENDS = {"memory": _memory, "sqlite": _sqlite}


@pytest.fixture(params=sorted(BACKENDS))
async def backend(request, ids, tmp_path) -> AsyncIterator[Backend]:
    async for value in BACKENDS[request.param](ids, tmp_path, request):
        yield value
