"""Download an attachment (an audited read: ``media.read``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.media import StoredMedia
from porfin_core.ports.clock import Clock
from porfin_core.ports.media import MediaStore
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read


@attrs.frozen
class MediaDownload:
    """A file to send back: what is known about it and its bytes, in chunks."""

    media: StoredMedia
    chunks: AsyncIterator[bytes]


@attrs.define(kw_only=True)
class GetMedia:
    """A file of the caller's clinic; the read is recorded in the audit log first."""

    uow_factory: UnitOfWorkFactory
    media: MediaStore
    clock: Clock

    async def __call__(
        self, clinic_id: str, media_id: str, *, actor: Actor | None = None
    ) -> MediaDownload:
        """Return the file.

        ``actor`` is who reads and from where, for the audit record (default: Porfin itself).

        Raises:
            NotFound: no such file in the clinic.
            StorageUnavailable: the read could not be recorded; the file is not returned.
        """
        media = await self.media.info(clinic_id, media_id)
        await record_read(
            self.uow_factory,
            AuditEntry.of(
                actor_of(actor),
                clinic_id=clinic_id,
                at=self.clock.now(),
                action=AuditAction.MEDIA_READ,
                resource_type="media",
                resource_id=media.id,
                details={"kind": media.kind.value, "size": str(media.size)},
            ),
        )
        return MediaDownload(media, self.media.chunks(clinic_id, media_id))
