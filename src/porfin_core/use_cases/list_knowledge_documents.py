"""List the documents of the clinic's knowledge base."""

from __future__ import annotations

import attrs

from porfin_core.domain.knowledge import KnowledgeDocument
from porfin_core.ports.knowledge import KnowledgeBase


@attrs.define(kw_only=True)
class ListKnowledgeDocuments:
    """The clinic's knowledge documents, newest first."""

    knowledge: KnowledgeBase

    async def __call__(self, clinic_id: str) -> list[KnowledgeDocument]:
        """Every document of ``clinic_id`` ([] when none), newest first.

        Raises:
            StorageUnavailable: the knowledge base could not be read.
        """
        return await self.knowledge.documents(clinic_id)
