"""The audit log port: append-only, hash-chained records per clinic.

The audit log lives inside the unit of work (``uow.audit``), so an audited change and its
record commit together or not at all. Appending does not return the record: its sequence
number and hash are assigned when the unit of work commits, against the clinic's chain head
as it is at that moment, atomically (two concurrent commits never give two records the same
place in the chain, whatever process they run in).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

import attrs

from porfin_core.domain.audit import AuditEntry, AuditHead, AuditRecord
from porfin_core.errors import ValidationError
from porfin_core.pagination import DEFAULT_PAGE_SIZE, Page, decode_cursor, encode_cursor


@attrs.frozen(kw_only=True)
class AuditQuery:
    """Filters for listing a clinic's audit records; they combine with AND.

    Attributes:
        clinic_id: The clinic whose records are listed.
        actor_id: Only what this principal did.
        action: Only this action (``chat.read``...).
        resource_type: Only records about this kind of resource.
        resource_id: Only records about the resource with this id.
        since: Only records at or after this time (timezone-aware).
        until: Only records strictly before this time (timezone-aware).
        limit: Page size.
        cursor: Cursor of the page to read (from the previous page).
    """

    clinic_id: str
    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


class AuditLog(Protocol):
    """A unit of work's view of the audit log: appends commit with it, reads see committed
    records."""

    async def append(self, entry: AuditEntry) -> None:
        """Chain ``entry`` to its clinic's records when the unit of work commits.

        Entries appended in one unit of work take consecutive places, in call order. Nothing
        is written if the unit of work is left without committing.
        """
        ...

    async def list(self, query: AuditQuery) -> Page[AuditRecord]:
        """The clinic's records matching ``query``, newest first (by ``at``, then ``seq``).

        Raises:
            ValidationError: bad cursor or page size.
        """
        ...

    def iterate(self, clinic_id: str) -> AsyncIterator[AuditRecord]:
        """Every record of the clinic in storage order, ``seq`` ascending (for verification).

        Reads in batches, so a chain of any length fits in memory. Records as stored: a
        tampered record is returned as it is, for the verifier to judge.
        """
        ...

    async def head(self, clinic_id: str) -> AuditHead | None:
        """The clinic's chain head (last ``seq`` and ``hash``), kept apart from the records,
        or None before the first record."""
        ...


def encode_audit_cursor(at_micros: int, seq: int) -> str:
    """The cursor after a record listed at ``at_micros`` (µs since the epoch) with ``seq``.

    Every adapter pages the audit log with this cursor shape.
    """
    return encode_cursor(at_micros, seq)


def decode_audit_cursor(cursor: str) -> tuple[int, int]:
    """``(at_micros, seq)`` of the last record of the previous page.

    Raises:
        ValidationError: not a cursor of the audit list.
    """
    at_micros, seq = decode_cursor(cursor, 2)
    for value in (at_micros, seq):
        # Storage integers are signed 64-bit.
        if isinstance(value, bool) or not isinstance(value, int) or abs(value) >= 2**63:
            raise ValidationError("invalid cursor", field="cursor")
    return int(at_micros), int(seq)
