"""Reading uploaded documents into text, and the knowledge base that retrieves from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import attrs

from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument


@attrs.frozen(kw_only=True)
class ExtractedText:
    """What a document says, as text.

    Attributes:
        title: The title the file itself carries (PDF or Word metadata, a Markdown ``#``
            heading), if any.
        text: Its text. Headings are Markdown ``#`` lines (Word headings, spreadsheet sheet
            names), spreadsheet and CSV rows one per line as ``Header: value; Header: value``.
        media_type: The format it was read as (``text/csv``...), when the extractor knows.
    """

    title: str | None
    text: str
    media_type: str | None = None


class TextExtractor(Protocol):
    """Reads a file's text: PDF, Word (DOCX), Excel (XLSX), CSV, plain text and Markdown."""

    async def extract(self, filename: str, media_type: str | None, data: bytes) -> ExtractedText:
        """The text of ``data``, a file called ``filename`` of type ``media_type`` (when the
        client said; else guessed from the name).

        Raises:
            UnsupportedMediaType: not a format the knowledge base reads.
            ValidationError: a corrupt, empty or password-protected file, or one with no text
                (a scanned PDF), with a message saying which.
        """
        ...


@attrs.frozen(kw_only=True)
class RetrievedChunk:
    """A chunk found for a question, best first.

    Attributes:
        chunk: The chunk.
        document_title: The title of its document.
        score: How well it matches (higher is better; comparable within one search only).
        snippet: The line or sentence of the chunk that matches best (for a short answer,
            e.g. one row of a price table).
    """

    chunk: KnowledgeChunk
    document_title: str
    score: float
    snippet: str


class KnowledgeBase(Protocol):
    """Each clinic's documents and chunks, searchable in Brazilian Portuguese.

    Every adapter passes one contract suite (``tests/contract/test_knowledge_contract.py``):
    searches ignore case and accents, plurals and verb forms (a Portuguese stemmer), find
    procedures by their synonyms ("profilaxia" finds "limpeza"), and rank (BM25) matches in a
    title or heading above matches in the text. A clinic never retrieves another's chunks.
    """

    async def add(self, document: KnowledgeDocument, chunks: list[KnowledgeChunk]) -> None:
        """Keep ``document`` and its ``chunks`` (all of its clinic), atomically.

        Raises:
            Conflict: the clinic already has a document with this id or this ``sha256``.
            StorageUnavailable: the store could not be written.
        """
        ...

    async def remove(self, clinic_id: str, document_id: str) -> KnowledgeDocument:
        """Forget a document and its chunks; returns the document as it was.

        Raises:
            NotFound: no such document in the clinic.
            StorageUnavailable: the store could not be written.
        """
        ...

    async def documents(self, clinic_id: str) -> list[KnowledgeDocument]:
        """The clinic's documents, newest first (then by id)."""
        ...

    async def search(self, clinic_id: str, query: str, limit: int = 5) -> list[RetrievedChunk]:
        """At most ``limit`` chunks of the clinic matching ``query``, best first ([] when
        nothing matches, or the query has only stopwords)."""
        ...


class Embedder(Protocol):
    """Turns texts into vectors whose cosine similarity says how close their meanings are
    (OpenAI's ``text-embedding-3-small``, or any compatible server), so the knowledge base
    finds paraphrases it has no synonym for ("dente amarelado" -> clareamento).

    Attributes:
        model: The model that makes the vectors: vectors of different models are never
            compared.
    """

    @property
    def model(self) -> str:
        """The embedding model's name."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order, all of the same length ([] for no text).

        Raises:
            ModelUnavailable: the vectors could not be made (``reason`` as for chat models).
        """
        ...


@attrs.frozen(kw_only=True)
class VectorCoverage:
    """How many of a clinic's chunks have a vector of the current embedding model.

    Attributes:
        model: The embedding model.
        chunks: The clinic's chunks.
        embedded: Those with a vector of ``model``.
        added: Vectors made by the call that reports this (0 for a status).
    """

    model: str
    chunks: int
    embedded: int
    added: int = 0

    @property
    def missing(self) -> int:
        """Chunks still searched by their words only."""
        return self.chunks - self.embedded


class KnowledgeVectors(Protocol):
    """The embeddings of a knowledge base that has an :class:`Embedder` (OpenAI embeddings
    configured): chunks added while the embedder was down, or before it was configured, are
    searched by their words only until their vectors are made here."""

    async def coverage(self, clinic_id: str) -> VectorCoverage:
        """How many of the clinic's chunks have a vector of the current model.

        Raises:
            StorageUnavailable: the store could not be read.
        """
        ...

    async def fill(self, clinic_id: str, *, rebuild: bool = False) -> VectorCoverage:
        """Make the vectors the clinic's chunks lack (every vector again with ``rebuild``),
        in batches, keeping each batch as it comes (an interrupted run keeps its progress);
        vectors of other models are dropped.

        Raises:
            ModelUnavailable: the embedder failed (the batches done so far are kept).
            StorageUnavailable: the store could not be read or written.
        """
        ...
