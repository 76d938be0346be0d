"""In-memory scheduling repositories (wired into :class:`MemoryUnitOfWork`).

Write units of work run one at a time, so holding an agenda needs nothing more: no other
booking can slip in between this one's reads and its commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TypeVar

from porfin_adapters.memory.storage import Doc, _Repos
from porfin_adapters.serialization import from_document, to_document, utc_micros
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

T = TypeVar("T")


class _Scoped(_Repos):
    def _of_clinic(self, table: str, clinic_id: str, row_id: str, what: str, cls: type[T]) -> T:
        doc = self._get(table, row_id, what)
        if doc["clinic_id"] != clinic_id:
            raise NotFound(f"{what} not found", id=row_id)
        return from_document(doc, cls)

    def _clinic_docs(self, table: str, clinic_id: str) -> list[Doc]:
        return [d for d in self._table(table).values() if d["clinic_id"] == clinic_id]


class MemoryProfessionalRepository(_Scoped):
    async def get(self, clinic_id: str, professional_id: str) -> Professional:
        return self._of_clinic(
            "professionals", clinic_id, professional_id, "professional", Professional
        )

    async def list(self, clinic_id: str) -> list[Professional]:
        found = [
            from_document(d, Professional) for d in self._clinic_docs("professionals", clinic_id)
        ]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def save(self, professional: Professional) -> None:
        self._put("professionals", professional.id, to_document(professional))


class MemoryAppointmentTypeRepository(_Scoped):
    async def get(self, clinic_id: str, type_id: str) -> AppointmentType:
        return self._of_clinic(
            "appointment_types", clinic_id, type_id, "appointment type", AppointmentType
        )

    async def list(self, clinic_id: str) -> list[AppointmentType]:
        docs = self._clinic_docs("appointment_types", clinic_id)
        found = [from_document(d, AppointmentType) for d in docs]
        return sorted(found, key=lambda t: (t.created_at, t.id))

    async def save(self, appointment_type: AppointmentType) -> None:
        self._put("appointment_types", appointment_type.id, to_document(appointment_type))


class MemoryClosureRepository(_Scoped):
    async def get(self, clinic_id: str, closure_id: str) -> Closure:
        return self._of_clinic("closures", clinic_id, closure_id, "closure", Closure)

    async def list(self, clinic_id: str, *, ends_after: datetime | None = None) -> list[Closure]:
        found = [from_document(d, Closure) for d in self._clinic_docs("closures", clinic_id)]
        kept = [c for c in found if ends_after is None or c.end > ends_after]
        return sorted(kept, key=lambda c: (utc_micros(c.start), c.id))

    async def save(self, closure: Closure) -> None:
        self._put("closures", closure.id, to_document(closure))

    async def remove(self, closure: Closure) -> None:
        self._put("closures", closure.id, None)


class MemoryAppointmentRepository(_Scoped):
    async def get(self, clinic_id: str, appointment_id: str) -> Appointment:
        return self._of_clinic(
            "appointments", clinic_id, appointment_id, "appointment", Appointment
        )

    async def list(self, query: AppointmentQuery) -> list[Appointment]:
        if query.limit is not None and query.limit < 1:
            raise ValidationError("limit must be at least 1", field="limit")
        found = []
        for doc in self._clinic_docs("appointments", query.clinic_id):
            appointment = from_document(doc, Appointment)
            if query.professional_id not in (None, appointment.professional_id):
                continue
            if query.customer_id not in (None, appointment.customer_id):
                continue
            if query.starts_from is not None and appointment.start < query.starts_from:
                continue
            if query.starts_before is not None and appointment.start >= query.starts_before:
                continue
            found.append(appointment)
        found.sort(key=lambda a: (utc_micros(a.start), a.id))
        return found if query.limit is None else found[: query.limit]

    async def save(self, appointment: Appointment) -> None:
        self._put("appointments", appointment.id, to_document(appointment))

    async def hold(self, clinic_id: str, professional_id: str, days: Iterable[date]) -> None:
        return None  # write units of work are serialized already


class MemoryWaitlistRepository(_Scoped):
    async def get(self, clinic_id: str, entry_id: str) -> WaitlistEntry:
        return self._of_clinic("waitlist", clinic_id, entry_id, "waitlist entry", WaitlistEntry)

    async def list(
        self,
        clinic_id: str,
        *,
        type_id: str | None = None,
        customer_id: str | None = None,
        status: WaitlistStatus | None = None,
    ) -> list[WaitlistEntry]:
        found = [
            from_document(d, WaitlistEntry)
            for d in self._clinic_docs("waitlist", clinic_id)
            if type_id in (None, d["type_id"])
            and customer_id in (None, d["customer_id"])
            and (status is None or d["status"] == status.value)
        ]
        return sorted(found, key=lambda e: (utc_micros(e.since), e.id))

    async def save(self, entry: WaitlistEntry) -> None:
        self._put("waitlist", entry.id, to_document(entry))
