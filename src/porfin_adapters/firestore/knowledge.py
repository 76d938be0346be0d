"""The knowledge base in Firestore: documents and chunks in collections, ranked in the
process.

Layout, under ``{root}clinics/{clinic_id}``::

    knowledge_documents/{id}       the document
    knowledge_chunks/{id}          a chunk, with its analyzed terms (parallel arrays ``terms``,
                                   ``body_tf``, ``heading_tf``) and field lengths; with an
                                   embedder, ``vector`` (float32 little-endian bytes, exempt
                                   from indexing) and ``vector_model``
    knowledge_hashes/{sha256}      claims a file's hash: the same file is kept once
    knowledge_meta/state           ``version``: changes with every add and remove

Firestore has no full-text search, so a search ranks in the process with the code every
knowledge base shares (:mod:`porfin_adapters.knowledge.ranking`): the clinic's chunks and their
terms are loaded once into a :class:`MemoryKnowledgeBase` and reloaded when ``version``
changed (one document read per search otherwise), so every process sees the others' changes.
Chunks' vectors (hybrid retrieval, :mod:`porfin_adapters.knowledge.hybrid`) load with them;
writing vectors changes ``version`` too.
A document is written last, after its chunks: chunks whose document is missing (an upload
that failed half-way) are never searched.
"""

from __future__ import annotations

import os
import sys
from array import array
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from google.api_core import exceptions as gexc
from google.cloud.firestore import DELETE_FIELD, AsyncClient, AsyncDocumentReference, FieldFilter

from porfin_adapters.firestore.storage import (
    _BATCH_LIMIT,
    DEFAULT_TIMEOUT,
    _doc_id,
    _Session,
    _vendor_errors,
)
from porfin_adapters.knowledge.analysis import PortugueseAnalyzer, default_analyzer
from porfin_adapters.knowledge.ranking import IndexedChunk, index_chunk
from porfin_adapters.memory.knowledge import MemoryKnowledgeBase
from porfin_adapters.serialization import from_document, to_document, utc_micros
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument
from porfin_core.errors import Conflict, NotFound
from porfin_core.ports.knowledge import RetrievedChunk


