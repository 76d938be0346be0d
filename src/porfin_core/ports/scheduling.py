"""Scheduling storage: professionals, appointment types, closures, appointments and the
waitlist (attributes of the :class:`~porfin_core.ports.storage.UnitOfWork`), and busy time
from external calendars.

Like every repository, reads see committed state and writes become visible at commit. Every
adapter passes ``tests/contract/test_scheduling_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Protocol

import attrs

from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentType,
    Closure,
    Interval,
    Professional,
    WaitlistEntry,
    WaitlistStatus,
)


@attrs.frozen(kw_only=True)
class AppointmentQuery:
    """Which appointments to list; filters combine with AND.

    Attributes:
        clinic_id: The clinic.
        starts_from: Only appointments starting at or after this instant.
        starts_before: Only appointments starting before this instant.
        professional_id: Only this professional's.
        customer_id: Only this patient's.
        limit: At most this many (the earliest); None: all.
    """

    clinic_id: str
    starts_from: datetime | None = None
    starts_before: datetime | None = None
    professional_id: str | None = None
    customer_id: str | None = None
    limit: int | None = None


class ProfessionalRepository(Protocol):
    """The clinics' professionals."""

    async def get(self, clinic_id: str, professional_id: str) -> Professional:
        """Return the professional. Raises: NotFound (also for another clinic's)."""
        ...

    async def list(self, clinic_id: str) -> list[Professional]:
        """The clinic's professionals, inactive ones included, oldest first."""
        ...

    async def save(self, professional: Professional) -> None:
        """Insert or replace the professional.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...


class AppointmentTypeRepository(Protocol):
    """What each clinic offers for booking."""

    async def get(self, clinic_id: str, type_id: str) -> AppointmentType:
        """Return the type. Raises: NotFound (also for another clinic's)."""
        ...

    async def list(self, clinic_id: str) -> list[AppointmentType]:
        """The clinic's types, inactive ones included, oldest first."""
        ...

    async def save(self, appointment_type: AppointmentType) -> None:
        """Insert or replace the type.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...


class ClosureRepository(Protocol):
    """Times a whole clinic is closed."""

    async def get(self, clinic_id: str, closure_id: str) -> Closure:
        """Return the closure. Raises: NotFound (also for another clinic's)."""
        ...

    async def list(self, clinic_id: str, *, ends_after: datetime | None = None) -> list[Closure]:
        """The clinic's closures (only those ending after ``ends_after`` when given), by
        start then id."""
        ...

    async def save(self, closure: Closure) -> None:
        """Insert or replace the closure."""
        ...

    async def remove(self, closure: Closure) -> None:
        """Delete the closure."""
        ...


class AppointmentRepository(Protocol):
    """Appointments, found by professional and time, or by patient."""

    async def get(self, clinic_id: str, appointment_id: str) -> Appointment:
        """Return the appointment. Raises: NotFound (also for another clinic's)."""
        ...

    async def list(self, query: AppointmentQuery) -> list[Appointment]:
        """Appointments matching ``query`` (every status), by start then id.

        Raises:
            ValidationError: a limit below 1.
        """
        ...

    async def save(self, appointment: Appointment) -> None:
        """Insert or replace the appointment (its clinic, patient and professional are fixed
        when it is inserted).

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...

    async def hold(self, clinic_id: str, professional_id: str, days: Iterable[date]) -> None:
        """Take the professional's agenda on these local dates for this unit of work: of
        several units of work that hold a common (professional, date) and commit, at most one
        succeeds and the others fail with ``TransactionConflict`` (Firestore may abort them
        all); retried from the start, they see the winner's writes.

        Call it before reading the appointments the decision depends on: a booking holds
        every date its occupied time touches, then checks the agenda, then saves.
        """
        ...


class WaitlistRepository(Protocol):
    """Patients waiting for a slot."""

    async def get(self, clinic_id: str, entry_id: str) -> WaitlistEntry:
        """Return the entry. Raises: NotFound (also for another clinic's)."""
        ...

    async def list(
        self,
        clinic_id: str,
        *,
        type_id: str | None = None,
        customer_id: str | None = None,
        status: WaitlistStatus | None = None,
    ) -> list[WaitlistEntry]:
        """The clinic's entries matching the filters, in line order (``since``, then id)."""
        ...

    async def save(self, entry: WaitlistEntry) -> None:
        """Insert or replace the entry.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...


class ExternalBusyTimes(Protocol):
    """Busy time of professionals in calendars outside Porfin (e.g. Google Calendar)."""

    async def busy(
        self, clinic_id: str, professional_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[Interval]]:
        """Busy intervals overlapping ``start``-``end``, by professional id (professionals
        without a connected calendar are left out).

        Raises:
            CalendarError: the calendar could not be read (callers may go on without it).
        """
        ...
