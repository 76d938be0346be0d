"""Hybrid retrieval: the lexical knowledge base (BM25F in Portuguese, offline) plus embeddings
(OpenAI's, when configured), fused by reciprocal rank.

:class:`HybridKnowledgeBase` wraps any store that also keeps vectors (:class:`VectorStore`:
memory, SQLite, Firestore) and implements the same
:class:`~porfin_core.ports.knowledge.KnowledgeBase` port, so nothing above it changes:

- ``add`` keeps the document lexically first (it answers at once), then embeds its chunks
  (the document's title and the chunk's heading with its text) and keeps the vectors. If the
  embedder fails, the document stays, searched by its words, until ``porfin kb reindex``
  (:meth:`HybridKnowledgeBase.fill`) makes the vectors it lacks.
- ``search`` asks the store for its lexical best, embeds the question, and ranks the clinic's
  vectors by cosine similarity; the two rankings are fused (:func:`fuse`: strong lexical
  matches first, the rest by reciprocal rank). A chunk found only through its vector (a
  paraphrase without a shared word or synonym) must be at least :data:`MIN_SIMILARITY` close.
  Scores stay on the lexical scale (:meth:`HybridKnowledgeBase.search`). When the embedder
  fails, the search is lexical only (logged): retrieval never fails because OpenAI is down.

Vectors are kept unit-length as float32 (``array('f')``), per model: vectors of another model
are ignored until a reindex replaces them.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import math
import operator
from array import array
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import attrs
import structlog

from porfin_adapters.knowledge.analysis import PortugueseAnalyzer, default_analyzer
from porfin_adapters.knowledge.ranking import SNIPPET_MAX
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument
from porfin_core.errors import ModelUnavailable, StorageUnavailable
from porfin_core.ports.knowledge import (
    Embedder,
    KnowledgeBase,
    RetrievedChunk,
    VectorCoverage,
)

log = structlog.get_logger(__name__)

RRF_K = 60
"""Reciprocal rank fusion's constant (Cormack et al., 2009): a chunk's score is the sum over
the rankings of ``1 / (RRF_K + rank)``; large enough that the first few ranks of one ranking
do not drown the other."""
SEMANTIC_WEIGHT = 1.0
"""Weight of the vector ranking in the fusion (the lexical one weighs 1)."""
STRONG_MATCH = 0.75
"""Share of the question's terms (words, stems, synonym concepts) a lexical result must hold
to keep its lead over the vectors' opinion (see :func:`fuse`)."""
CANDIDATES = 20
"""How many chunks each ranking brings to the fusion (at least the limit asked)."""
MIN_SIMILARITY = 0.3
"""Cosine similarity a chunk needs to count in the vector ranking. Tuned for
``text-embedding-3-small``, whose unrelated texts score about 0.0-0.2 and paraphrases 0.3 and
more; without it every question would find its nearest chunks, however far ("xilofone")."""
QUERY_TIMEOUT = 3.0
"""Seconds a search waits for the question's vector, retries included, before answering by
words only: a patient is waiting, and the embedder's own retries could take a minute."""
REINDEX_BATCH = 100
"""Chunks embedded and kept at a time by :meth:`HybridKnowledgeBase.fill`."""
_QUERY_CACHE = 256


class VectorStore(KnowledgeBase, Protocol):
    """A knowledge base that also keeps its chunks' vectors (memory, SQLite, Firestore).

    A vector disappears with its chunk (a removed document takes its vectors along).
    """

    async def put_vectors(
        self, clinic_id: str, model: str, vectors: Mapping[str, Sequence[float]]
    ) -> None:
        """Keep unit ``vectors`` of ``model`` by chunk id (replacing any other vector of
        those chunks; chunks that no longer exist are skipped)."""
        ...

    async def vectors(self, clinic_id: str, model: str) -> Mapping[str, Sequence[float]]:
        """The clinic's vectors of ``model``, by chunk id."""
        ...

    async def drop_vectors(self, clinic_id: str, keep_model: str | None = None) -> None:
        """Forget the clinic's vectors, except those of ``keep_model``."""
        ...

    async def chunks(
        self, clinic_id: str, chunk_ids: Collection[str] | None = None
    ) -> list[tuple[KnowledgeChunk, str]]:
        """The clinic's chunks (those of ``chunk_ids``; all when None) with their document's
        title, in the order they were added."""
        ...


