"""Add a document (price table, FAQ, policies) to the clinic's knowledge base."""

from __future__ import annotations

import contextlib
import hashlib

import attrs

from porfin_core.domain.audit import Actor
from porfin_core.domain.knowledge import (
    MAX_DOCUMENT_BYTES,
    MAX_TITLE_LENGTH,
    KnowledgeChunk,
    KnowledgeDocument,
    chunk_sections,
)
from porfin_core.domain.media import safe_filename
from porfin_core.errors import Conflict, PayloadTooLarge, PorfinError, ValidationError
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.knowledge import KnowledgeBase, TextExtractor
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._knowledge import KNOWLEDGE_ADD, check_may_change, knowledge_audit
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewKnowledgeDocument:
    """A file to add.

    Attributes:
        clinic_id: The clinic whose assistant will answer from it.
        filename: The file's name (its extension tells the format when the type does not).
        data: The file's bytes.
        media_type: The type the client declared, if any.
        title: What to call it (default: the title inside the file, else its name).
        viewer: Who asks, with their role (None: the system or the CLI, which may).
        actor: Who asks and from where, for the audit record (default: the viewer, else
            Porfin itself).
    """

    clinic_id: str
    filename: str
    data: bytes = attrs.field(repr=False)
    media_type: str | None = None
    title: str | None = None
    viewer: Principal | None = None
    actor: Actor | None = None


@attrs.frozen
class AddedKnowledge:
    """The document as stored; ``created`` is False when the clinic already had this very
    file (same SHA-256), which is then returned unchanged instead of being added twice."""

    document: KnowledgeDocument
    created: bool


@attrs.define(kw_only=True)
class AddKnowledgeDocument:
    """Read a file's text, cut it into chunks and index them for retrieval.

    Admins and managers only (``assistant.tune``). The file must be at most ``max_bytes``
    (``payload_too_large``), in a format the extractor reads (``unsupported_media_type``),
    and hold text (``validation_error``: empty, corrupt, encrypted or scanned). Uploading a
    file the clinic already has (same SHA-256) adds nothing and returns the existing
    document: re-running an import is harmless. A ``knowledge.add`` audit record follows; if
    it cannot be written, the document is removed again.

    Attributes:
        max_bytes: Largest file accepted (default :data:`MAX_DOCUMENT_BYTES`).
    """

    knowledge: KnowledgeBase
    extractor: TextExtractor
    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    max_bytes: int = MAX_DOCUMENT_BYTES

    async def __call__(self, command: NewKnowledgeDocument) -> AddedKnowledge:
        """Add the file (or find it already there).

        Raises:
            Forbidden: the viewer's role may not change the knowledge base.
            PayloadTooLarge: larger than ``max_bytes``.
            UnsupportedMediaType: not PDF, DOCX, XLSX, CSV, TXT or Markdown.
            ValidationError: an empty, corrupt or encrypted file, one without text, or a
                title too long (``title``).
            StorageUnavailable: the knowledge base or the audit log could not be written.
        """
        check_may_change(command.viewer)
        title = _title(command.title)
        if not command.data:
            raise ValidationError("the file is empty", field="file")
        if len(command.data) > self.max_bytes:
            raise PayloadTooLarge(
                f"the file has {len(command.data)} bytes; the knowledge base takes at most "
                f"{self.max_bytes}",
                field="file",
                max_bytes=self.max_bytes,
            )
        sha256 = hashlib.sha256(command.data).hexdigest()
        existing = await self._find(command.clinic_id, sha256)
        if existing is not None:
            return AddedKnowledge(existing, created=False)
        filename = safe_filename(command.filename) or "documento"
        media_type = _media_type(command.media_type)
        extracted = await self.extractor.extract(filename, media_type, command.data)
        drafts = chunk_sections(extracted.text)
        if not drafts:
            raise ValidationError(
                "no text found in the file (a scanned PDF or an empty sheet?)", field="file"
            )
        now = self.clock.now()
        document = KnowledgeDocument(
            id=self.ids.new_id(),
            clinic_id=command.clinic_id,
            title=title or _clip(extracted.title) or _stem(filename),
            filename=filename,
            media_type=extracted.media_type or media_type or "application/octet-stream",
            size_bytes=len(command.data),
            sha256=sha256,
            chunk_count=len(drafts),
            created_at=now,
            created_by=command.viewer.user_id if command.viewer is not None else None,
        )
        chunks = [
            KnowledgeChunk(
                id=self.ids.new_id(),
                document_id=document.id,
                clinic_id=document.clinic_id,
                ordinal=ordinal,
                text=draft.text,
                heading=draft.heading,
            )
            for ordinal, draft in enumerate(drafts)
        ]
        try:
            await self.knowledge.add(document, chunks)
        except Conflict:
            # The same file uploaded twice at once: the other upload won.
            existing = await self._find(command.clinic_id, sha256)
            if existing is None:
                raise
            return AddedKnowledge(existing, created=False)

        async def work(uow: UnitOfWork) -> None:
            actor = actor_of(command.actor, document.created_by)
            await uow.audit.append(knowledge_audit(actor, document, now, KNOWLEDGE_ADD))
            await uow.commit()

        try:
            await transact(self.uow_factory, work)
        except BaseException:
            # Unrecorded, the document must not answer patients.
            with contextlib.suppress(PorfinError):
                await self.knowledge.remove(document.clinic_id, document.id)
            raise
        return AddedKnowledge(document, created=True)

    async def _find(self, clinic_id: str, sha256: str) -> KnowledgeDocument | None:
        for document in await self.knowledge.documents(clinic_id):
            if document.sha256 == sha256:
                return document
        return None


def _title(title: str | None) -> str | None:
    """``title`` trimmed and on one line; None when blank.

    Raises:
        ValidationError: longer than :data:`MAX_TITLE_LENGTH`.
    """
    if title is None:
        return None
    cleaned = " ".join(title.split())
    if len(cleaned) > MAX_TITLE_LENGTH:
        raise ValidationError(
            f"the title has more than {MAX_TITLE_LENGTH} characters", field="title"
        )
    return cleaned or None


def _clip(title: str | None) -> str | None:
    """A title found inside the file, on one line, cut to :data:`MAX_TITLE_LENGTH`."""
    cleaned = " ".join((title or "").split())
    return cleaned[:MAX_TITLE_LENGTH].rstrip() or None


def _media_type(media_type: str | None) -> str | None:
    """The bare type, lower-case (parameters such as ``charset`` dropped)."""
    if media_type is None:
        return None
    bare = media_type.split(";", 1)[0].strip().lower()
    return bare or None


def _stem(filename: str) -> str:
    """The file's name without its extension (``tabela_precos.csv`` -> ``tabela precos``)."""
    stem, dot, _ = filename.rpartition(".")
    name = " ".join((stem if dot and stem else filename).replace("_", " ").split())
    return name[:MAX_TITLE_LENGTH]
