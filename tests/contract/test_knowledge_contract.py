"""The knowledge base's contract: the memory, SQLite and Firestore stores, and the hybrid
knowledge base over each of them with embeddings from the fake OpenAI API, keep
documents alike, search Portuguese alike (accents, plurals, synonyms, headings first) and
never mix clinics."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from porfin_adapters.knowledge.hybrid import HybridKnowledgeBase
from porfin_adapters.memory.knowledge import MemoryKnowledgeBase
from porfin_adapters.openai import OpenAIEmbedder, RetryPolicy
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument, chunk_sections
from porfin_core.errors import Conflict, NotFound
from tests.fakes.openai_api import API_KEY, OpenAIApiFake

AT = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

PRICES = """Procedimento: Limpeza (profilaxia); Valor: R$ 180,00
Procedimento: Clareamento a laser; Valor: R$ 1.200,00
Procedimento: Tratamento de canal (endodontia) molar; Valor: R$ 1.100,00
Procedimento: Extração de siso; Valor: R$ 450,00"""

FAQ = """# Perguntas frequentes

## Convênios aceitos

Aceitamos Amil Dental, Bradesco Saúde Dental, OdontoPrev e SulAmérica Odonto.

## Estacionamento

Há estacionamento conveniado ao lado da clínica, com desconto para pacientes.

## Cuidados após extrações

