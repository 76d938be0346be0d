"""SQLite assistant turns and monthly spending (wired into :class:`SqliteUnitOfWork` as
``uow.assistant_turns``).

Tables ``assistant_turns`` and ``assistant_usage`` (migration ``0015_assistant_turns.sql``).
Turns follow :mod:`porfin_adapters.sqlite.storage` (a row read remembers its version). A
month's spending is keyed by (clinic, month): its read remembers the version found, or that
there was none, and its save is guarded by it, so two turns that read one month and both
add to it do not both commit (the loser's retry adds to the winner's total).
"""

from __future__ import annotations

import sqlite3

from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.storage import _dump, _load, _Repo
from porfin_core.domain.assistant import AssistantTurn, AssistantUsage
from porfin_core.errors import TransactionConflict

_TURN_KEYS = frozenset({"clinic_id", "chat_id"})
_ABSENT = 0
"""The version remembered for a month read while it had no row."""


class SqliteAssistantTurnRepository(_Repo):
    """Turns in table ``assistant_turns``, spending in ``assistant_usage``."""

    async def get(self, clinic_id: str, turn_id: str) -> AssistantTurn:
        return self._scoped("assistant_turns", AssistantTurn, clinic_id, turn_id, "assistant turn")

    async def for_chat(self, clinic_id: str, chat_id: str, limit: int = 20) -> list[AssistantTurn]:
        rows = self._conn.execute(
            "SELECT id, version, doc FROM assistant_turns WHERE clinic_id = ? AND chat_id = ?"
            " ORDER BY started_micros DESC, id DESC LIMIT ?",
            (clinic_id, chat_id, limit),
        ).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("assistant_turns", row_id, version)
        return [_load(doc, AssistantTurn) for _, _, doc in rows]

    async def save(self, turn: AssistantTurn) -> None:
        self._tracker.upsert(
            "assistant_turns",
            turn.id,
            {
                "id": turn.id,
                "clinic_id": turn.clinic_id,
                "chat_id": turn.chat_id,
                "started_micros": utc_micros(turn.started_at),
                "doc": _dump(turn),
            },
            immutable=_TURN_KEYS,
        )

    async def usage(self, clinic_id: str, month: str) -> AssistantUsage:
        row = self._conn.execute(
            "SELECT version, doc FROM assistant_usage WHERE clinic_id = ? AND month = ?",
            (clinic_id, month),
        ).fetchone()
        # The first read decides what the save is guarded by (a later read still sees the
        # committed row, not this unit of work's own save).
        self._tracker.versions.setdefault(
            ("assistant_usage", _key(clinic_id, month)), _ABSENT if row is None else row[0]
        )
        if row is None:
            return AssistantUsage(clinic_id=clinic_id, month=month)
        return _load(row[1], AssistantUsage)

    async def save_usage(self, usage: AssistantUsage) -> None:
        key = ("assistant_usage", _key(usage.clinic_id, usage.month))
        version = self._tracker.versions.get(key)
        where = (usage.clinic_id, usage.month)
        doc = _dump(usage)
        if version is None:  # never read: a blind write

            def write(conn: sqlite3.Connection) -> None:
                conn.execute(
                    "INSERT INTO assistant_usage (clinic_id, month, doc) VALUES (?, ?, ?)"
                    " ON CONFLICT (clinic_id, month) DO UPDATE SET doc = excluded.doc,"
                    " version = assistant_usage.version + 1",
                    (*where, doc),
                )

        elif version == _ABSENT:

            def write(conn: sqlite3.Connection) -> None:
                inserted = conn.execute(
                    "INSERT INTO assistant_usage (clinic_id, month, doc) VALUES (?, ?, ?)"
                    " ON CONFLICT (clinic_id, month) DO NOTHING",
                    (*where, doc),
                ).rowcount
                if inserted != 1:
                    raise TransactionConflict(f"usage of {usage.month} changed concurrently")

        else:

            def write(conn: sqlite3.Connection) -> None:
                updated = conn.execute(
                    "UPDATE assistant_usage SET doc = ?, version = version + 1"
                    " WHERE clinic_id = ? AND month = ? AND version = ?",
                    (doc, *where, version),
                ).rowcount
                if updated != 1:
                    raise TransactionConflict(f"usage of {usage.month} changed concurrently")

        self._tracker.writes.append(write)
        if version is not None:
            # A second save in this unit of work guards on the version this one writes.
            self._tracker.versions[key] = version + 1


def _key(clinic_id: str, month: str) -> str:
    return f"{clinic_id}|{month}"
