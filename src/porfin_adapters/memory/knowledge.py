"""The knowledge base in dicts: an inverted index per clinic, for tests and demos."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Collection, Mapping, Sequence

import attrs

from porfin_adapters.knowledge.analysis import PortugueseAnalyzer, default_analyzer
from porfin_adapters.knowledge.ranking import (
    RERANK_WINDOW,
    CollectionStats,
    IndexedChunk,
    Posting,
    index_chunk,
    rank,
    rerank,
)
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument
from porfin_core.errors import Conflict, NotFound
from porfin_core.ports.knowledge import RetrievedChunk


@attrs.define
class _Clinic:
    documents: dict[str, KnowledgeDocument] = attrs.Factory(dict)
    chunks: dict[int, tuple[KnowledgeChunk, IndexedChunk]] = attrs.Factory(dict)
    postings: dict[str, list[Posting]] = attrs.Factory(dict)
    body_length: int = 0
    heading_length: int = 0
    vectors: dict[str, tuple[str, array[float]]] = attrs.Factory(dict)


class MemoryKnowledgeBase:
    """Documents and an inverted index per clinic, living as long as the process; ranks
    with :mod:`porfin_adapters.knowledge.ranking` like every knowledge base. Keeps chunks'
    vectors too (a :class:`~porfin_adapters.knowledge.hybrid.VectorStore`), by chunk id."""

    def __init__(self, analyzer: PortugueseAnalyzer | None = None) -> None:
        self._analyzer = analyzer or default_analyzer()
        self._clinics: dict[str, _Clinic] = {}
        self._keys = itertools.count(1)  # insertion order, the ties' order as in SQLite

    async def add(self, document: KnowledgeDocument, chunks: list[KnowledgeChunk]) -> None:
        clinic = self._clinics.setdefault(document.clinic_id, _Clinic())
        taken = any(
            d.id == document.id or d.sha256 == document.sha256 for d in clinic.documents.values()
        )
        if taken or any(
            d.id == document.id for c in self._clinics.values() for d in c.documents.values()
        ):
            raise Conflict("the knowledge base already has this document", id=document.id)
        indexed = [index_chunk(self._analyzer, document.title, chunk) for chunk in chunks]
        self.insert(document, chunks, indexed)

    def insert(
        self, document: KnowledgeDocument, chunks: list[KnowledgeChunk], indexed: list[IndexedChunk]
    ) -> None:
        """Keep ``document`` with chunks already analyzed (no checks): how another store
        (Firestore) loads what it kept into this index to rank in the process."""
        clinic = self._clinics.setdefault(document.clinic_id, _Clinic())
        clinic.documents[document.id] = document
        for chunk, terms in zip(chunks, indexed, strict=True):
            key = next(self._keys)
            clinic.chunks[key] = (chunk, terms)
            clinic.body_length += terms.body_length
            clinic.heading_length += terms.heading_length
            for term in dict.fromkeys([*terms.body, *terms.heading]):
                clinic.postings.setdefault(term, []).append(_posting(key, term, terms))

    async def remove(self, clinic_id: str, document_id: str) -> KnowledgeDocument:
        clinic = self._clinics.get(clinic_id)
        if clinic is None or document_id not in clinic.documents:
            raise NotFound("knowledge document not found", id=document_id)
        document = clinic.documents.pop(document_id)
        for key, (chunk, terms) in list(clinic.chunks.items()):
            if chunk.document_id != document_id:
                continue
            del clinic.chunks[key]
            clinic.vectors.pop(chunk.id, None)
            clinic.body_length -= terms.body_length
            clinic.heading_length -= terms.heading_length
            for term in {*terms.body, *terms.heading}:
                kept = [p for p in clinic.postings[term] if p.key != key]
                if kept:
                    clinic.postings[term] = kept
                else:
                    del clinic.postings[term]
        return document

    async def documents(self, clinic_id: str) -> list[KnowledgeDocument]:
        clinic = self._clinics.get(clinic_id)
        found = list(clinic.documents.values()) if clinic else []
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)

    async def search(self, clinic_id: str, query: str, limit: int = 5) -> list[RetrievedChunk]:
        clinic = self._clinics.get(clinic_id)
        if clinic is None or not clinic.chunks:
            return []
        terms = self._analyzer.terms(query)
        stats = CollectionStats(len(clinic.chunks), clinic.body_length, clinic.heading_length)
        best, weights = rank(terms, clinic.postings, stats, max(limit, RERANK_WINDOW))
        candidates = []
        for key, score in best:
            chunk = clinic.chunks[key][0]
            title = clinic.documents[chunk.document_id].title
            candidates.append((key, score, f"{title}\n{chunk.heading or ''}", chunk.text))
        found = []
        for key, score, snippet in rerank(self._analyzer, candidates, terms, weights, limit):
            chunk = clinic.chunks[key][0]
            title = clinic.documents[chunk.document_id].title
            found.append(
                RetrievedChunk(chunk=chunk, document_title=title, score=score, snippet=snippet)
            )
        return found

    # -- vectors (porfin_adapters.knowledge.hybrid.VectorStore) ----------------------------

    async def put_vectors(
        self, clinic_id: str, model: str, vectors: Mapping[str, Sequence[float]]
    ) -> None:
        clinic = self._clinics.get(clinic_id)
        if clinic is None:
            return
        known = {chunk.id for chunk, _ in clinic.chunks.values()}
        for chunk_id, vector in vectors.items():
            if chunk_id in known:
                clinic.vectors[chunk_id] = (model, array("f", vector))

    def vector_models(self, clinic_id: str) -> dict[str, str]:
        """The model of each chunk's vector, by chunk id (Firestore drops the stale ones)."""
        clinic = self._clinics.get(clinic_id)
        return {} if clinic is None else {cid: m for cid, (m, _) in clinic.vectors.items()}

    async def vectors(self, clinic_id: str, model: str) -> Mapping[str, Sequence[float]]:
        clinic = self._clinics.get(clinic_id)
        if clinic is None:
            return {}
        return {cid: vector for cid, (kept, vector) in clinic.vectors.items() if kept == model}

    async def drop_vectors(self, clinic_id: str, keep_model: str | None = None) -> None:
        clinic = self._clinics.get(clinic_id)
        if clinic is not None:
            clinic.vectors = {
                cid: kept for cid, kept in clinic.vectors.items() if kept[0] == keep_model
            }

    async def chunks(
        self, clinic_id: str, chunk_ids: Collection[str] | None = None
    ) -> list[tuple[KnowledgeChunk, str]]:
        clinic = self._clinics.get(clinic_id)
        if clinic is None:
            return []
        wanted = None if chunk_ids is None else set(chunk_ids)
        return [
            (chunk, clinic.documents[chunk.document_id].title)
            for chunk, _ in clinic.chunks.values()
            if wanted is None or chunk.id in wanted
        ]


def _posting(key: int, term: str, indexed: IndexedChunk) -> Posting:
    return Posting(
        key,
        indexed.body.get(term, 0),
        indexed.heading.get(term, 0),
        indexed.body_length,
        indexed.heading_length,
    )
