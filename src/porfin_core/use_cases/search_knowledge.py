"""Find the passages of the clinic's knowledge base that answer a question."""

from __future__ import annotations

import attrs

from porfin_core.errors import ValidationError
from porfin_core.ports.knowledge import KnowledgeBase, RetrievedChunk

MAX_QUERY_LENGTH = 500
"""Longest question searched (a WhatsApp burst fits; longer text is cut, not refused)."""
MAX_LIMIT = 50
"""Most chunks one search returns."""


@attrs.frozen(kw_only=True)
class KnowledgeQuery:
    """A question to look up.

    Attributes:
        clinic_id: The clinic whose documents are searched.
        query: The question as the patient or staff wrote it ("quanto custa clareamento").
        limit: How many chunks at most (1 to :data:`MAX_LIMIT`).
    """

    clinic_id: str
    query: str
    limit: int = 5


@attrs.define(kw_only=True)
class SearchKnowledge:
    """Search the clinic's knowledge base in Brazilian Portuguese (accents, plurals and
    procedure synonyms do not matter; see docs/knowledge-base.md)."""

    knowledge: KnowledgeBase

    async def __call__(self, query: KnowledgeQuery) -> list[RetrievedChunk]:
        """The best chunks, best first ([] when nothing matches).

        Raises:
            ValidationError: a blank query (``query``) or a limit out of range (``limit``).
            StorageUnavailable: the knowledge base could not be read.
        """
        text = " ".join(query.query.split())[:MAX_QUERY_LENGTH]
        if not text:
            raise ValidationError("the query is empty", field="query")
        if not 1 <= query.limit <= MAX_LIMIT:
            raise ValidationError(f"limit must be between 1 and {MAX_LIMIT}", field="limit")
        return await self.knowledge.search(query.clinic_id, text, query.limit)
