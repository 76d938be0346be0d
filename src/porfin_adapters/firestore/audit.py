"""The Firestore audit log.

Layout (``…`` is ``{root}clinics/{clinic_id}``)::

    …/audit/{seq, 12 digits}   one record (+ _at_micros, _facets)
    …/audit_chain/head         {seq, hash}: the chain's last link

Appends wait in the unit of work. At commit, before the commit RPC, the unit of work reads each
affected clinic's head document *through its transaction* (Firestore then locks it), seals the
entries after it, and adds the records (``create``: the commit fails rather than overwrite one)
and the new head to the same commit. Two transactions that append to one clinic both read its
head: one commits, the other is aborted and retried from the start (``TransactionConflict``),
so a chain never forks.

Listing is newest first on (``_at_micros``, document id). Equality filters use ``_facets``,
one key per combination of the record's actor, action, resource type and resource id (15
keys), so any combination is one ``array-contains`` served by one composite index
(``_facets`` CONTAINS, ``_at_micros`` DESC); ``since``/``until`` are a range on ``_at_micros``.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

from google.cloud.firestore import AsyncDocumentReference, AsyncTransaction, FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from porfin_adapters.firestore.storage import _DESC, _load, _Session
from porfin_adapters.serialization import to_document, utc_micros
from porfin_core.domain.audit import GENESIS_HASH, AuditEntry, AuditHead, AuditRecord, seal
from porfin_core.pagination import Page, check_limit
from porfin_core.ports.audit import AuditQuery, decode_audit_cursor, encode_audit_cursor

ITERATE_BATCH = 500
_FACET_FIELDS = (("a", "actor_id"), ("c", "action"), ("t", "resource_type"), ("r", "resource_id"))


def record_id(seq: int) -> str:
    """The document id of record ``seq``: zero-padded, so id order is chain order."""
    return f"{seq:012d}"


def _facets(values: dict[str, str]) -> list[str]:
    parts = [f"{short}={quote(values[name], safe='')}" for short, name in _FACET_FIELDS]
    return [
        "|".join(combo)
        for size in range(1, len(parts) + 1)
        for combo in itertools.combinations(parts, size)
    ]


def _query_facet(query: AuditQuery) -> str | None:
    parts = [
        f"{short}={quote(value, safe='')}"
        for short, name in _FACET_FIELDS
        if (value := getattr(query, name)) is not None
    ]
    return "|".join(parts) if parts else None


class FirestoreAuditLog:
    """The audit log as a unit of work sees it (see the module docstring)."""

    def __init__(self, session: _Session) -> None:
        self._s = session
        self._pending: list[AuditEntry] = []

    def _records(self, clinic_id: str) -> Any:
        return self._s.sub(clinic_id, "audit")

    def _head_ref(self, clinic_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "audit_chain").document("head")

    async def append(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    def discard(self) -> None:
        """Forget the appends of a unit of work left without committing."""
        self._pending.clear()

    async def write_pending(self, transaction: AsyncTransaction) -> None:
        """Seal the appended entries after their clinics' heads (read through
        ``transaction``) and add records and heads to it. Call before any other write."""
        if not self._pending:
            return
        clinic_ids = list(dict.fromkeys(entry.clinic_id for entry in self._pending))
        found = await self._s.get_many(self._head_ref(c) for c in clinic_ids)
        heads: dict[str, tuple[int, str]] = {}
        for clinic_id in clinic_ids:
            doc = found[self._head_ref(clinic_id).path]
            heads[clinic_id] = (int(doc["seq"]), str(doc["hash"])) if doc else (0, GENESIS_HASH)
        for entry in self._pending:
            seq, prev_hash = heads[entry.clinic_id]
            record = seal(entry, seq + 1, prev_hash)
            doc = to_document(record)
            doc["_at_micros"] = utc_micros(record.at)
            doc["_facets"] = _facets(doc)
            transaction.create(self._records(record.clinic_id).document(record_id(record.seq)), doc)
            heads[entry.clinic_id] = (record.seq, record.hash)
        for clinic_id, (seq, digest) in heads.items():
            transaction.set(self._head_ref(clinic_id), {"seq": seq, "hash": digest})
        self._pending.clear()

    async def list(self, query: AuditQuery) -> Page[AuditRecord]:
        limit = check_limit(query.limit)
        after = decode_audit_cursor(query.cursor) if query.cursor is not None else None
        found: Any = self._records(query.clinic_id)
        facet = _query_facet(query)
        if facet is not None:
            found = found.where(filter=FieldFilter("_facets", "array_contains", facet))
        if query.since is not None:
            found = found.where(filter=FieldFilter("_at_micros", ">=", utc_micros(query.since)))
        if query.until is not None:
            found = found.where(filter=FieldFilter("_at_micros", "<", utc_micros(query.until)))
        found = found.order_by("_at_micros", direction=_DESC).order_by(
            FieldPath.document_id(), direction=_DESC
        )
        if after is not None:
            found = found.start_after({"_at_micros": after[0], "__name__": record_id(after[1])})
        snapshots = await self._s.query(found.limit(limit + 1))
        page = [(s.id, s.to_dict() or {}) for s in snapshots[:limit]]
        next_cursor = (
            encode_audit_cursor(int(page[-1][1]["_at_micros"]), int(page[-1][0]))
            if len(snapshots) > limit
            else None
        )
        return Page([_load(doc, AuditRecord) for _, doc in page], next_cursor)

    async def iterate(self, clinic_id: str) -> AsyncIterator[AuditRecord]:
        last: str | None = None
        while True:
            batch: Any = self._records(clinic_id).order_by(FieldPath.document_id())
            if last is not None:
                batch = batch.start_after({"__name__": last})
            snapshots = await self._s.query(batch.limit(ITERATE_BATCH))
            for snapshot in snapshots:
                yield _load(snapshot.to_dict() or {}, AuditRecord)
            if len(snapshots) < ITERATE_BATCH:
                return
            last = snapshots[-1].id

    async def head(self, clinic_id: str) -> AuditHead | None:
        doc = await self._s.get(self._head_ref(clinic_id))
        return None if doc is None else AuditHead(int(doc["seq"]), str(doc["hash"]))
