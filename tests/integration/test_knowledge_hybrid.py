"""Hybrid retrieval with embeddings from the fake OpenAI API, through the container's use
cases: paraphrases the lexical index misses are found; every lexical answer of the realistic
knowledge base stays first; when the embedder fails, searches are lexical (never an error)
and documents added meanwhile get their vectors from ``ReindexKnowledge``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from dependency_injector import providers

from porfin_adapters.container import Container
from porfin_adapters.knowledge.hybrid import HybridKnowledgeBase, fuse
from porfin_adapters.memory.knowledge import MemoryKnowledgeBase
from porfin_adapters.openai import OpenAIEmbedder, RetryPolicy
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.knowledge import SqliteKnowledgeBase
from porfin_core.errors import ModelUnavailable
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.reindex_knowledge import KnowledgeReindex
from porfin_core.use_cases.search_knowledge import KnowledgeQuery
from tests.contract.test_knowledge_contract import FAQ, PRICES, document
from tests.fakes.openai_api import (
    API_KEY,
    EMBEDDINGS,
    OpenAIApiFake,
    delayed,
    dropped,
    embeddings_answer,
    failure,
    malformed,
)
from tests.support import FixedClock, SequentialIds
from tests.unit.test_knowledge_retrieval import QUESTIONS

KB = Path(__file__).resolve().parents[1] / "data" / "assistant" / "kb"

# A patient's words -> what the chunk that answers talks about; no word or synonym in common.
PARAPHRASES = {
    "meu dente ficou amarelado, tem jeito?": "clareamento",
    "queria deixar os dentes mais brancos": "clareamento",
    "tenho uma mancha escura no dente da frente": "clareamento",
    "perdi um dente, o que dá pra fazer?": "implante",
}


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIApiFake]:
    with OpenAIApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(openai_server) -> OpenAIApiFake:
    openai_server.reset()
    return openai_server


@pytest.fixture
async def embedder(fake):
    async def no_wait(_: float) -> None:
        return None

    built = OpenAIEmbedder(
        api_key=API_KEY,
        base_url=fake.base_url,
        timeout=0.5,
        policy=RetryPolicy(max_attempts=2),
        sleep=no_wait,
    )
    yield built
    await built.aclose()


def _container(tmp_path: Path, embedder: OpenAIEmbedder | None) -> Container:
    built = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    built.clock.override(providers.Object(FixedClock()))
    built.ids.override(providers.Object(SequentialIds()))
    built.openai_embedder.override(providers.Object(embedder))
    return built


@pytest.fixture
def lexical(tmp_path) -> Container:
    return _container(tmp_path / "lexical", None)


@pytest.fixture
def hybrid(tmp_path, embedder) -> Container:
    return _container(tmp_path / "hybrid", embedder)


async def _load(container: Container) -> tuple[str, dict[str, str]]:
    """The clinic's id and the files of the realistic knowledge base by document id."""
    clinic_id = (await container.set_up_installation()()).clinic.id
    names = {}
    for path in sorted(KB.iterdir()):
        added = await container.add_knowledge_document()(
            NewKnowledgeDocument(clinic_id=clinic_id, filename=path.name, data=path.read_bytes())
        )
        names[added.document.id] = path.name
    return clinic_id, names


async def _search(container: Container, clinic_id: str, question: str, limit: int = 3):
    return await container.search_knowledge()(
        KnowledgeQuery(clinic_id=clinic_id, query=question, limit=limit)
    )


def _talks_about(found, subject: str) -> bool:
    return subject in f"{found.chunk.heading or ''}\n{found.chunk.text}".lower()


def test_the_container_is_hybrid_only_with_an_embedder(lexical, hybrid):
    assert isinstance(hybrid.knowledge_base(), HybridKnowledgeBase)
    assert isinstance(lexical.knowledge_base(), MemoryKnowledgeBase)
    assert lexical.knowledge_vectors() is None


