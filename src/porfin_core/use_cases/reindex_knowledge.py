"""Make the embeddings the clinic's knowledge base lacks (``porfin kb reindex``)."""

from __future__ import annotations

import attrs

from porfin_core.errors import ModelUnavailable
from porfin_core.ports.auth import Principal
from porfin_core.ports.knowledge import KnowledgeVectors, VectorCoverage
from porfin_core.use_cases._knowledge import check_may_change


@attrs.frozen(kw_only=True)
class KnowledgeReindex:
    """What to reindex.

    Attributes:
        clinic_id: The clinic whose chunks get their vectors.
        rebuild: Make every vector again (after changing the embedding model, say), not only
            the missing ones.
        dry_run: Only tell how many chunks have a vector.
        viewer: Who asks, with their role (None: the system or the CLI, which may).
    """

    clinic_id: str
    rebuild: bool = False
    dry_run: bool = False
    viewer: Principal | None = None


@attrs.define(kw_only=True)
class ReindexKnowledge:
    """Embed the chunks that have no vector of the current embedding model: documents added
    while the embedder was down, or before OpenAI embeddings were configured, are otherwise
    found by their words only. Harmless to run again (only what is missing is embedded);
    each batch is kept as it is made. Admins and managers only (``assistant.tune``).

    Attributes:
        vectors: The knowledge base's embeddings; None when no embedder is configured.
    """

    vectors: KnowledgeVectors | None

    async def __call__(self, command: KnowledgeReindex) -> VectorCoverage:
        """How many chunks have a vector now, and how many were embedded by this call.

        Raises:
            Forbidden: the viewer's role may not change the knowledge base.
            ModelUnavailable: no embedder is configured (``not_configured``), or it failed
                (the batches done so far are kept; run again).
            StorageUnavailable: the knowledge base could not be read or written.
        """
        check_may_change(command.viewer)
        if self.vectors is None:
            raise ModelUnavailable(
                "no embedding model is configured (set an OpenAI API key): the knowledge "
                "base searches by words only",
                reason="not_configured",
            )
        if command.dry_run:
            return await self.vectors.coverage(command.clinic_id)
        return await self.vectors.fill(command.clinic_id, rebuild=command.rebuild)
