"""Read a clinic's audit log."""

from __future__ import annotations

from datetime import UTC

import attrs

from porfin_core.domain.audit import AuditRecord
from porfin_core.errors import ValidationError
from porfin_core.pagination import Page, check_limit
from porfin_core.ports.audit import AuditQuery
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListAuditRecords:
    """A clinic's audit records, newest first, filtered by actor, action, resource and time.

    Who may call it is the shell's business (administrators). Reading the audit log is not
    itself recorded.
    """

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: AuditQuery) -> Page[AuditRecord]:
        """Return one page of records.

        Raises:
            ValidationError: bad page size or cursor, a time without a time zone, or
                ``since`` not before ``until``.
        """
        check_limit(query.limit)
        for name in ("since", "until"):
            moment = getattr(query, name)
            if moment is None:
                continue
            if moment.utcoffset() is None:
                raise ValidationError(f"{name} needs a time zone", field=name)
            try:
                moment.astimezone(UTC)
            except OverflowError:  # e.g. 0001-01-01T00:00+01:00 is before year 1 in UTC
                raise ValidationError(f"{name} is out of range", field=name) from None
        if query.since is not None and query.until is not None and query.since >= query.until:
            raise ValidationError("since must be before until", field="since")
        async with self.uow_factory(read_only=True) as uow:
            return await uow.audit.list(query)