@pytest.mark.parametrize(("question", "subject"), PARAPHRASES.items(), ids=list(PARAPHRASES))
async def test_a_paraphrase_is_found_only_with_embeddings(lexical, hybrid, question, subject):
    clinic_id, _ = await _load(lexical)
    without = await _search(lexical, clinic_id, question)
    assert not without or not _talks_about(without[0], subject)
    clinic_id, _ = await _load(hybrid)
    found = await _search(hybrid, clinic_id, question)
    assert any(_talks_about(f, subject) for f in found), [f.snippet for f in found]


@pytest.mark.parametrize(("question", "expected"), QUESTIONS.items(), ids=list(QUESTIONS))
async def test_the_lexical_answers_stay_first(hybrid, question, expected):
    clinic_id, names = await _load(hybrid)
    filename, snippet = expected
    [best, *_] = await _search(hybrid, clinic_id, question)
    assert names[best.chunk.document_id] == filename
    assert snippet in best.snippet


@pytest.mark.parametrize(
    "answers",
    [
        [failure(429), failure(429)],
        [failure(500), failure(503)],
        [delayed(2.0), delayed(2.0)],
        [malformed(), dropped()],
        [failure(401)],
    ],
    ids=["429", "5xx", "timeout", "malformed", "401"],
)
async def test_when_embeddings_fail_the_search_is_lexical(hybrid, fake, answers):
    clinic_id, _ = await _load(hybrid)
    question = "quanto custa o clareamento"
    words_only = await hybrid.knowledge_base().store.search(clinic_id, question, 3)
    fake.script(*answers, path=EMBEDDINGS)
    found = await _search(hybrid, clinic_id, question)
    assert [(f.chunk.id, f.snippet) for f in found] == [(f.chunk.id, f.snippet) for f in words_only]
    # Once the embedder is back, the same search is hybrid again.
    again = await _search(hybrid, clinic_id, "meu dente ficou amarelado, tem jeito?")
    assert any(_talks_about(f, "clareamento") for f in again)


async def test_documents_added_while_embeddings_fail_are_reindexed(hybrid, fake):
    clinic_id = (await hybrid.set_up_installation()()).clinic.id
    fake.script(failure(500), failure(500), path=EMBEDDINGS)
    added = await hybrid.add_knowledge_document()(
        NewKnowledgeDocument(
            clinic_id=clinic_id, filename="faq.md", data=(KB / "faq.md").read_bytes()
        )
    )
    reindex = hybrid.reindex_knowledge()
    before = await reindex(KnowledgeReindex(clinic_id=clinic_id, dry_run=True))
    assert (before.chunks, before.embedded, before.missing) == (added.document.chunk_count, 0, 11)
    lexical_only = await _search(hybrid, clinic_id, "queria deixar os dentes mais brancos")
    assert not any(_talks_about(f, "clareamento") for f in lexical_only[:1])

    done = await reindex(KnowledgeReindex(clinic_id=clinic_id))
    assert (done.added, done.embedded, done.missing) == (11, 11, 0)
    assert (await reindex(KnowledgeReindex(clinic_id=clinic_id))).added == 0  # idempotent
    rebuilt = await reindex(KnowledgeReindex(clinic_id=clinic_id, rebuild=True))
    assert (rebuilt.added, rebuilt.missing) == (11, 0)
    [best, *_] = await _search(hybrid, clinic_id, "queria deixar os dentes mais brancos")
    assert _talks_about(best, "clareamento")


async def test_reindex_reports_when_embeddings_are_not_configured(lexical):
    clinic_id = (await lexical.set_up_installation()()).clinic.id
    with pytest.raises(ModelUnavailable) as caught:
        await lexical.reindex_knowledge()(KnowledgeReindex(clinic_id=clinic_id))
    assert caught.value.reason == "not_configured"


async def test_a_reindex_that_fails_keeps_the_batches_done(embedder, fake):
    kb = HybridKnowledgeBase(MemoryKnowledgeBase(), embedder, batch=2)
    doc, chunks = document("d1", FAQ)
    fake.script(failure(500), failure(500), path=EMBEDDINGS)
    await kb.add(doc, chunks)
    assert (await kb.coverage("clinic1")).missing == 3
    fake.script(embeddings_answer(), failure(503), failure(503), path=EMBEDDINGS)
    with pytest.raises(ModelUnavailable):
        await kb.fill("clinic1")
    assert (await kb.coverage("clinic1")).missing == 1
    assert (await kb.fill("clinic1")).added == 1


