"""The knowledge base in the SQLite database (migration ``0013_knowledge.sql``).

Documents and chunks are rows; each chunk's analyzed terms (:mod:`porfin_adapters.knowledge
.analysis`) are postings in ``knowledge_terms``, keyed by clinic and term, so a search reads
one index range per query term and scores in Python with the ranking every knowledge base
shares (:mod:`porfin_adapters.knowledge.ranking`): the same answers as the memory store,
and a few milliseconds for thousands of chunks (``bench/knowledge_search.py``). Writes go
through the database's writer like every unit of work, each document atomically.
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from array import array
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from porfin_adapters.knowledge.analysis import PortugueseAnalyzer, default_analyzer
from porfin_adapters.knowledge.ranking import (
    RERANK_WINDOW,
    CollectionStats,
    IndexedChunk,
    index_chunk,
    rank,
    rerank,
)
from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.storage import _dump, _load
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument
from porfin_core.errors import Conflict, NotFound
from porfin_core.ports.knowledge import RetrievedChunk

_CHUNK_INSERT = (
    "INSERT INTO knowledge_chunks (id, clinic_id, document_id, ordinal, heading, text,"
    " body_length, heading_length) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_TERM_INSERT = (
    "INSERT INTO knowledge_terms (clinic_id, term, chunk_seq, body_tf, heading_tf,"
    " body_length, heading_length) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_MAX_TERMS = 64


class SqliteKnowledgeBase:
    """Every clinic's knowledge in tables ``knowledge_documents``, ``knowledge_chunks`` and
    ``knowledge_terms`` of ``db`` (opened by the storage backend); chunks' vectors, when an
    embedder is configured, in ``knowledge_vectors`` (migration ``0016``; a
    :class:`~porfin_adapters.knowledge.hybrid.VectorStore`)."""

    def __init__(self, db: SqliteDatabase, analyzer: PortugueseAnalyzer | None = None) -> None:
        self._db = db
        self._analyzer = analyzer or default_analyzer()

    async def add(self, document: KnowledgeDocument, chunks: list[KnowledgeChunk]) -> None:
        # Analysis of a large spreadsheet takes a while: off the event loop.
        indexed = await asyncio.to_thread(
            lambda: [index_chunk(self._analyzer, document.title, c) for c in chunks]
        )
        row = (
            document.id,
            document.clinic_id,
            document.sha256,
            utc_micros(document.created_at),
            _dump(document),
        )

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO knowledge_documents (id, clinic_id, sha256, created_micros, doc)"
                    " VALUES (?, ?, ?, ?, ?)",
                    row,
                )
            except sqlite3.IntegrityError as exc:
                raise Conflict(
                    "the knowledge base already has this document", id=document.id
                ) from exc
            for chunk, terms in zip(chunks, indexed, strict=True):
                seq = _insert_chunk(conn, chunk, terms)
                conn.executemany(
                    _TERM_INSERT,
                    [
                        (
                            chunk.clinic_id,
                            term,
                            seq,
                            terms.body.get(term, 0),
                            terms.heading.get(term, 0),
                            terms.body_length,
                            terms.heading_length,
                        )
                        for term in dict.fromkeys([*terms.body, *terms.heading])
                    ],
                )

        await self._db.apply([insert])

    async def remove(self, clinic_id: str, document_id: str) -> KnowledgeDocument:
        found = self._db.reader.execute(
            "SELECT doc FROM knowledge_documents WHERE id = ? AND clinic_id = ?",
            (document_id, clinic_id),
        ).fetchone()
        if found is None:
            raise NotFound("knowledge document not found", id=document_id)

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM knowledge_terms WHERE chunk_seq IN"
                " (SELECT seq FROM knowledge_chunks WHERE document_id = ?)",
                (document_id,),
            )
            conn.execute("DELETE FROM knowledge_chunks WHERE document_id = ?", (document_id,))
            gone = conn.execute(
                "DELETE FROM knowledge_documents WHERE id = ? AND clinic_id = ?",
                (document_id, clinic_id),
            )
            if gone.rowcount == 0:
                raise NotFound("knowledge document not found", id=document_id)

        await self._db.apply([delete])
        return _load(found[0], KnowledgeDocument)

    async def documents(self, clinic_id: str) -> list[KnowledgeDocument]:
        rows = self._db.reader.execute(
            "SELECT doc FROM knowledge_documents WHERE clinic_id = ?"
            " ORDER BY created_micros DESC, id DESC",
            (clinic_id,),
        ).fetchall()
        return [_load(doc, KnowledgeDocument) for (doc,) in rows]

    async def search(self, clinic_id: str, query: str, limit: int = 5) -> list[RetrievedChunk]:
        terms = self._analyzer.terms(query)[:_MAX_TERMS]
        if not terms:
            return []
        reader = self._db.reader
        count, body, heading = reader.execute(
            "SELECT COUNT(*), COALESCE(SUM(body_length), 0), COALESCE(SUM(heading_length), 0)"
            " FROM knowledge_chunks WHERE clinic_id = ?",
            (clinic_id,),
        ).fetchone()
        if not count:
            return []
        postings = {
            term: reader.execute(
                "SELECT chunk_seq, body_tf, heading_tf, body_length, heading_length"
                " FROM knowledge_terms WHERE clinic_id = ? AND term = ?",
                (clinic_id, term),
            ).fetchall()
            for term in terms
        }
        stats = CollectionStats(count, body, heading)
        best, weights = rank(terms, postings, stats, max(limit, RERANK_WINDOW))
        if not best:
            return []
        seqs = [key for key, _ in best]
        rows = {
            row[0]: row
            for row in reader.execute(
                "SELECT c.seq, c.id, c.document_id, c.ordinal, c.heading, c.text, d.doc"
                " FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id"
                f" WHERE c.seq IN ({_marks(seqs)})",
                tuple(seqs),
            )
        }
        titles = {key: _load(row[6], KnowledgeDocument).title for key, row in rows.items()}
        candidates = [
            (key, score, f"{titles[key]}\n{rows[key][4] or ''}", rows[key][5])
            for key, score in best
            if key in rows  # removed meanwhile
        ]
        found = []
        for key, score, snippet in rerank(self._analyzer, candidates, terms, weights, limit):
            _, chunk_id, document_id, ordinal, chunk_heading, text, _ = rows[key]
            chunk = KnowledgeChunk(
                id=chunk_id,
                document_id=document_id,
                clinic_id=clinic_id,
                ordinal=ordinal,
                text=text,
                heading=chunk_heading,
            )
            found.append(
                RetrievedChunk(
                    chunk=chunk, document_title=titles[key], score=score, snippet=snippet
                )
            )
        return found

    # -- vectors (porfin_adapters.knowledge.hybrid.VectorStore) ----------------------------

    async def put_vectors(
        self, clinic_id: str, model: str, vectors: Mapping[str, Sequence[float]]
    ) -> None:
        rows = [
            (chunk_id, clinic_id, model, len(vector), _blob(vector), chunk_id, clinic_id)
            for chunk_id, vector in vectors.items()
        ]

        def insert(conn: sqlite3.Connection) -> None:
            # A chunk removed meanwhile is skipped (its vector would have nothing to find).
            conn.executemany(
                "INSERT OR REPLACE INTO knowledge_vectors (chunk_id, clinic_id, model, dims,"
                " vector) SELECT ?, ?, ?, ?, ? WHERE EXISTS"
                " (SELECT 1 FROM knowledge_chunks WHERE id = ? AND clinic_id = ?)",
                rows,
            )

        if rows:
            await self._db.apply([insert])

    async def vectors(self, clinic_id: str, model: str) -> Mapping[str, Sequence[float]]:
        rows = self._db.reader.execute(
            "SELECT chunk_id, vector FROM knowledge_vectors WHERE clinic_id = ? AND model = ?",
            (clinic_id, model),
        )
        return {chunk_id: _vector(blob) for chunk_id, blob in rows}

    async def drop_vectors(self, clinic_id: str, keep_model: str | None = None) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(
                "DELETE FROM knowledge_vectors WHERE clinic_id = ? AND model IS NOT ?",
                (clinic_id, keep_model),
            )

        await self._db.apply([delete])

    async def chunks(
        self, clinic_id: str, chunk_ids: Collection[str] | None = None
    ) -> list[tuple[KnowledgeChunk, str]]:
        sql = (
            "SELECT c.id, c.document_id, c.ordinal, c.heading, c.text, d.doc"
            " FROM knowledge_chunks c JOIN knowledge_documents d ON d.id = c.document_id"
            " WHERE c.clinic_id = ?"
        )
        params: list[Any] = [clinic_id]
        if chunk_ids is not None:
            ids = list(chunk_ids)
            if not ids:
                return []
            sql += f" AND c.id IN ({_marks(ids)})"
            params += ids
        titles: dict[str, str] = {}
        found = []
        for chunk_id, document_id, ordinal, heading, text, doc in self._db.reader.execute(
            sql + " ORDER BY c.seq", params
        ):
            if document_id not in titles:
                titles[document_id] = _load(doc, KnowledgeDocument).title
            chunk = KnowledgeChunk(
                id=chunk_id,
                document_id=document_id,
                clinic_id=clinic_id,
                ordinal=ordinal,
                text=text,
                heading=heading,
            )
            found.append((chunk, titles[document_id]))
        return found


def _blob(vector: Sequence[float]) -> bytes:
    """float32, little-endian."""
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


def _insert_chunk(conn: sqlite3.Connection, chunk: KnowledgeChunk, terms: IndexedChunk) -> int:
    cursor = conn.execute(
        _CHUNK_INSERT,
        (
            chunk.id,
            chunk.clinic_id,
            chunk.document_id,
            chunk.ordinal,
            chunk.heading,
            chunk.text,
            terms.body_length,
            terms.heading_length,
        ),
    )
    seq = cursor.lastrowid
    assert seq is not None
    return seq


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))