def unit(vector: Sequence[float]) -> array[float]:
    """``vector`` scaled to length 1 as float32 (zero stays zero)."""
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return array("f", (x / norm for x in vector) if norm else vector)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine similarity of two unit vectors (their dot product)."""
    return float(sum(map(operator.mul, a, b)))


def embedding_text(title: str, chunk: KnowledgeChunk) -> str:
    """What is embedded of a chunk: its document's title and section heading give the
    passage its context, as they do for the lexical index."""
    return "\n".join(part for part in (title, chunk.heading, chunk.text) if part)


def fuse(
    lexical: Sequence[str],
    semantic: Sequence[str],
    *,
    exact: Collection[str] = (),
    k: int = RRF_K,
    semantic_weight: float = SEMANTIC_WEIGHT,
) -> list[tuple[str, float]]:
    """Two rankings of chunk ids fused, best first.

    The ``exact`` chunks (lexical results that hold every term of the question) come first,
    in their lexical order, scored ``2 + (k + 1) / (k + rank)``: a chunk that says what was
    asked, in its words or their synonyms, is never pushed down by a vector's opinion. The
    others by reciprocal rank fusion, scored ``(k + 1) * sum(weight / (k + rank))`` over the
    two rankings (1.0 for the first of one ranking, 2.0 for the first of both). Ties keep
    the lexical order, then the semantic one."""
    scores: dict[str, float] = {}
    for ranking, weight in ((lexical, 1.0), (semantic, semantic_weight)):
        for rank, chunk_id in enumerate(ranking, 1):
            scores[chunk_id] = scores.get(chunk_id, 0.0) + weight * (k + 1) / (k + rank)
    lexical_rank = {chunk_id: rank for rank, chunk_id in enumerate(lexical, 1)}
    for chunk_id in exact:
        scores[chunk_id] = 2.0 + (k + 1) / (k + lexical_rank[chunk_id])
    order = {chunk_id: i for i, chunk_id in enumerate(dict.fromkeys([*lexical, *semantic]))}
    return sorted(scores.items(), key=lambda item: (-item[1], order[item[0]]))


@attrs.define(kw_only=True)
class _QueryCache:
    """The vectors of recent questions (a patient's burst, the same FAQ asked again)."""

    size: int = _QUERY_CACHE
    items: OrderedDict[str, array[float]] = attrs.Factory(OrderedDict)

    def get(self, key: str) -> array[float] | None:
        found = self.items.get(key)
        if found is not None:
            self.items.move_to_end(key)
        return found

    def put(self, key: str, vector: array[float]) -> None:
        self.items[key] = vector
        if len(self.items) > self.size:
            self.items.popitem(last=False)


class HybridKnowledgeBase:
    """:class:`~porfin_core.ports.knowledge.KnowledgeBase` and
    :class:`~porfin_core.ports.knowledge.KnowledgeVectors` over a lexical ``store`` that keeps
    vectors, with ``embedder`` (see the module).

    Args:
        store: The lexical knowledge base that also keeps vectors.
        embedder: Makes the vectors (OpenAI's).
        min_similarity: Cosine a chunk found only by its vector needs.
        semantic_weight: Weight of the vector ranking in the reciprocal rank fusion.
        rrf_k: The fusion's constant.
        strong_match: Share of the question's terms a lexical result must hold to lead.
        query_timeout: Seconds a search waits for the question's vector.
        candidates: Chunks each ranking brings to the fusion.
        batch: Chunks embedded at a time by :meth:`fill`.
    """

    def __init__(
        self,
        store: VectorStore,
        embedder: Embedder,
        *,
        min_similarity: float = MIN_SIMILARITY,
        semantic_weight: float = SEMANTIC_WEIGHT,
        rrf_k: int = RRF_K,
        strong_match: float = STRONG_MATCH,
        query_timeout: float = QUERY_TIMEOUT,
        candidates: int = CANDIDATES,
        batch: int = REINDEX_BATCH,
        analyzer: PortugueseAnalyzer | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.min_similarity = min_similarity
        self.semantic_weight = semantic_weight
        self.rrf_k = rrf_k
        self.strong_match = strong_match
        self.query_timeout = query_timeout
        self.candidates = candidates
        self.batch = batch
        self._analyzer = analyzer or default_analyzer()
        self._queries = _QueryCache()

    # -- KnowledgeBase --------------------------------------------------------------------

    async def add(self, document: KnowledgeDocument, chunks: list[KnowledgeChunk]) -> None:
        await self.store.add(document, chunks)
        if not chunks:
            return
        texts = [embedding_text(document.title, chunk) for chunk in chunks]
        try:
            vectors = await self.embedder.embed(texts)
        except ModelUnavailable as exc:
            log.warning(
                "knowledge.embed_failed",
                clinic_id=document.clinic_id,
                document_id=document.id,
                chunks=len(chunks),
                reason=exc.reason,
                hint="searched by its words until `porfin kb reindex`",
            )
            return
        try:
            await self.store.put_vectors(
                document.clinic_id,
                self.embedder.model,
                {chunk.id: unit(vector) for chunk, vector in zip(chunks, vectors, strict=True)},
            )
        except StorageUnavailable as exc:
            # The document is kept and found by its words; a reindex writes the vectors.
            log.warning(
                "knowledge.vectors_not_written",
                clinic_id=document.clinic_id,
                document_id=document.id,
                error=str(exc),
            )

    async def remove(self, clinic_id: str, document_id: str) -> KnowledgeDocument:
        return await self.store.remove(clinic_id, document_id)

    async def documents(self, clinic_id: str) -> list[KnowledgeDocument]:
        return await self.store.documents(clinic_id)

    async def search(self, clinic_id: str, query: str, limit: int = 5) -> list[RetrievedChunk]:
        """The best chunks by words and meaning (see the module); lexical only when the
        embedder fails or the clinic has no vectors yet.

        Each result's score is its lexical score (BM25F with the line rerank, as without
        embeddings) or, for a chunk found only by its vector, its cosine similarity (below 1),
        capped by the score of the result above it: best first, scores never rising, and a
        score of 2 still means what it means lexically.
        """
        wanted = set(self._analyzer.terms(query))
        if not wanted:
            return []  # stopwords only: nothing to look for, in any space
        window = max(limit, self.candidates)
        lexical = await self.store.search(clinic_id, query, window)
        stored = await self.store.vectors(clinic_id, self.embedder.model)
        if not stored:
            return lexical[:limit]
        question = await self._question(clinic_id, query)
        if question is None:
            return lexical[:limit]
        similar = [
            (similarity, chunk_id)
            for chunk_id, vector in stored.items()
            if len(vector) == len(question)
            and (similarity := cosine(question, vector)) >= self.min_similarity
        ]
        best = heapq.nlargest(window, similar)
        nearest = [chunk_id for _, chunk_id in best]
        closeness = {chunk_id: similarity for similarity, chunk_id in best}
        by_id = {found.chunk.id: found for found in lexical}
        exact = [
            found.chunk.id
            for found in lexical
            if len(wanted & _tokens(self._analyzer, found.document_title, found.chunk))
            >= self.strong_match * len(wanted)
        ]
        fused = fuse(
            list(by_id),
            nearest,
            exact=exact,
            k=self.rrf_k,
            semantic_weight=self.semantic_weight,
        )[:limit]
        missing = [chunk_id for chunk_id, _ in fused if chunk_id not in by_id]
        if missing:
            for chunk, title in await self.store.chunks(clinic_id, missing):
                by_id[chunk.id] = RetrievedChunk(
                    chunk=chunk,
                    document_title=title,
                    score=closeness[chunk.id],
                    snippet=_first_line(chunk),
                )
        # Scores stay on the lexical scale (what callers such as the offline engine's
        # confidence threshold know): a chunk's lexical score, or its cosine similarity (< 1)
        # when only its vector found it, capped by the score above it so they never rise.
        results = []
        ceiling = math.inf
        for chunk_id, _ in fused:
            found = by_id.get(chunk_id)
            if found is None:
                continue  # removed meanwhile
            ceiling = min(ceiling, found.score)
            results.append(attrs.evolve(found, score=ceiling))
        return results

    async def _question(self, clinic_id: str, query: str) -> array[float] | None:
        """The question's vector; None (logged) when the embedder cannot make it."""
        key = " ".join(query.lower().split())
        cached = self._queries.get(key)
        if cached is not None:
            return cached
        try:
            async with asyncio.timeout(self.query_timeout):
                [vector] = await self.embedder.embed([query])
        except ModelUnavailable as exc:
            log.warning("knowledge.search_lexical_only", clinic_id=clinic_id, reason=exc.reason)
            return None
        except TimeoutError:
            log.warning("knowledge.search_lexical_only", clinic_id=clinic_id, reason="timeout")
            return None
        found = unit(vector)
        self._queries.put(key, found)
        return found

    # -- KnowledgeVectors -------------------------------------------------------------------

    async def coverage(self, clinic_id: str) -> VectorCoverage:
        chunks = await self.store.chunks(clinic_id)
        stored = await self.store.vectors(clinic_id, self.embedder.model)
        return VectorCoverage(
            model=self.embedder.model,
            chunks=len(chunks),
            embedded=sum(chunk.id in stored for chunk, _ in chunks),
        )

    async def fill(self, clinic_id: str, *, rebuild: bool = False) -> VectorCoverage:
        model = self.embedder.model
        await self.store.drop_vectors(clinic_id, keep_model=None if rebuild else model)
        chunks = await self.store.chunks(clinic_id)
        stored = await self.store.vectors(clinic_id, model)
        todo = [(chunk, title) for chunk, title in chunks if chunk.id not in stored]
        added = 0
        for start in range(0, len(todo), self.batch):
            part = todo[start : start + self.batch]
            vectors = await self.embedder.embed([embedding_text(t, c) for c, t in part])
            await self.store.put_vectors(
                clinic_id,
                model,
                {chunk.id: unit(v) for (chunk, _), v in zip(part, vectors, strict=True)},
            )
            added += len(part)
        return VectorCoverage(
            model=model, chunks=len(chunks), embedded=len(chunks) - len(todo) + added, added=added
        )


@functools.lru_cache(maxsize=20_000)
def _chunk_tokens(analyzer: PortugueseAnalyzer, text: str) -> frozenset[str]:
    return frozenset(analyzer.tokens(text))


def _tokens(analyzer: PortugueseAnalyzer, title: str, chunk: KnowledgeChunk) -> frozenset[str]:
    """Every term of a chunk, its title and heading included (cached: chunks never change)."""
    return _chunk_tokens(analyzer, f"{title}\n{chunk.heading or ''}\n{chunk.text}")


def _first_line(chunk: KnowledgeChunk) -> str:
    """The snippet of a chunk found by its meaning only (no line holds the question's words):
    its first line, cut between words."""
    line = next((line.strip() for line in chunk.text.split("\n") if line.strip()), "")
    if len(line) > SNIPPET_MAX:
        line = line[:SNIPPET_MAX].rsplit(" ", 1)[0] + "…"
    return line