class FirestoreKnowledgeBase:
    """Every clinic's knowledge in Firestore (see the module).

    Args:
        client: The Firestore client (the storage backend's).
        root: The same collection prefix as the unit-of-work factory's.
        timeout: Seconds any one RPC may take.
    """

    def __init__(
        self,
        client: AsyncClient,
        root: str = "",
        *,
        timeout: float = DEFAULT_TIMEOUT,
        analyzer: PortugueseAnalyzer | None = None,
    ) -> None:
        self._s = _Session(client, root, timeout)
        self._analyzer = analyzer or default_analyzer()
        self._loaded: dict[str, tuple[str | None, MemoryKnowledgeBase]] = {}

    # -- paths ----------------------------------------------------------------------------

    def _document_ref(self, clinic_id: str, document_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "knowledge_documents").document(_doc_id(document_id))

    def _hash_ref(self, clinic_id: str, sha256: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "knowledge_hashes").document(_doc_id(sha256))

    def _state_ref(self, clinic_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "knowledge_meta").document("state")

    # -- the port -------------------------------------------------------------------------

    async def add(self, document: KnowledgeDocument, chunks: list[KnowledgeChunk]) -> None:
        clinic_id = document.clinic_id
        indexed = [index_chunk(self._analyzer, document.title, chunk) for chunk in chunks]
        hash_ref = self._hash_ref(clinic_id, document.sha256)
        with _vendor_errors("claim the file's hash"):
            try:
                await hash_ref.create({"document_id": document.id}, timeout=self._s.timeout)
            except gexc.AlreadyExists as exc:
                raise Conflict("the knowledge base already has this file", id=document.id) from exc
        try:
            chunk_docs = [
                (self._s.sub(clinic_id, "knowledge_chunks").document(_doc_id(c.id)), _chunk(c, i))
                for c, i in zip(chunks, indexed, strict=True)
            ]
            for start in range(0, len(chunk_docs), _BATCH_LIMIT):
                batch = self._s.client.batch()
                for ref, body in chunk_docs[start : start + _BATCH_LIMIT]:
                    batch.set(ref, body)
                with _vendor_errors("write knowledge chunks"):
                    await batch.commit(timeout=self._s.timeout)
            batch = self._s.client.batch()
            body = to_document(document) | {"_created_micros": utc_micros(document.created_at)}
            batch.create(self._document_ref(clinic_id, document.id), body)
            batch.set(self._state_ref(clinic_id), {"version": _version()})
            with _vendor_errors("write the knowledge document"):
                try:
                    await batch.commit(timeout=self._s.timeout)
                except gexc.AlreadyExists as exc:
                    raise Conflict("knowledge document id already used", id=document.id) from exc
        except BaseException:
            await self._forget(clinic_id, [_doc_id(c.id) for c in chunks], hash_ref)
            raise

    async def remove(self, clinic_id: str, document_id: str) -> KnowledgeDocument:
        ref = self._document_ref(clinic_id, document_id)
        doc = await self._s.get(ref)
        if doc is None:
            raise NotFound("knowledge document not found", id=document_id)
        document = _document(doc)
        query = self._s.sub(clinic_id, "knowledge_chunks").where(
            filter=FieldFilter("document_id", "==", document_id)
        )
        chunk_ids = [snapshot.id for snapshot in await self._s.query(query)]
        batch = self._s.client.batch()
        batch.delete(ref)
        batch.delete(self._hash_ref(clinic_id, document.sha256))
        batch.set(self._state_ref(clinic_id), {"version": _version()})
        with _vendor_errors("remove the knowledge document"):
            await batch.commit(timeout=self._s.timeout)
        # Chunks without their document are never searched: deleting them can come after.
        await self._delete_chunks(clinic_id, chunk_ids)
        return document

    async def documents(self, clinic_id: str) -> list[KnowledgeDocument]:
        snapshots = await self._s.query(self._s.sub(clinic_id, "knowledge_documents"))
        found = [_document(s.to_dict() or {}) for s in snapshots]
        return sorted(found, key=lambda d: (d.created_at, d.id), reverse=True)

    async def search(self, clinic_id: str, query: str, limit: int = 5) -> list[RetrievedChunk]:
        index = await self._index(clinic_id)
        return await index.search(clinic_id, query, limit)

    # -- helpers --------------------------------------------------------------------------

    async def _index(self, clinic_id: str) -> MemoryKnowledgeBase:
        """The clinic's chunks in memory, reloaded when another change happened."""
        state = await self._s.get(self._state_ref(clinic_id))
        version = None if state is None else state.get("version")
        loaded = self._loaded.get(clinic_id)
        if loaded is not None and loaded[0] == version:
            return loaded[1]
        index = MemoryKnowledgeBase(self._analyzer)
        documents = sorted(
            (
                _document(s.to_dict() or {})
                for s in await self._s.query(self._s.sub(clinic_id, "knowledge_documents"))
            ),
            key=lambda d: (d.created_at, d.id),
        )
        known = {d.id for d in documents}
        chunks: dict[str, list[tuple[KnowledgeChunk, IndexedChunk]]] = {}
        vectors: dict[str, dict[str, array[float]]] = {}
        for snapshot in await self._s.query(self._s.sub(clinic_id, "knowledge_chunks")):
            doc = snapshot.to_dict() or {}
            if doc.get("document_id") in known:  # else left by an upload that failed
                blob, model = doc.pop("vector", None), doc.pop("vector_model", None)
                chunk, indexed = _load_chunk(doc)
                chunks.setdefault(chunk.document_id, []).append((chunk, indexed))
                if isinstance(blob, bytes) and isinstance(model, str):
                    vectors.setdefault(model, {})[chunk.id] = _vector(blob)
        for document in documents:
            parts = sorted(chunks.get(document.id, []), key=lambda pair: pair[0].ordinal)
            index.insert(document, [c for c, _ in parts], [i for _, i in parts])
        for model, by_chunk in vectors.items():
            await index.put_vectors(clinic_id, model, by_chunk)
        self._loaded[clinic_id] = (version, index)
        return index

    # -- vectors (porfin_adapters.knowledge.hybrid.VectorStore) ----------------------------

    async def put_vectors(
        self, clinic_id: str, model: str, vectors: Mapping[str, Sequence[float]]
    ) -> None:
        await self._update_chunks(
            clinic_id,
            {cid: {"vector": _blob(v), "vector_model": model} for cid, v in vectors.items()},
        )

    async def vectors(self, clinic_id: str, model: str) -> Mapping[str, Sequence[float]]:
        return await (await self._index(clinic_id)).vectors(clinic_id, model)

    async def drop_vectors(self, clinic_id: str, keep_model: str | None = None) -> None:
        index = await self._index(clinic_id)
        stale = [cid for cid, m in index.vector_models(clinic_id).items() if m != keep_model]
        await self._update_chunks(
            clinic_id,
            {cid: {"vector": DELETE_FIELD, "vector_model": DELETE_FIELD} for cid in stale},
        )

    async def chunks(
        self, clinic_id: str, chunk_ids: Collection[str] | None = None
    ) -> list[tuple[KnowledgeChunk, str]]:
        return await (await self._index(clinic_id)).chunks(clinic_id, chunk_ids)

    async def _update_chunks(self, clinic_id: str, changes: Mapping[str, dict[str, Any]]) -> None:
        """Change fields of chunks (those removed meanwhile are skipped), then ``version``."""
        if not changes:
            return
        collection = self._s.sub(clinic_id, "knowledge_chunks")
        items = list(changes.items())
        for start in range(0, len(items), _BATCH_LIMIT):
            part = items[start : start + _BATCH_LIMIT]
            batch = self._s.client.batch()
            for chunk_id, fields in part:
                batch.update(collection.document(_doc_id(chunk_id)), fields)
            with _vendor_errors("write knowledge vectors"):
                try:
                    await batch.commit(timeout=self._s.timeout)
                except gexc.NotFound:
                    # A chunk was removed meanwhile: the others one by one.
                    for chunk_id, fields in part:
                        ref = collection.document(_doc_id(chunk_id))
                        try:
                            await ref.update(fields, timeout=self._s.timeout)
                        except gexc.NotFound:
                            continue
        with _vendor_errors("write the knowledge state"):
            await self._state_ref(clinic_id).set({"version": _version()}, timeout=self._s.timeout)

    async def _forget(
        self, clinic_id: str, chunk_ids: list[str], hash_ref: AsyncDocumentReference
    ) -> None:
        """Undo a half-written upload, as far as Firestore lets (best effort)."""
        try:
            await self._delete_chunks(clinic_id, chunk_ids)
            await hash_ref.delete(timeout=self._s.timeout)
        except gexc.GoogleAPIError:
            pass

    async def _delete_chunks(self, clinic_id: str, chunk_ids: list[str]) -> None:
        """Delete chunks by their document ids (already escaped)."""
        collection = self._s.sub(clinic_id, "knowledge_chunks")
        for start in range(0, len(chunk_ids), _BATCH_LIMIT):
            batch = self._s.client.batch()
            for chunk_id in chunk_ids[start : start + _BATCH_LIMIT]:
                batch.delete(collection.document(chunk_id))
            with _vendor_errors("delete knowledge chunks"):
                await batch.commit(timeout=self._s.timeout)


