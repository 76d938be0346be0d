"""Remove a document from the clinic's knowledge base."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor
from porfin_core.domain.knowledge import KnowledgeDocument
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.knowledge import KnowledgeBase
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._knowledge import KNOWLEDGE_REMOVE, check_may_change, knowledge_audit
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class KnowledgeRemoval:
    """The document to remove.

    Attributes:
        clinic_id: The caller's clinic.
        document_id: The document.
        viewer: Who asks, with their role (None: the system or the CLI, which may).
        actor: Who asks and from where, for the audit record (default: the viewer, else
            Porfin itself).
    """

    clinic_id: str
    document_id: str
    viewer: Principal | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class RemoveKnowledgeDocument:
    """Forget a document and its chunks at once (the assistant stops answering from it),
    then write a ``knowledge.remove`` audit record. Admins and managers only."""

    knowledge: KnowledgeBase
    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: KnowledgeRemoval) -> KnowledgeDocument:
        """Remove the document; returns it as it was.

        Raises:
            Forbidden: the viewer's role may not change the knowledge base.
            NotFound: no such document in the clinic.
            StorageUnavailable: the knowledge base or the audit log could not be written.
        """
        check_may_change(command.viewer)
        removed = await self.knowledge.remove(command.clinic_id, command.document_id)
        now = self.clock.now()
        user_id = command.viewer.user_id if command.viewer is not None else None

        async def work(uow: UnitOfWork) -> None:
            actor = actor_of(command.actor, user_id)
            await uow.audit.append(knowledge_audit(actor, removed, now, KNOWLEDGE_REMOVE))
            await uow.commit()

        await transact(self.uow_factory, work)
        return removed
