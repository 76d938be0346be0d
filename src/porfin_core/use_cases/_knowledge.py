"""What the knowledge-base use cases share: who may change it, and its audit record."""

from __future__ import annotations

from datetime import datetime

from porfin_core.domain.audit import Actor, AuditEntry
from porfin_core.domain.knowledge import KnowledgeDocument
from porfin_core.errors import Forbidden
from porfin_core.permissions import Permission, allows
from porfin_core.ports.auth import Principal

KNOWLEDGE_ADD = "knowledge.add"
"""Audit action: a document was added to the knowledge base."""
KNOWLEDGE_REMOVE = "knowledge.remove"
"""Audit action: a document was removed from the knowledge base."""


def check_may_change(viewer: Principal | None) -> None:
    """Only admins and managers change the knowledge base (``assistant.tune``: the
    assistant's facts); None is the system or the CLI, which may.

    Raises:
        Forbidden: the viewer's role may not.
    """
    if viewer is not None and not allows(viewer.role, Permission.ASSISTANT_TUNE):
        raise Forbidden(
            "changing the knowledge base needs assistant.tune (admins and managers)",
            permission=Permission.ASSISTANT_TUNE.value,
        )


def knowledge_audit(
    actor: Actor, document: KnowledgeDocument, at: datetime, action: str
) -> AuditEntry:
    """The audit record of ``action`` on ``document``."""
    return AuditEntry.of(
        actor,
        clinic_id=document.clinic_id,
        at=at,
        action=action,
        resource_type="knowledge_document",
        resource_id=document.id,
        details={
            "title": document.title[:200],
            "filename": document.filename[:200],
            "sha256": document.sha256,
            "chunks": str(document.chunk_count),
        },
    )
