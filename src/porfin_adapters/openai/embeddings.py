"""The knowledge base's embeddings through ``POST /embeddings`` (OpenAI's
``text-embedding-3-small`` by default, or any compatible server: Azure, Ollama, vLLM)."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence

import openai

from porfin_adapters.openai.client import LoopClient, RetryPolicy, Sleep, with_retries
from porfin_adapters.openai.config import DEFAULT_BASE_URL
from porfin_adapters.openai.failures import TRANSLATED, Failure, classify

BATCH_SIZE = 100
"""Texts per request: OpenAI takes up to 2048 inputs and 300,000 tokens per call; 100 chunks
of at most 900 characters stay far below, and a failed batch costs little to retry."""

_SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError, ValueError)


class OpenAIEmbedder:
    """:class:`~porfin_core.ports.knowledge.Embedder` on an OpenAI-compatible server.

    Texts go in batches of at most ``batch_size``; each batch is retried like the chat
    model's calls (429, 5xx, timeouts, dropped connections, malformed answers; backoff with
    jitter or the server's ``retry-after``), with one model and no fallback. Every failure
    leaves as :class:`~porfin_core.errors.ModelUnavailable`.

    Args:
        api_key: The server's key; any non-empty string for local servers.
        base_url: The API's root.
        model: ``text-embedding-3-small`` (default), ``text-embedding-3-large``, a local
            server's model (``nomic-embed-text`` on Ollama...).
        timeout: Seconds for connecting and for each read (per call).
        policy: Attempts and backoff.
        batch_size: Texts per request (1-2048).
        dimensions: Shorter vectors (text-embedding-3 and later only); None: the model's.
        default_headers: Extra headers on every request.
        sleep: Waits between attempts (injected in tests).
        jitter: Random numbers in [0, 1) for the backoff's jitter.
        now: Wall-clock seconds (for ``retry-after`` given as a date).
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        model: str = "text-embedding-3-small",
        timeout: float = 20.0,
        policy: RetryPolicy | None = None,
        batch_size: int = BATCH_SIZE,
        dimensions: int | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not 1 <= batch_size <= 2048:
            raise ValueError("batch_size must be between 1 and 2048")
        self._client = LoopClient(
            api_key=api_key, base_url=base_url, timeout=timeout, default_headers=default_headers
        )
        self._model = model
        self.policy = policy or RetryPolicy()
        self.batch_size = batch_size
        self._dimensions = dimensions
        self._sleep = sleep
        self._jitter = jitter
        self._now = now

    @property
    def model(self) -> str:
        """The embedding model (vectors of different models are never compared)."""
        return self._model

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._client.aclose()

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order (see :class:`~porfin_core.ports.knowledge.Embedder`).

        Raises:
            ModelUnavailable: a batch could not be embedded (``reason`` as for chat).
        """
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            vectors.extend(await self._batch(texts[start : start + self.batch_size]))
        return vectors

    async def _batch(self, texts: Sequence[str]) -> list[list[float]]:
        # OpenAI refuses empty strings (400); a blank chunk has no meaning to embed anyway.
        inputs = [text if text.strip() else "." for text in texts]

        async def attempt(model: str) -> list[list[float]]:
            try:
                result = await self._client.get().embeddings.create(
                    model=model,
                    input=inputs,
                    encoding_format="float",
                    dimensions=openai.omit if self._dimensions is None else self._dimensions,
                )
            except TRANSLATED as exc:
                raise classify(exc, now=self._now) from exc
            try:
                return _vectors(result, len(inputs))
            except _SHAPE_ERRORS as exc:
                raise Failure(
                    reason="server_error",
                    message="the embedding server sent an answer of the wrong shape "
                    f"({type(exc).__name__})",
                    retryable=True,
                ) from exc

        outcome = await with_retries(
            attempt,
            [self._model],
            policy=self.policy,
            sleep=self._sleep,
            jitter=self._jitter,
            now=self._now,
            fields={"base_url": self._client.base_url, "operation": "embed"},
        )
        return outcome.value


def _vectors(result: object, expected: int) -> list[list[float]]:
    """The vectors of an embeddings answer, in the inputs' order.

    Raises:
        ValueError: not one finite vector per input, all of one length.
    """
    data = sorted(result.data, key=lambda item: item.index)  # type: ignore[attr-defined]
    vectors = [[float(x) for x in item.embedding] for item in data]
    if len(vectors) != expected or [item.index for item in data] != list(range(expected)):
        raise ValueError(f"{len(vectors)} vectors for {expected} texts")
    size = len(vectors[0]) if vectors else 0
    for vector in vectors:
        if not vector or len(vector) != size or not all(math.isfinite(x) for x in vector):
            raise ValueError("vectors of different lengths, empty or not finite")
    return vectors
