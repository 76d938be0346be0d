"""Choosing the knowledge base for the settings' storage, hybrid when an embedder is
configured."""

from __future__ import annotations

from typing import TYPE_CHECKING

from porfin_adapters.settings import StorageKind
from porfin_adapters.storage import StorageBackend
from porfin_core.ports.knowledge import Embedder, KnowledgeBase, KnowledgeVectors

if TYPE_CHECKING:
    from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase
    from porfin_adapters.memory.knowledge import MemoryKnowledgeBase
    from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase


def build_knowledge_base(
    storage: StorageBackend, embedder: Embedder | None = None
) -> KnowledgeBase:
    """The knowledge base next to the records: in the SQLite database, in Firestore
    (ranked in the process), or in memory, as the storage backend is (imports only what it
    needs). With ``embedder`` (OpenAI embeddings configured), it searches by words and by
    meaning (:class:`~porfin_adapters.knowledge.hybrid.HybridKnowledgeBase`)."""
    if storage.kind is StorageKind.SQLITE:
        from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase

        store: SqliteKnowledgeBase | FirestoreKnowledgeBase | MemoryKnowledgeBase
        store = SqliteKnowledgeBase(storage.uow_factory.db)
    elif storage.kind is StorageKind.FIRESTORE:
        from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase

        factory = storage.uow_factory
        store = FirestoreKnowledgeBase(factory.client, factory.root)
    else:
        from porfin_adapters.memory.knowledge import MemoryKnowledgeBase

        store = MemoryKnowledgeBase()
    if embedder is None:
        return store
    from porfin_adapters.knowledge.hybrid import HybridKnowledgeBase

    return HybridKnowledgeBase(store, embedder)


def knowledge_vectors(knowledge: KnowledgeBase) -> KnowledgeVectors | None:
    """The knowledge base's embeddings when it has an embedder (None: lexical only)."""
    from porfin_adapters.knowledge.hybrid import HybridKnowledgeBase

    return knowledge if isinstance(knowledge, HybridKnowledgeBase) else None
