"""SQLite calendar repositories (wired into :class:`SqliteUnitOfWork`).

Tables of migration ``0011_calendar.sql``; rows are keyed ``clinic_id|professional_id`` (or
``|appointment_id`` for links). A lookup that finds nothing is checked again at commit, so two
units of work that both found no connection (or link, or feed) and both insert one conflict,
and the loser is retried.
"""

from __future__ import annotations

from typing import Any, TypeVar

from porfin_adapters.sqlite.storage import _dump, _load, _Repo
from porfin_core.domain.calendar import (
    CalendarBusyTime,
    CalendarConnection,
    CalendarFeed,
    CalendarLink,
)
from porfin_core.errors import NotFound

T = TypeVar("T")


def _key(clinic_id: str, row_id: str) -> str:
    return f"{clinic_id}|{row_id}"


class _CalendarRepo(_Repo):
    def _by_id(self, table: str, row_id: str, cls: type[T]) -> T | None:
        sql = f"SELECT id, version, doc FROM {table} WHERE id = ?"
        found = self._row(table, sql, (row_id,), cls)
        if found is None:
            self._tracker.still_absent(f"SELECT 1 FROM {table} WHERE id = ?", (row_id,))
        return found

    def _rows(self, table: str, sql: str, params: tuple[Any, ...], cls: type[T]) -> list[T]:
        rows = self._conn.execute(sql, params).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded(table, row_id, version)
        return [_load(doc, cls) for _, _, doc in rows]


class SqliteCalendarConnectionRepository(_CalendarRepo):
    async def get(self, clinic_id: str, professional_id: str) -> CalendarConnection:
        found = await self.find(clinic_id, professional_id)
        if found is None:
            raise NotFound("calendar connection not found", id=professional_id)
        return found

    async def find(self, clinic_id: str, professional_id: str) -> CalendarConnection | None:
        return self._by_id(
            "calendar_connections", _key(clinic_id, professional_id), CalendarConnection
        )

    async def list(self, clinic_id: str) -> list[CalendarConnection]:
        return self._rows(
            "calendar_connections",
            "SELECT id, version, doc FROM calendar_connections WHERE clinic_id = ?"
            " ORDER BY professional_id",
            (clinic_id,),
            CalendarConnection,
        )

    async def save(self, connection: CalendarConnection) -> None:
        row_id = _key(connection.clinic_id, connection.professional_id)
        self._tracker.upsert(
            "calendar_connections",
            row_id,
            {
                "id": row_id,
                "clinic_id": connection.clinic_id,
                "professional_id": connection.professional_id,
                "doc": _dump(connection),
            },
            immutable=frozenset({"clinic_id", "professional_id"}),
        )

    async def remove(self, connection: CalendarConnection) -> None:
        row_id = _key(connection.clinic_id, connection.professional_id)
        self._tracker.execute("DELETE FROM calendar_connections WHERE id = ?", (row_id,))


class SqliteCalendarLinkRepository(_CalendarRepo):
    async def get(self, clinic_id: str, appointment_id: str) -> CalendarLink | None:
        return self._by_id("calendar_links", _key(clinic_id, appointment_id), CalendarLink)

    async def find_by_event(self, clinic_id: str, external_id: str) -> CalendarLink | None:
        return self._row(
            "calendar_links",
            "SELECT id, version, doc FROM calendar_links WHERE clinic_id = ? AND external_id = ?"
            " ORDER BY id LIMIT 1",
            (clinic_id, external_id),
            CalendarLink,
        )

    async def list(self, clinic_id: str, professional_id: str) -> list[CalendarLink]:
        return self._rows(
            "calendar_links",
            "SELECT id, version, doc FROM calendar_links WHERE clinic_id = ?"
            " AND professional_id = ? ORDER BY appointment_id",
            (clinic_id, professional_id),
            CalendarLink,
        )

    async def save(self, link: CalendarLink) -> None:
        row_id = _key(link.clinic_id, link.appointment_id)
        self._tracker.upsert(
            "calendar_links",
            row_id,
            {
                "id": row_id,
                "clinic_id": link.clinic_id,
                "professional_id": link.professional_id,
                "appointment_id": link.appointment_id,
                "external_id": link.external_id,
                "doc": _dump(link),
            },
            immutable=frozenset({"clinic_id", "professional_id", "appointment_id"}),
        )


class SqliteCalendarBusyRepository(_CalendarRepo):
    async def get(self, clinic_id: str, professional_id: str) -> CalendarBusyTime | None:
        return self._by_id("calendar_busy", _key(clinic_id, professional_id), CalendarBusyTime)

    async def save(self, busy: CalendarBusyTime) -> None:
        row_id = _key(busy.clinic_id, busy.professional_id)
        self._tracker.upsert(
            "calendar_busy",
            row_id,
            {"id": row_id, "clinic_id": busy.clinic_id, "doc": _dump(busy)},
            immutable=frozenset({"clinic_id"}),
        )

    async def remove(self, clinic_id: str, professional_id: str) -> None:
        row_id = _key(clinic_id, professional_id)
        self._tracker.execute("DELETE FROM calendar_busy WHERE id = ?", (row_id,))


class SqliteCalendarFeedRepository(_CalendarRepo):
    async def find(self, clinic_id: str, professional_id: str) -> CalendarFeed | None:
        return self._by_id("calendar_feeds", _key(clinic_id, professional_id), CalendarFeed)

    async def find_by_hash(self, token_hash: str) -> CalendarFeed | None:
        return self._row(
            "calendar_feeds",
            "SELECT id, version, doc FROM calendar_feeds WHERE token_hash = ?",
            (token_hash,),
            CalendarFeed,
        )

    async def save(self, feed: CalendarFeed) -> None:
        row_id = _key(feed.clinic_id, feed.professional_id)
        self._tracker.upsert(
            "calendar_feeds",
            row_id,
            {
                "id": row_id,
                "clinic_id": feed.clinic_id,
                "token_hash": feed.token_hash,
                "doc": _dump(feed),
            },
            immutable=frozenset({"clinic_id"}),
        )
