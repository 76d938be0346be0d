"""The memory store's audit log: records in the ``audit`` table, chain heads in ``audit_heads``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from porfin_adapters.serialization import from_document, to_document, utc_micros
from porfin_core.domain.audit import GENESIS_HASH, AuditEntry, AuditHead, AuditRecord, seal
from porfin_core.pagination import Page, check_limit
from porfin_core.ports.audit import AuditQuery, decode_audit_cursor, encode_audit_cursor

if TYPE_CHECKING:
    from porfin_adapters.memory.storage import MemoryStore

Doc = dict[str, Any]


def _audit_key(clinic_id: str, seq: int) -> str:
    return f"{clinic_id}|{seq:012d}"


class MemoryAuditLog:
    """Audit records in ``audit`` (keyed ``clinic|seq``), chain heads in ``audit_heads``.

    Appends wait in the unit of work and are chained at commit, under the store's write lock.
    """

    def __init__(self, store: MemoryStore, pending: list[AuditEntry]) -> None:
        self._store = store
        self._pending = pending

    async def append(self, entry: AuditEntry) -> None:
        self._pending.append(entry)

    async def list(self, query: AuditQuery) -> Page[AuditRecord]:
        limit = check_limit(query.limit)
        after = decode_audit_cursor(query.cursor) if query.cursor is not None else None
        since = utc_micros(query.since) if query.since is not None else None
        until = utc_micros(query.until) if query.until is not None else None
        wanted = {
            "actor_id": query.actor_id,
            "action": query.action,
            "resource_type": query.resource_type,
            "resource_id": query.resource_id,
        }
        found = []
        for doc in self._store.tables["audit"].values():
            key = doc["_sort"]
            if doc["clinic_id"] != query.clinic_id:
                continue
            if any(value is not None and doc[name] != value for name, value in wanted.items()):
                continue
            if (since is not None and key[0] < since) or (until is not None and key[0] >= until):
                continue
            if after is not None and key >= after:
                continue
            found.append(doc)
        found.sort(key=lambda d: d["_sort"], reverse=True)
        page = found[:limit]
        next_cursor = encode_audit_cursor(*page[-1]["_sort"]) if len(found) > limit else None
        return Page([_audit_record(d) for d in page], next_cursor)

    async def iterate(self, clinic_id: str) -> AsyncIterator[AuditRecord]:
        table = self._store.tables["audit"]
        prefix = f"{clinic_id}|"
        for key in sorted(k for k in table if k.startswith(prefix)):
            doc = table.get(key)
            if doc is not None:
                yield _audit_record(doc)

    async def head(self, clinic_id: str) -> AuditHead | None:
        doc = self._store.tables["audit_heads"].get(clinic_id)
        return None if doc is None else AuditHead(doc["seq"], doc["hash"])


def _audit_record(doc: Doc) -> AuditRecord:
    return from_document({k: v for k, v in doc.items() if k != "_sort"}, AuditRecord)


def chain(store: MemoryStore, entries: list[AuditEntry]) -> None:
    """Give each entry the next place of its clinic's chain (the caller holds the lock)."""
    heads = store.tables["audit_heads"]
    for entry in entries:
        head = heads.get(entry.clinic_id, {"seq": 0, "hash": GENESIS_HASH})
        record = seal(entry, head["seq"] + 1, head["hash"])
        doc = to_document(record)
        doc["_sort"] = (utc_micros(record.at), record.seq)
        store.tables["audit"][_audit_key(record.clinic_id, record.seq)] = doc
        heads[record.clinic_id] = {"seq": record.seq, "hash": record.hash}
