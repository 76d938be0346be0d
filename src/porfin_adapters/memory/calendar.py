"""In-memory calendar repositories (wired into :class:`MemoryUnitOfWork`): connections,
appointment links, busy time and feeds, one table each, keyed by ``clinic|id``."""

from __future__ import annotations

from porfin_adapters.memory.storage import _Repos
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.calendar import (
    CalendarBusyTime,
    CalendarConnection,
    CalendarFeed,
    CalendarLink,
)
from porfin_core.errors import Conflict, NotFound


def _key(clinic_id: str, row_id: str) -> str:
    return f"{clinic_id}|{row_id}"


class MemoryCalendarConnectionRepository(_Repos):
    async def get(self, clinic_id: str, professional_id: str) -> CalendarConnection:
        found = await self.find(clinic_id, professional_id)
        if found is None:
            raise NotFound("calendar connection not found", id=professional_id)
        return found

    async def find(self, clinic_id: str, professional_id: str) -> CalendarConnection | None:
        doc = self._table("calendar_connections").get(_key(clinic_id, professional_id))
        return None if doc is None else from_document(doc, CalendarConnection)

    async def list(self, clinic_id: str) -> list[CalendarConnection]:
        docs = [
            d for d in self._table("calendar_connections").values() if d["clinic_id"] == clinic_id
        ]
        docs.sort(key=lambda d: d["professional_id"])
        return [from_document(d, CalendarConnection) for d in docs]

    async def save(self, connection: CalendarConnection) -> None:
        key = _key(connection.clinic_id, connection.professional_id)
        self._put("calendar_connections", key, to_document(connection))

    async def remove(self, connection: CalendarConnection) -> None:
        key = _key(connection.clinic_id, connection.professional_id)
        self._put("calendar_connections", key, None)


class MemoryCalendarLinkRepository(_Repos):
    async def get(self, clinic_id: str, appointment_id: str) -> CalendarLink | None:
        doc = self._table("calendar_links").get(_key(clinic_id, appointment_id))
        return None if doc is None else from_document(doc, CalendarLink)

    async def find_by_event(self, clinic_id: str, external_id: str) -> CalendarLink | None:
        for doc in self._table("calendar_links").values():
            if doc["clinic_id"] == clinic_id and doc["external_id"] == external_id:
                return from_document(doc, CalendarLink)
        return None

    async def list(self, clinic_id: str, professional_id: str) -> list[CalendarLink]:
        docs = [
            d
            for d in self._table("calendar_links").values()
            if d["clinic_id"] == clinic_id and d["professional_id"] == professional_id
        ]
        docs.sort(key=lambda d: d["appointment_id"])
        return [from_document(d, CalendarLink) for d in docs]

    async def save(self, link: CalendarLink) -> None:
        self._put("calendar_links", _key(link.clinic_id, link.appointment_id), to_document(link))


class MemoryCalendarBusyRepository(_Repos):
    async def get(self, clinic_id: str, professional_id: str) -> CalendarBusyTime | None:
        doc = self._table("calendar_busy").get(_key(clinic_id, professional_id))
        return None if doc is None else from_document(doc, CalendarBusyTime)

    async def save(self, busy: CalendarBusyTime) -> None:
        key = _key(busy.clinic_id, busy.professional_id)
        self._put("calendar_busy", key, to_document(busy))

    async def remove(self, clinic_id: str, professional_id: str) -> None:
        self._put("calendar_busy", _key(clinic_id, professional_id), None)


class MemoryCalendarFeedRepository(_Repos):
    async def find(self, clinic_id: str, professional_id: str) -> CalendarFeed | None:
        doc = self._table("calendar_feeds").get(_key(clinic_id, professional_id))
        return None if doc is None else from_document(doc, CalendarFeed)

    async def find_by_hash(self, token_hash: str) -> CalendarFeed | None:
        for doc in self._table("calendar_feeds").values():
            if doc["token_hash"] == token_hash:
                return from_document(doc, CalendarFeed)
        return None

    async def save(self, feed: CalendarFeed) -> None:
        key = _key(feed.clinic_id, feed.professional_id)
        for other_key, doc in self._table("calendar_feeds").items():
            if other_key != key and doc["token_hash"] == feed.token_hash:
                raise Conflict("this feed token is taken")
        self._put("calendar_feeds", key, to_document(feed))