def _version() -> str:
    return os.urandom(12).hex()


def _blob(vector: Sequence[float]) -> bytes:
    """float32, little-endian (as SQLite keeps them)."""
    packed = array("f", vector)
    if sys.byteorder == "big":
        packed.byteswap()
    return packed.tobytes()


def _vector(blob: bytes) -> array[float]:
    unpacked = array("f")
    unpacked.frombytes(blob)
    if sys.byteorder == "big":
        unpacked.byteswap()
    return unpacked


def _chunk(chunk: KnowledgeChunk, indexed: IndexedChunk) -> dict[str, Any]:
    terms = list(dict.fromkeys([*indexed.body, *indexed.heading]))
    return to_document(chunk) | {
        "terms": terms,
        "body_tf": [indexed.body.get(term, 0) for term in terms],
        "heading_tf": [indexed.heading.get(term, 0) for term in terms],
        "body_length": indexed.body_length,
        "heading_length": indexed.heading_length,
    }


def _load_chunk(doc: dict[str, Any]) -> tuple[KnowledgeChunk, IndexedChunk]:
    terms: list[str] = doc.pop("terms")
    body_tf: list[int] = doc.pop("body_tf")
    heading_tf: list[int] = doc.pop("heading_tf")
    indexed = IndexedChunk(
        body={t: n for t, n in zip(terms, body_tf, strict=True) if n},
        heading={t: n for t, n in zip(terms, heading_tf, strict=True) if n},
        body_length=doc.pop("body_length"),
        heading_length=doc.pop("heading_length"),
    )
    return from_document(doc, KnowledgeChunk), indexed


def _document(doc: dict[str, Any]) -> KnowledgeDocument:
    return from_document({k: v for k, v in doc.items() if not k.startswith("_")}, KnowledgeDocument)
