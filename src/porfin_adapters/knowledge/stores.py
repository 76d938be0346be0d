"""Choosing the knowledge base for the settings' storage."""

from __future__ import annotations

from porfin_adapters.settings import StorageKind
from porfin_adapters.storage import StorageBackend
from porfin_core.ports.knowledge import KnowledgeBase


def build_knowledge_base(storage: StorageBackend) -> KnowledgeBase:
    """The knowledge base next to the records: in the SQLite database, in Firestore
    (ranked in the process), or in memory, as the storage backend is (imports only what it
    needs)."""
    if storage.kind is StorageKind.SQLITE:
        from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase

        return SqliteKnowledgeBase(storage.uow_factory.db)
    if storage.kind is StorageKind.FIRESTORE:
        from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase

        factory = storage.uow_factory
        return FirestoreKnowledgeBase(factory.client, factory.root)
    from porfin_adapters.memory.knowledge import MemoryKnowledgeBase

    return MemoryKnowledgeBase()
