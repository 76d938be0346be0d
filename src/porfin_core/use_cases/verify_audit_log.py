"""Check that the audit log's hash chains are intact."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import ChainReport, ChainVerifier
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class VerifyAuditLog:
    """Re-hash every record of each clinic's chain, oldest first, and compare every link.

    Finds the first record modified, deleted, inserted or reordered behind Porfin's back in
    each clinic (see :func:`porfin_core.domain.audit.verify_chain`), including records removed
    from the end (the chain must reach the head the log keeps apart). Records appended while
    it runs are checked too. Reads in batches: any length of chain fits in memory.
    """

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str | None = None) -> list[ChainReport]:
        """One report per clinic (only ``clinic_id``'s when given), in the clinics' order.

        Raises:
            StorageUnavailable: the storage failed while reading.
        """
        async with self.uow_factory(read_only=True) as uow:
            if clinic_id is not None:
                clinic_ids = [clinic_id]
            else:
                clinic_ids = [clinic.id for clinic in await uow.clinics.list()]
        reports = []
        for current in clinic_ids:
            async with self.uow_factory(read_only=True) as uow:
                verifier = ChainVerifier(current, await uow.audit.head(current))
                async for record in uow.audit.iterate(current):
                    if not verifier.feed(record):
                        break
            reports.append(verifier.report())
        return reports
