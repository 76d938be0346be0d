"""Firestore scheduling repositories (wired into :class:`FirestoreUnitOfWork`).

Layout, under ``{root}clinics/{clinic_id}``::

    professionals/{id}            (+ _sort_micros: created_at)
    appointment_types/{id}        (+ _sort_micros: created_at)
    closures/{id}                 (+ _start_micros, _end_micros)
    appointments/{id}             (+ _start_micros); queried by professional_id or customer_id
                                  and a range of _start_micros (composite indexes in
                                  firestore.indexes.json)
    waitlist/{id}                 (+ _since_micros)
    agenda_locks/{professional_id|YYYY-MM-DD}   {professional_id, day, holds}

Agenda locks: :meth:`FirestoreAppointmentRepository.hold` reads the (professional, date)
documents through the transaction, which locks them, and rewrites them at commit. Two
transactions that hold a common date both read it before writing it: Firestore lets one
commit and aborts the other (``ABORTED``, :class:`~porfin_core.errors.TransactionConflict`),
whose retry then reads the winner's appointment. A missing lock document locks the same way
(as the lookup documents of ``storage.py`` do).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from google.cloud.firestore import AsyncDocumentReference, AsyncQuery, FieldFilter
from google.cloud.firestore_v1.field_path import FieldPath

from porfin_adapters.firestore.storage import Doc, _doc_id, _load, _Repo
from porfin_adapters.serialization import to_document, utc_micros
from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentType,
    Closure,
    Professional,
    WaitlistEntry,
    WaitlistStatus,
)
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.scheduling import AppointmentQuery


class _SchedulingRepo(_Repo):
    _collection = ""
    _what = ""

    def _ref(self, clinic_id: str, row_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, self._collection).document(_doc_id(row_id))

    async def _doc(self, clinic_id: str, row_id: str) -> Doc:
        doc = await self._s.get(self._ref(clinic_id, row_id))
        if doc is None:
            raise NotFound(f"{self._what} not found", id=row_id)
        return doc

    async def _all(self, query: Any) -> list[Doc]:
        return [s.to_dict() or {} for s in await self._s.query(query)]


class FirestoreProfessionalRepository(_SchedulingRepo):
    _collection, _what = "professionals", "professional"

    async def get(self, clinic_id: str, professional_id: str) -> Professional:
        return _load(await self._doc(clinic_id, professional_id), Professional)

    async def list(self, clinic_id: str) -> list[Professional]:
        query = self._s.sub(clinic_id, self._collection).order_by("_sort_micros")
        return [_load(d, Professional) for d in await self._all(query)]

    async def save(self, professional: Professional) -> None:
        doc = {**to_document(professional), "_sort_micros": utc_micros(professional.created_at)}
        self._s.put(self._ref(professional.clinic_id, professional.id), doc)


class FirestoreAppointmentTypeRepository(_SchedulingRepo):
    _collection, _what = "appointment_types", "appointment type"

    async def get(self, clinic_id: str, type_id: str) -> AppointmentType:
        return _load(await self._doc(clinic_id, type_id), AppointmentType)

    async def list(self, clinic_id: str) -> list[AppointmentType]:
        query = self._s.sub(clinic_id, self._collection).order_by("_sort_micros")
        return [_load(d, AppointmentType) for d in await self._all(query)]

    async def save(self, appointment_type: AppointmentType) -> None:
        doc = {
            **to_document(appointment_type),
            "_sort_micros": utc_micros(appointment_type.created_at),
        }
        self._s.put(self._ref(appointment_type.clinic_id, appointment_type.id), doc)


class FirestoreClosureRepository(_SchedulingRepo):
    _collection, _what = "closures", "closure"

    async def get(self, clinic_id: str, closure_id: str) -> Closure:
        return _load(await self._doc(clinic_id, closure_id), Closure)

    async def list(self, clinic_id: str, *, ends_after: datetime | None = None) -> list[Closure]:
        query: Any = self._s.sub(clinic_id, self._collection)
        if ends_after is not None:
            # One range filter (automatic index); a clinic has few closures, sorted here.
            query = query.where(filter=FieldFilter("_end_micros", ">", utc_micros(ends_after)))
        docs = await self._all(query)
        docs.sort(key=lambda d: (d["_start_micros"], d["id"]))
        return [_load(d, Closure) for d in docs]

    async def save(self, closure: Closure) -> None:
        doc = {
            **to_document(closure),
            "_start_micros": utc_micros(closure.start),
            "_end_micros": utc_micros(closure.end),
        }
        self._s.put(self._ref(closure.clinic_id, closure.id), doc)

    async def remove(self, closure: Closure) -> None:
        self._s.delete(self._ref(closure.clinic_id, closure.id))


class FirestoreAppointmentRepository(_SchedulingRepo):
    _collection, _what = "appointments", "appointment"

    async def get(self, clinic_id: str, appointment_id: str) -> Appointment:
        return _load(await self._doc(clinic_id, appointment_id), Appointment)

    async def list(self, query: AppointmentQuery) -> list[Appointment]:
        if query.limit is not None and query.limit < 1:
            raise ValidationError("limit must be at least 1", field="limit")
        found: Any = self._s.sub(query.clinic_id, self._collection)
        # One equality filter at most (a composite index each); with both, the patient's
        # appointments are read and the professional checked here.
        if query.customer_id is not None:
            found = found.where(filter=FieldFilter("customer_id", "==", query.customer_id))
        elif query.professional_id is not None:
            found = found.where(filter=FieldFilter("professional_id", "==", query.professional_id))
        if query.starts_from is not None:
            found = found.where(
                filter=FieldFilter("_start_micros", ">=", utc_micros(query.starts_from))
            )
        if query.starts_before is not None:
            found = found.where(
                filter=FieldFilter("_start_micros", "<", utc_micros(query.starts_before))
            )
        ordered: AsyncQuery = found.order_by("_start_micros").order_by(FieldPath.document_id())
        both = query.customer_id is not None and query.professional_id is not None
        if query.limit is not None and not both:
            ordered = ordered.limit(query.limit)
        appointments = [_load(d, Appointment) for d in await self._all(ordered)]
        if both:
            appointments = [a for a in appointments if a.professional_id == query.professional_id]
        return appointments if query.limit is None else appointments[: query.limit]

    async def save(self, appointment: Appointment) -> None:
        doc = {**to_document(appointment), "_start_micros": utc_micros(appointment.start)}
        self._s.put(self._ref(appointment.clinic_id, appointment.id), doc)

    async def hold(self, clinic_id: str, professional_id: str, days: Iterable[date]) -> None:
        locks = self._s.sub(clinic_id, "agenda_locks")
        refs = [
            locks.document(_doc_id(professional_id, day.isoformat())) for day in sorted(set(days))
        ]
        found = await self._s.get_many(refs)
        for ref, day in zip(refs, sorted(set(days)), strict=True):
            holds = int((found[ref.path] or {}).get("holds", 0))
            self._s.put(
                ref,
                {"professional_id": professional_id, "day": day.isoformat(), "holds": holds + 1},
            )


class FirestoreWaitlistRepository(_SchedulingRepo):
    _collection, _what = "waitlist", "waitlist entry"

    async def get(self, clinic_id: str, entry_id: str) -> WaitlistEntry:
        return _load(await self._doc(clinic_id, entry_id), WaitlistEntry)

    async def list(
        self,
        clinic_id: str,
        *,
        type_id: str | None = None,
        customer_id: str | None = None,
        status: WaitlistStatus | None = None,
    ) -> list[WaitlistEntry]:
        # Equality filters only (served by merging single-field indexes); sorted here.
        query: Any = self._s.sub(clinic_id, self._collection)
        for field, value in (
            ("type_id", type_id),
            ("customer_id", customer_id),
            ("status", None if status is None else status.value),
        ):
            if value is not None:
                query = query.where(filter=FieldFilter(field, "==", value))
        docs = await self._all(query)
        docs.sort(key=lambda d: (d["_since_micros"], d["id"]))
        return [_load(d, WaitlistEntry) for d in docs]

    async def save(self, entry: WaitlistEntry) -> None:
        doc = {**to_document(entry), "_since_micros": utc_micros(entry.since)}
        self._s.put(self._ref(entry.clinic_id, entry.id), doc)
