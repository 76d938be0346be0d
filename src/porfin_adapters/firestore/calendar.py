"""Firestore calendar repositories (wired into :class:`FirestoreUnitOfWork`).

Layout::

    {root}clinics/{clinic_id}/
        calendar_connections/{professional_id}   one connected calendar per professional
        calendar_links/{appointment_id}          the appointment's event (queried by
                                                 professional_id, or by external_id)
        calendar_busy/{professional_id}          the calendar's busy time
        calendar_feeds/{professional_id}         the ICS feed (its token's SHA-256)
    {root}calendar_feed_tokens/{token_hash}      -> {clinic_id, professional_id}: a feed URL
                                                 names no clinic

Reads go through the unit of work's transaction, so a missing document read (no connection
yet, a free token hash) is locked like the lookup documents of ``storage.py``: two
transactions that both found it missing and both write it do not both commit. Equality
queries only (single-field indexes, no composite index); lists are sorted here.
"""

from __future__ import annotations

from typing import Any, TypeVar

from google.cloud.firestore import AsyncDocumentReference, FieldFilter

from porfin_adapters.firestore.storage import _doc_id, _load, _Repo
from porfin_adapters.serialization import to_document
from porfin_core.domain.calendar import (
    CalendarBusyTime,
    CalendarConnection,
    CalendarFeed,
    CalendarLink,
)
from porfin_core.errors import Conflict, NotFound

T = TypeVar("T")


class _CalendarRepo(_Repo):
    _collection = ""

    def _ref(self, clinic_id: str, row_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, self._collection).document(_doc_id(row_id))

    async def _find(self, clinic_id: str, row_id: str, cls: type[T]) -> T | None:
        doc = await self._s.get(self._ref(clinic_id, row_id))
        return None if doc is None else _load(doc, cls)

    async def _where(self, clinic_id: str, field: str, value: Any) -> list[dict[str, Any]]:
        query = self._s.sub(clinic_id, self._collection).where(
            filter=FieldFilter(field, "==", value)
        )
        return [s.to_dict() or {} for s in await self._s.query(query)]


class FirestoreCalendarConnectionRepository(_CalendarRepo):
    _collection = "calendar_connections"

    async def get(self, clinic_id: str, professional_id: str) -> CalendarConnection:
        found = await self.find(clinic_id, professional_id)
        if found is None:
            raise NotFound("calendar connection not found", id=professional_id)
        return found

    async def find(self, clinic_id: str, professional_id: str) -> CalendarConnection | None:
        return await self._find(clinic_id, professional_id, CalendarConnection)

    async def list(self, clinic_id: str) -> list[CalendarConnection]:
        docs = [
            s.to_dict() or {} for s in await self._s.query(self._s.sub(clinic_id, self._collection))
        ]
        docs.sort(key=lambda d: d["professional_id"])
        return [_load(d, CalendarConnection) for d in docs]

    async def save(self, connection: CalendarConnection) -> None:
        ref = self._ref(connection.clinic_id, connection.professional_id)
        self._s.put(ref, to_document(connection))

    async def remove(self, connection: CalendarConnection) -> None:
        self._s.delete(self._ref(connection.clinic_id, connection.professional_id))


class FirestoreCalendarLinkRepository(_CalendarRepo):
    _collection = "calendar_links"

    async def get(self, clinic_id: str, appointment_id: str) -> CalendarLink | None:
        return await self._find(clinic_id, appointment_id, CalendarLink)

    async def find_by_event(self, clinic_id: str, external_id: str) -> CalendarLink | None:
        docs = await self._where(clinic_id, "external_id", external_id)
        docs.sort(key=lambda d: d["appointment_id"])
        return _load(docs[0], CalendarLink) if docs else None

    async def list(self, clinic_id: str, professional_id: str) -> list[CalendarLink]:
        docs = await self._where(clinic_id, "professional_id", professional_id)
        docs.sort(key=lambda d: d["appointment_id"])
        return [_load(d, CalendarLink) for d in docs]

    async def save(self, link: CalendarLink) -> None:
        self._s.put(self._ref(link.clinic_id, link.appointment_id), to_document(link))


class FirestoreCalendarBusyRepository(_CalendarRepo):
    _collection = "calendar_busy"

    async def get(self, clinic_id: str, professional_id: str) -> CalendarBusyTime | None:
        return await self._find(clinic_id, professional_id, CalendarBusyTime)

    async def save(self, busy: CalendarBusyTime) -> None:
        self._s.put(self._ref(busy.clinic_id, busy.professional_id), to_document(busy))

    async def remove(self, clinic_id: str, professional_id: str) -> None:
        self._s.delete(self._ref(clinic_id, professional_id))


class FirestoreCalendarFeedRepository(_CalendarRepo):
    _collection = "calendar_feeds"

    def _token(self, token_hash: str) -> AsyncDocumentReference:
        return self._s.top("calendar_feed_tokens").document(_doc_id(token_hash))

    async def find(self, clinic_id: str, professional_id: str) -> CalendarFeed | None:
        return await self._find(clinic_id, professional_id, CalendarFeed)

    async def find_by_hash(self, token_hash: str) -> CalendarFeed | None:
        holder = await self._s.get(self._token(token_hash))
        if holder is None:
            return None
        feed = await self.find(holder["clinic_id"], holder["professional_id"])
        return feed if feed is not None and feed.token_hash == token_hash else None

    async def save(self, feed: CalendarFeed) -> None:
        token = self._token(feed.token_hash)
        holder = await self._s.get(token)
        owner = {"clinic_id": feed.clinic_id, "professional_id": feed.professional_id}
        if holder is not None and holder != owner:
            raise Conflict("this feed token is taken")
        previous = await self.find(feed.clinic_id, feed.professional_id)
        if previous is not None and previous.token_hash != feed.token_hash:
            self._s.delete(self._token(previous.token_hash))
        self._s.put(token, owner)
        self._s.put(self._ref(feed.clinic_id, feed.professional_id), to_document(feed))
