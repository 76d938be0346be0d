"""Request and response bodies of the knowledge base (separate from the domain entities, as in
:mod:`porfin_http.schemas`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar.datastructures import UploadFile

from porfin_core.domain.knowledge import KnowledgeDocument
from porfin_core.ports.knowledge import RetrievedChunk


@dataclass
class KnowledgeUpload:
    """A multipart form: the file in the field ``file`` (its part's ``filename`` gives the
    format when the ``Content-Type`` is generic), and an optional ``title``."""

    file: UploadFile
    title: str | None = None


class KnowledgeDocumentOut(msgspec.Struct):
    """A document of the clinic's knowledge base."""

    id: str
    title: str
    filename: str
    media_type: Annotated[str, msgspec.Meta(description="The format it was read as.")]
    size_bytes: int
    sha256: Annotated[str, msgspec.Meta(description="Hex SHA-256 of the uploaded file.")]
    chunk_count: Annotated[int, msgspec.Meta(description="Passages it was cut into.")]
    created_at: datetime
    created_by: Annotated[
        str | None, msgspec.Meta(description="The staff user who added it (null: the CLI).")
    ]

    @classmethod
    def of(cls, document: KnowledgeDocument) -> KnowledgeDocumentOut:
        """Present ``document``."""
        return cls(
            id=document.id,
            title=document.title,
            filename=document.filename,
            media_type=document.media_type,
            size_bytes=document.size_bytes,
            sha256=document.sha256,
            chunk_count=document.chunk_count,
            created_at=document.created_at.astimezone(UTC),
            created_by=document.created_by,
        )


class KnowledgeResultOut(msgspec.Struct):
    """A passage found for a question, best first."""

    document_id: str
    document_title: str
    chunk_id: str
    ordinal: Annotated[int, msgspec.Meta(description="Position of the passage in its document.")]
    heading: Annotated[str | None, msgspec.Meta(description="Its section's heading, if any.")]
    text: str
    snippet: Annotated[str, msgspec.Meta(description="The line of the passage that answers best.")]
    score: Annotated[float, msgspec.Meta(description="Relevance within this search.")]

    @classmethod
    def of(cls, found: RetrievedChunk) -> KnowledgeResultOut:
        """Present ``found``."""
        return cls(
            document_id=found.chunk.document_id,
            document_title=found.document_title,
            chunk_id=found.chunk.id,
            ordinal=found.chunk.ordinal,
            heading=found.chunk.heading,
            text=found.chunk.text,
            snippet=found.snippet,
            score=round(found.score, 4),
        )
