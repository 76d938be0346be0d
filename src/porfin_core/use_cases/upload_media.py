"""Upload an attachment staff will send."""

from __future__ import annotations

import contextlib
import hashlib

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.media import (
    StoredMedia,
    check_content,
    check_size,
    media_kind,
    normalize_media_type,
    safe_filename,
)
from porfin_core.errors import PorfinError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.media import MediaStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewMedia:
    """A file to keep.

    Attributes:
        clinic_id: The uploader's clinic (the only one that will see the file).
        mime_type: The type the client declared (parameters and common aliases allowed).
        data: The file's bytes.
        filename: The name it was uploaded with, if any.
        uploaded_by: The staff user uploading it.
        actor: Who uploads and from where, for the audit record (default: the staff user
            ``uploaded_by``, else Porfin itself).
    """

    clinic_id: str
    mime_type: str
    data: bytes = attrs.field(repr=False)
    filename: str | None = None
    uploaded_by: str | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class UploadMedia:
    """Check a file against what WhatsApp delivers and keep it in the media store.

    The type must be one WhatsApp accepts (``unsupported_media_type``), the content must
    look like that type (``validation_error``), and the size must fit the kind's limit and
    the installation's ``max_bytes`` (``payload_too_large``). The file is stored, then a
    ``media.upload`` audit record is written; if the record cannot be, the file is removed.

    Attributes:
        max_bytes: The installation's upload limit (``settings.max_upload_bytes``).
    """

    uow_factory: UnitOfWorkFactory
    media: MediaStore
    clock: Clock
    ids: IdGenerator
    max_bytes: int

    async def __call__(self, command: NewMedia) -> StoredMedia:
        """Store the file; returns what is known about it (id, kind, type, size, hash).

        Raises:
            UnsupportedMediaType: WhatsApp does not deliver this type.
            PayloadTooLarge: larger than the kind's limit or the installation's.
            ValidationError: empty, or the content is not of the declared type.
            StorageUnavailable: the file or its audit record could not be written.
        """
        mime_type = normalize_media_type(command.mime_type)
        kind = media_kind(mime_type)
        check_size(kind, len(command.data), self.max_bytes)
        check_content(mime_type, command.data)
        now = self.clock.now()
        media = StoredMedia(
            id=self.ids.new_id(),
            clinic_id=command.clinic_id,
            kind=kind,
            mime_type=mime_type,
            size=len(command.data),
            sha256=hashlib.sha256(command.data).hexdigest(),
            filename=safe_filename(command.filename),
            uploaded_by=command.uploaded_by,
            created_at=now,
        )
        await self.media.put(media, command.data)

        async def work(uow: UnitOfWork) -> None:
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor, command.uploaded_by),
                    clinic_id=media.clinic_id,
                    at=now,
                    action=AuditAction.MEDIA_UPLOAD,
                    resource_type="media",
                    resource_id=media.id,
                    details={
                        "kind": kind.value,
                        "mime_type": mime_type,
                        "size": str(media.size),
                    },
                )
            )
            await uow.commit()

        try:
            await transact(self.uow_factory, work)
        except BaseException:
            # Left behind, the file would be unreachable; the audit failure is what matters.
            with contextlib.suppress(PorfinError):
                await self.media.delete(media.clinic_id, media.id)
            raise
        return media
