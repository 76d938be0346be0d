"""The SQLite audit log: table ``audit_log`` and the chain heads in ``audit_heads``.

Reads go to the reader connection, like every other repository. An append is a buffered write
that runs on the writer connection inside the committing transaction: it reads the clinic's
head there, seals the entry after it and inserts the record and the new head. SQLite's write
lock (``BEGIN IMMEDIATE``) is held meanwhile, so appends of any number of processes queue up
and never fork a chain; triggers (migration 0002) refuse an UPDATE or DELETE of a record, a
removed head, and a record that does not take the next place of its chain.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.database import Reader, Write
from porfin_core.domain.audit import GENESIS_HASH, AuditEntry, AuditHead, AuditRecord, seal
from porfin_core.pagination import Page, check_limit
from porfin_core.ports.audit import AuditQuery, decode_audit_cursor, encode_audit_cursor

ITERATE_BATCH = 500
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = (
    "clinic_id, seq, at_micros, actor_id, actor_kind, action, resource_type, resource_id,"
    " source, request_id, details, prev_hash, hash"
)


class _Writes(Protocol):
    writes: list[Write]


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _record(row: tuple[Any, ...]) -> AuditRecord:
    (clinic_id, seq, at_micros, actor_id, actor_kind, action, resource_type, resource_id) = row[:8]
    source, request_id, details, prev_hash, digest = row[8:]
    return AuditRecord(
        clinic_id=clinic_id,
        seq=seq,
        at=_from_micros(at_micros),
        actor_id=actor_id,
        actor_kind=actor_kind,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        source=source,
        request_id=request_id,
        details=json.loads(details),
        prev_hash=prev_hash,
        hash=digest,
    )


def _appender(entry: AuditEntry) -> Write:
    def append(conn: sqlite3.Connection) -> None:
        head = conn.execute(
            "SELECT seq, hash FROM audit_heads WHERE clinic_id = ?", (entry.clinic_id,)
        ).fetchone()
        seq, prev_hash = (head[0], head[1]) if head is not None else (0, GENESIS_HASH)
        record = seal(entry, seq + 1, prev_hash)
        conn.execute(
            f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                record.clinic_id,
                record.seq,
                utc_micros(record.at),
                record.actor_id,
                record.actor_kind,
                record.action,
                record.resource_type,
                record.resource_id,
                record.source,
                record.request_id,
                json.dumps(record.details, sort_keys=True, ensure_ascii=False),
                record.prev_hash,
                record.hash,
            ),
        )
        conn.execute(
            "INSERT INTO audit_heads (clinic_id, seq, hash) VALUES (?, ?, ?)"
            " ON CONFLICT (clinic_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            (record.clinic_id, record.seq, record.hash),
        )

    return append


class SqliteAuditLog:
    """The audit log as a unit of work sees it (see the module docstring)."""

    def __init__(self, conn: Reader, tracker: _Writes) -> None:
        self._conn = conn
        self._tracker = tracker

    async def append(self, entry: AuditEntry) -> None:
        self._tracker.writes.append(_appender(entry))

    async def list(self, query: AuditQuery) -> Page[AuditRecord]:
        limit = check_limit(query.limit)
        where = ["clinic_id = ?"]
        params: list[Any] = [query.clinic_id]
        for column in ("actor_id", "action", "resource_type", "resource_id"):
            value = getattr(query, column)
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.since is not None:
            where.append("at_micros >= ?")
            params.append(utc_micros(query.since))
        if query.until is not None:
            where.append("at_micros < ?")
            params.append(utc_micros(query.until))
        if query.cursor is not None:
            where.append("(at_micros, seq) < (?, ?)")
            params += decode_audit_cursor(query.cursor)
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM audit_log WHERE {' AND '.join(where)}"
            " ORDER BY at_micros DESC, seq DESC LIMIT ?",
            (*params, limit + 1),
        ).fetchall()
        page = rows[:limit]
        next_cursor = encode_audit_cursor(page[-1][2], page[-1][1]) if len(rows) > limit else None
        return Page([_record(row) for row in page], next_cursor)

    async def iterate(self, clinic_id: str) -> AsyncIterator[AuditRecord]:
        last = 0
        while True:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM audit_log WHERE clinic_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (clinic_id, last, ITERATE_BATCH),
            ).fetchall()
            for row in rows:
                yield _record(row)
            if len(rows) < ITERATE_BATCH:
                return
            last = rows[-1][1]

    async def head(self, clinic_id: str) -> AuditHead | None:
        row = self._conn.execute(
            "SELECT seq, hash FROM audit_heads WHERE clinic_id = ?", (clinic_id,)
        ).fetchone()
        return None if row is None else AuditHead(row[0], row[1])
