"""Choosing and running the storage backend named in the settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from porfin_adapters.settings import Settings, StorageKind
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import EventOutbox


@attrs.define
class StorageBackend:
    """A storage backend's unit-of-work factory and outbox, with its lifecycle.

    Attributes:
        kind: Which backend this is.
        uow_factory: Makes units of work (has an ``on_commit`` hook for the dispatcher).
        outbox: Committed, undispatched events.
    """

    kind: StorageKind
    uow_factory: Any
    outbox: EventOutbox
    _open: Callable[[], Awaitable[None]] = attrs.field(alias="open")
    _close: Callable[[], Awaitable[None]] = attrs.field(alias="close")
    _ready: Callable[[], Awaitable[bool]] = attrs.field(alias="ready")

    async def open(self) -> None:
        """Connect (and migrate, for SQLite)."""
        await self._open()

    async def close(self) -> None:
        """Flush and disconnect."""
        await self._close()

    async def ready(self) -> bool:
        """True when the backend answers."""
        return await self._ready()


async def _nothing() -> None:
    return None


async def _always() -> bool:
    return True


def build_storage(settings: Settings, ids: IdGenerator) -> StorageBackend:
    """Assemble the backend ``settings.storage`` names (imports only what it needs)."""
    if settings.storage is StorageKind.SQLITE:
        from porfin_adapters.sqlite.database import SqliteDatabase
        from porfin_adapters.sqlite.storage import SqliteEventOutbox, SqliteUnitOfWorkFactory

        db = SqliteDatabase(settings.database_path)

        async def sqlite_ready() -> bool:
            return db.ping()

        return StorageBackend(
            StorageKind.SQLITE,
            SqliteUnitOfWorkFactory(db, ids),
            SqliteEventOutbox(db),
            open=db.open,
            close=db.close,
            ready=sqlite_ready,
        )
    if settings.storage is StorageKind.FIRESTORE:
        from porfin_adapters.firestore.client import build_firestore_storage

        return build_firestore_storage(settings, ids)
    from porfin_adapters.memory.storage import MemoryEventOutbox, MemoryUnitOfWorkFactory

    factory = MemoryUnitOfWorkFactory(ids)
    return StorageBackend(
        StorageKind.MEMORY,
        factory,
        MemoryEventOutbox(factory.store),
        open=_nothing,
        close=_nothing,
        ready=_always,
    )
