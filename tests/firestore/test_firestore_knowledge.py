"""Firestore knowledge base beyond the contract: another process sees changes at its next
search, a half-written upload is never searched, and ranking is the memory store's."""

from __future__ import annotations

import pytest

from porfin_adapters.firestore.client import close_client
from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase, _chunk
from porfin_adapters.knowledge.analysis import default_analyzer
from porfin_adapters.knowledge.ranking import index_chunk
from porfin_adapters.memory.knowledge import MemoryKnowledgeBase
from tests.contract.test_knowledge_contract import FAQ, PRICES, document

pytestmark = pytest.mark.firestore


@pytest.fixture
async def client(firestore_emulator):
    client = firestore_emulator.client(firestore_emulator.new_project())
    yield client
    await close_client(client)


async def test_another_process_sees_additions_and_removals(client):
    writer, reader = FirestoreKnowledgeBase(client), FirestoreKnowledgeBase(client)
    assert await reader.search("clinic1", "siso") == []
    await writer.add(*document("d1", PRICES))
    assert (await reader.search("clinic1", "siso"))[0].chunk.document_id == "d1"
    await reader.remove("clinic1", "d1")
    assert await writer.search("clinic1", "siso") == []


async def test_chunks_without_their_document_are_not_searched(client):
    kb = FirestoreKnowledgeBase(client)
    _, chunks = document("d1", PRICES)
    collection = client.collection("clinics").document("clinic1").collection("knowledge_chunks")
    analyzer = default_analyzer()
    for chunk in chunks:  # as if the upload had stopped before writing the document
        await collection.document(chunk.id).set(_chunk(chunk, index_chunk(analyzer, "P", chunk)))
    assert await kb.search("clinic1", "siso") == []
    assert await kb.documents("clinic1") == []
    await kb.add(*document("d2", FAQ))
    assert {r.chunk.document_id for r in await kb.search("clinic1", "siso estacionamento")} == {
        "d2"
    }


async def test_it_ranks_like_the_memory_store(client):
    firestore, memory = FirestoreKnowledgeBase(client), MemoryKnowledgeBase()
    for kb in (firestore, memory):
        await kb.add(*document("d1", PRICES, title="Preços"))
        await kb.add(*document("d2", FAQ))
    for query in ("quanto custa o clareamento", "aceita amil", "estacionamento", "siso"):
        left, right = [await kb.search("clinic1", query, limit=10) for kb in (firestore, memory)]
        assert [(r.chunk, r.snippet) for r in left] == [(r.chunk, r.snippet) for r in right]
        assert [r.score for r in left] == pytest.approx([r.score for r in right])