@pytest.fixture(params=["memory", "sqlite", pytest.param("firestore", marks=pytest.mark.firestore)])
async def store(request, tmp_path):
    if request.param == "memory":
        yield MemoryKnowledgeBase()
    elif request.param == "sqlite":
        db = SqliteDatabase(tmp_path / "porfin.db")
        await db.open()
        yield SqliteKnowledgeBase(db)
        await db.close()
    else:
        from porfin_adapters.firestore.client import close_client
        from porfin_adapters.firestore.knowledge import FirestoreKnowledgeBase

        emulator = request.getfixturevalue("firestore_emulator")
        client = emulator.client(emulator.new_project())
        yield FirestoreKnowledgeBase(client, root="t_")
        await close_client(client)


async def test_vectors_live_and_die_with_their_chunks(store, embedder):
    kb = HybridKnowledgeBase(store, embedder)
    prices, faq = document("d1", PRICES), document("d2", FAQ)
    await kb.add(*prices)
    await kb.add(*faq)
    model = embedder.model
    kept = await store.vectors("clinic1", model)
    assert set(kept) == {c.id for c in prices[1] + faq[1]}
    assert all(len(v) == 256 for v in kept.values())
    assert await store.vectors("clinic2", model) == {}
    await kb.remove("clinic1", "d1")
    assert set(await store.vectors("clinic1", model)) == {c.id for c in faq[1]}
    # Vectors of another model are ignored, and replaced by a reindex.
    await store.put_vectors("clinic1", "other-model", {faq[1][0].id: [1.0, 0.0]})
    assert set(await store.vectors("clinic1", model)) == {c.id for c in faq[1][1:]}
    assert (await kb.coverage("clinic1")).missing == 1
    assert (await kb.fill("clinic1")).added == 1
    assert await store.vectors("clinic1", "other-model") == {}
    # A vector for a chunk that is gone is not kept.
    await store.put_vectors("clinic1", model, {"nope": [1.0, 0.0]})
    assert "nope" not in await store.vectors("clinic1", model)


async def test_a_question_of_stopwords_or_unknown_words_finds_nothing(store, embedder):
    kb = HybridKnowledgeBase(store, embedder)
    await kb.add(*document("d1", PRICES))
    assert await kb.search("clinic1", "o que é isso?") == []
    assert await kb.search("clinic1", "xilofone") == []


def test_fusion_keeps_strong_lexical_matches_first_then_ranks_by_reciprocal_rank():
    assert fuse(["a", "b", "c"], ["c", "d", "b"], exact=["b"], k=60) == [
        ("b", pytest.approx(2.0 + 61 / 62)),
        ("c", pytest.approx(61 / 63 + 1.0)),
        ("a", pytest.approx(1.0)),
        ("d", pytest.approx(61 / 62)),
    ]


async def test_scores_stay_on_the_lexical_scale_and_never_rise(hybrid):
    # The offline engine trusts a first result scoring 2 or more, as it does lexically.
    clinic_id, _ = await _load(hybrid)
    question = "quanto custa o clareamento"
    words_only = await hybrid.knowledge_base().store.search(clinic_id, question, 3)
    found = await _search(hybrid, clinic_id, question)
    assert (found[0].chunk.id, found[0].score) == (words_only[0].chunk.id, words_only[0].score)
    for paraphrase in PARAPHRASES:
        scores = [f.score for f in await _search(hybrid, clinic_id, paraphrase, 5)]
        assert scores == sorted(scores, reverse=True)


async def test_a_slow_embedder_does_not_keep_a_patient_waiting(fake, embedder):
    kb = HybridKnowledgeBase(MemoryKnowledgeBase(), embedder, query_timeout=0.2)
    await kb.add(*document("d1", PRICES))
    fake.script(delayed(0.4, embeddings_answer()), path=EMBEDDINGS)
    found = await kb.search("clinic1", "quanto custa a limpeza")
    assert found == await kb.store.search("clinic1", "quanto custa a limpeza")
