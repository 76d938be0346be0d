"""The knowledge base's embeddings through the fake OpenAI API: one vector per text in order,
batches of at most 100, retries like the chat model, and every failure as
``ModelUnavailable``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from porfin_adapters.openai import OpenAIEmbedder, RetryPolicy
from porfin_adapters.openai.config import build_openai_embedder
from porfin_adapters.settings import Settings
from porfin_core.errors import ModelUnavailable
from tests.fakes.openai_api import (
    API_KEY,
    EMBEDDINGS,
    OpenAIApiFake,
    delayed,
    dropped,
    failure,
    fake_embedding,
    json_answer,
    malformed,
)


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIApiFake]:
    with OpenAIApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(openai_server) -> OpenAIApiFake:
    openai_server.reset()
    return openai_server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def make(fake, sleeps):
    made: list[OpenAIEmbedder] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def build(**options) -> OpenAIEmbedder:
        options.setdefault("timeout", 5.0)
        embedder = OpenAIEmbedder(
            api_key=API_KEY, base_url=fake.base_url, sleep=sleep, jitter=lambda: 0.0, **options
        )
        made.append(embedder)
        return embedder

    yield build
    for embedder in made:
        await embedder.aclose()


async def test_one_vector_per_text_in_order(fake, make):
    embedder = make()
    texts = ["Clareamento a laser", "Tem estacionamento?", "Aceitamos Amil"]
    vectors = await embedder.embed(texts)
    assert vectors == [fake_embedding(text) for text in texts]
    [request] = fake.calls(EMBEDDINGS)
    assert request.json == {
        "model": "text-embedding-3-small",
        "input": texts,
        "encoding_format": "float",
    }
    assert request.headers["authorization"] == f"Bearer {API_KEY}"


async def test_texts_go_in_batches_of_at_most_100(fake, make):
    embedder = make(dimensions=32)
    texts = [f"trecho {i} sobre clareamento" for i in range(250)]
    vectors = await embedder.embed(texts)
    assert [len(r.json["input"]) for r in fake.calls(EMBEDDINGS)] == [100, 100, 50]
    assert [r.json["dimensions"] for r in fake.calls(EMBEDDINGS)] == [32, 32, 32]
    assert vectors == [fake_embedding(text, 32) for text in texts]
    assert await embedder.embed([]) == []
    assert len(fake.calls(EMBEDDINGS)) == 3  # nothing to embed, nothing sent


async def test_a_blank_text_is_sent_as_something_openai_accepts(fake, make):
    embedder = make()
    assert len(await embedder.embed(["", "  ", "limpeza"])) == 3
    assert fake.calls(EMBEDDINGS)[0].json["input"] == [".", ".", "limpeza"]


async def test_answers_out_of_order_are_put_back_in_order(fake, make):
    data = [
        {"object": "embedding", "index": 1, "embedding": [0.0, 1.0]},
        {"object": "embedding", "index": 0, "embedding": [1.0, 0.0]},
    ]
    fake.script(json_answer({"object": "list", "data": data, "model": "m"}), path=EMBEDDINGS)
    assert await make().embed(["a", "b"]) == [[1.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    "answer",
    [failure(429, retry_after="1"), failure(500), failure(503), malformed(), dropped()],
    ids=["429", "500", "503", "malformed", "dropped"],
)
async def test_passing_failures_are_retried(fake, sleeps, make, answer):
    fake.script(answer, path=EMBEDDINGS)
    embedder = make(policy=RetryPolicy(max_attempts=2))
    assert await embedder.embed(["limpeza"]) == [fake_embedding("limpeza")]
    assert len(fake.calls(EMBEDDINGS)) == 2
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("answers", "reason", "calls"),
    [
        ([failure(429), failure(429)], "rate_limited", 2),
        ([failure(500), failure(502)], "server_error", 2),
        ([delayed(2.0), delayed(2.0)], "timeout", 2),
        ([malformed(), malformed()], "server_error", 2),
        ([json_answer({"object": "list", "data": []})] * 2, "server_error", 2),
        ([failure(401)], "unauthorized", 1),
        ([failure(400)], "bad_request", 1),
    ],
    ids=["429", "5xx", "timeout", "malformed", "wrong-count", "401", "400"],
)
async def test_failures_end_as_model_unavailable(fake, make, answers, reason, calls):
    fake.script(*answers, path=EMBEDDINGS)
    embedder = make(timeout=0.5, policy=RetryPolicy(max_attempts=2))
    with pytest.raises(ModelUnavailable) as caught:
        await embedder.embed(["limpeza"])
    assert caught.value.reason == reason
    assert caught.value.fields["operation"] == "embed"
    assert caught.value.fields["models"] == ["text-embedding-3-small"]
    assert len(fake.calls(EMBEDDINGS)) == calls


def test_built_only_with_a_key_and_with_the_configured_model():
    assert build_openai_embedder(Settings()) is None
    built = build_openai_embedder(
        Settings(openai_api_key="sk-x", openai_embedding_model="text-embedding-3-large")
    )
    assert built is not None
    assert built.model == "text-embedding-3-large"