Depois de extrair um dente, não faça bochechos nas primeiras 24 horas e prefira alimentos
frios."""


def document(
    doc_id: str,
    text: str,
    *,
    clinic_id: str = "clinic1",
    title: str = "Documento",
    at: datetime = AT,
) -> tuple[KnowledgeDocument, list[KnowledgeChunk]]:
    drafts = chunk_sections(text)
    doc = KnowledgeDocument(
        id=doc_id,
        clinic_id=clinic_id,
        title=title,
        filename=f"{doc_id}.md",
        media_type="text/markdown",
        size_bytes=len(text.encode()),
        sha256=hashlib.sha256(f"{doc_id}{text}".encode()).hexdigest(),
        chunk_count=len(drafts),
        created_at=at,
        created_by="ana",
    )
    chunks = [
        KnowledgeChunk(
            id=f"{doc_id}-c{i}",
            document_id=doc_id,
            clinic_id=clinic_id,
            ordinal=i,
            text=draft.text,
            heading=draft.heading,
        )
        for i, draft in enumerate(drafts)
    ]
    return doc, chunks


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIApiFake]:
    with OpenAIApiFake.serving() as fake:
        yield fake


def _embedder(server: OpenAIApiFake) -> OpenAIEmbedder:
    server.reset()
    return OpenAIEmbedder(
        api_key=API_KEY, base_url=server.base_url, timeout=5.0, policy=RetryPolicy(max_attempts=1)
    )


@pytest.fixture(
    params=[
        "memory",
        "sqlite",
        "hybrid-memory",
        "hybrid-sqlite",
        pytest.param("firestore", marks=pytest.mark.firestore),
        pytest.param("hybrid-firestore", marks=pytest.mark.firestore),
    ]
)
async def kb(request, tmp_path) -> AsyncIterator:
    if request.param == "memory":
        yield MemoryKnowledgeBase()
    elif request.param == "hybrid-memory":
        embedder = _embedder(request.getfixturevalue("openai_server"))
        yield HybridKnowledgeBase(MemoryKnowledgeBase(), embedder)
        await embedder.aclose()
    elif request.param in ("sqlite", "hybrid-sqlite"):
        db = SqliteDatabase(tmp_path / "porfin.db")
        await db.open()
        if request.param == "sqlite":
            yield SqliteKnowledgeBase(db)
        else:
            embedder = _embedder(request.getfixturevalue("openai_server"))
            yield HybridKnowledgeBase(SqliteKnowledgeBase(db), embedder)
            await embedder.aclose()
        await db.close()
    else:
        from porfin_adapters.firestore.client import close_client
        from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase

        emulator = request.getfixturevalue("firestore_emulator")
        client = emulator.client(emulator.new_project())
        if request.param == "firestore":
            yield FirestoreKnowledgeBase(client, root="t_")
        else:
            embedder = _embedder(request.getfixturevalue("openai_server"))
            yield HybridKnowledgeBase(FirestoreKnowledgeBase(client, root="t_"), embedder)
            await embedder.aclose()
        await close_client(client)


async def _add(kb, *pairs) -> None:
    for doc, chunks in pairs:
        await kb.add(doc, chunks)


async def test_documents_round_trip_newest_first_per_clinic(kb):
    old = document("d1", PRICES, title="Tabela de preços")
    new = document("d2", FAQ, title="FAQ", at=AT + timedelta(minutes=1))
    foreign = document("d3", FAQ, clinic_id="clinic2", title="FAQ")
    await _add(kb, old, new, foreign)
    assert await kb.documents("clinic1") == [new[0], old[0]]
    assert await kb.documents("clinic2") == [foreign[0]]
    assert await kb.documents("clinic3") == []


async def test_a_search_finds_the_chunk_and_its_line_with_title_and_score(kb):
    await _add(kb, document("d1", PRICES, title="Tabela de preços"), document("d2", FAQ))
    [best, *_] = await kb.search("clinic1", "quanto custa a limpeza?")
    assert best.chunk.document_id == "d1"
    assert best.document_title == "Tabela de preços"
    assert best.snippet == "Procedimento: Limpeza (profilaxia); Valor: R$ 180,00"
    assert best.score > 0
    assert best.chunk == document("d1", PRICES)[1][0]


@pytest.mark.parametrize(
    ("query", "chunk_id"),
    [
        ("ESTACIONAMENTO", "d2-c1"),  # case
        ("convenios aceitos", "d2-c0"),  # accents
        ("convênio", "d2-c0"),  # singular of a plural in the text
        ("vocês aceitam o plano da amil?", "d2-c0"),  # stopwords and a synonym
        ("profilaxia", "d1-c0"),  # a procedure by its other name
        ("endodontia", "d1-c0"),
        ("cuidados depois de tirar um dente", "d2-c2"),  # verb forms and synonyms
    ],
)
async def test_search_is_portuguese_aware(kb, query, chunk_id):
    await _add(kb, document("d1", PRICES), document("d2", FAQ))
    found = await kb.search("clinic1", query)
    assert found, query
    assert found[0].chunk.id == chunk_id


async def test_a_match_in_a_heading_ranks_above_one_in_the_text(kb):
    text = "## Clareamento\n\nSessões semanais.\n\n## Restaurações\n\nApós o clareamento, espere."
    await _add(kb, document("d1", text))
    found = await kb.search("clinic1", "clareamento")
    assert [r.chunk.heading for r in found] == ["Clareamento", "Restaurações"]
    assert found[0].score > found[1].score


async def test_a_clinic_never_retrieves_another_clinics_chunks(kb):
    await _add(kb, document("d1", PRICES, clinic_id="clinic2"))
    assert await kb.search("clinic1", "limpeza") == []
    assert [r.chunk.clinic_id for r in await kb.search("clinic2", "limpeza")] == ["clinic2"]
    with pytest.raises(NotFound):
        await kb.remove("clinic1", "d1")


async def test_removing_a_document_removes_its_chunks_from_search(kb):
    await _add(kb, document("d1", PRICES), document("d2", FAQ))
    removed = await kb.remove("clinic1", "d1")
    assert removed.id == "d1"
    assert [d.id for d in await kb.documents("clinic1")] == ["d2"]
    assert all(r.chunk.document_id == "d2" for r in await kb.search("clinic1", "limpeza"))
    assert await kb.search("clinic1", "profilaxia") == []
    with pytest.raises(NotFound):
        await kb.remove("clinic1", "d1")


async def test_one_file_is_kept_once_per_clinic(kb):
    doc, chunks = document("d1", PRICES)
    await kb.add(doc, chunks)
    again = document("d9", PRICES)[0]
    same_file = KnowledgeDocument(**{**_fields(again), "sha256": doc.sha256})
    with pytest.raises(Conflict):
        await kb.add(same_file, [])
    elsewhere = KnowledgeDocument(**{**_fields(doc), "id": "d5", "clinic_id": "clinic2"})
    await kb.add(elsewhere, [])
    assert [d.id for d in await kb.documents("clinic1")] == ["d1"]


async def test_limits_and_empty_queries(kb):
    await _add(kb, document("d1", PRICES), document("d2", FAQ))
    assert len(await kb.search("clinic1", "procedimento valor", limit=1)) == 1
    assert await kb.search("clinic1", "o que é isso?") == []  # only stopwords
    assert await kb.search("clinic1", "xilofone") == []
    assert await kb.search("clinic9", "limpeza") == []


async def test_sqlite_keeps_what_was_added_across_a_restart(tmp_path):
    first = SqliteDatabase(tmp_path / "porfin.db")
    await first.open()
    await _add(SqliteKnowledgeBase(first), document("d1", PRICES))
    await first.close()
    second = SqliteDatabase(tmp_path / "porfin.db")
    await second.open()
    try:
        reopened = SqliteKnowledgeBase(second)
        assert [d.id for d in await reopened.documents("clinic1")] == ["d1"]
        assert (await reopened.search("clinic1", "siso"))[0].chunk.document_id == "d1"
    finally:
        await second.close()


async def test_memory_and_sqlite_rank_alike(tmp_path):
    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    try:
        stores = [MemoryKnowledgeBase(), SqliteKnowledgeBase(db)]
        for kb in stores:
            await _add(kb, document("d1", PRICES, title="Preços"), document("d2", FAQ))
        for query in ("quanto custa o clareamento", "aceita amil", "estacionamento", "siso"):
            memory, sqlite = [await kb.search("clinic1", query, limit=10) for kb in stores]
            assert [(r.chunk.id, r.snippet) for r in memory] == [
                (r.chunk.id, r.snippet) for r in sqlite
            ]
            assert [r.score for r in memory] == pytest.approx([r.score for r in sqlite])
    finally:
        await db.close()


def _fields(doc: KnowledgeDocument) -> dict:
    return {
        name: getattr(doc, name)
        for name in (
            "id",
            "clinic_id",
            "title",
            "filename",
            "media_type",
            "size_bytes",
            "sha256",
            "chunk_count",
            "created_at",
            "created_by",
        )
    }
