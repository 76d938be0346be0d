"""SQLite scheduling repositories (wired into :class:`SqliteUnitOfWork`).

Tables of migration ``0009_scheduling.sql``. Reads and writes follow
:mod:`porfin_adapters.sqlite.storage`: rows read remember their version and saving them later
is guarded by it.

Agenda locks (``agenda_locks``, one row per professional and local date): :meth:`hold` reads
each row's version (or notes that it is missing) and rewrites it (version + 1). At commit, the
writer applies that rewrite guarded by the version read, or checks the row is still missing
before inserting it; so of two units of work that held a common date, the second to commit
fails with ``TransactionConflict``, and its retry reads the first one's appointment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.storage import _dump, _load, _Repo
from porfin_core.domain.scheduling import (
    Appointment,
    AppointmentType,
    Closure,
    Professional,
    WaitlistEntry,
    WaitlistStatus,
)
from porfin_core.errors import ValidationError
from porfin_core.ports.scheduling import AppointmentQuery

T = TypeVar("T")

_CREATED_KEYS = frozenset({"clinic_id", "created_micros"})
# The patient may change (a merge of two records of one person); the professional never does.
_APPOINTMENT_KEYS = frozenset({"clinic_id", "professional_id"})
_WAITLIST_KEYS = frozenset({"clinic_id", "type_id", "since_micros"})


class _SchedulingRepo(_Repo):
    def _rows(self, table: str, sql: str, params: tuple[Any, ...], cls: type[T]) -> list[T]:
        rows = self._conn.execute(sql, params).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded(table, row_id, version)
        return [_load(doc, cls) for _, _, doc in rows]


class SqliteProfessionalRepository(_SchedulingRepo):
    async def get(self, clinic_id: str, professional_id: str) -> Professional:
        return self._scoped(
            "professionals", Professional, clinic_id, professional_id, "professional"
        )

    async def list(self, clinic_id: str) -> list[Professional]:
        return self._rows(
            "professionals",
            "SELECT id, version, doc FROM professionals WHERE clinic_id = ?"
            " ORDER BY created_micros, id",
            (clinic_id,),
            Professional,
        )

    async def save(self, professional: Professional) -> None:
        self._tracker.upsert(
            "professionals",
            professional.id,
            {
                "id": professional.id,
                "clinic_id": professional.clinic_id,
                "created_micros": utc_micros(professional.created_at),
                "doc": _dump(professional),
            },
            immutable=_CREATED_KEYS,
        )


class SqliteAppointmentTypeRepository(_SchedulingRepo):
    async def get(self, clinic_id: str, type_id: str) -> AppointmentType:
        return self._scoped(
            "appointment_types", AppointmentType, clinic_id, type_id, "appointment type"
        )

    async def list(self, clinic_id: str) -> list[AppointmentType]:
        return self._rows(
            "appointment_types",
            "SELECT id, version, doc FROM appointment_types WHERE clinic_id = ?"
            " ORDER BY created_micros, id",
            (clinic_id,),
            AppointmentType,
        )

    async def save(self, appointment_type: AppointmentType) -> None:
        self._tracker.upsert(
            "appointment_types",
            appointment_type.id,
            {
                "id": appointment_type.id,
                "clinic_id": appointment_type.clinic_id,
                "created_micros": utc_micros(appointment_type.created_at),
                "doc": _dump(appointment_type),
            },
            immutable=_CREATED_KEYS,
        )


class SqliteClosureRepository(_SchedulingRepo):
    async def get(self, clinic_id: str, closure_id: str) -> Closure:
        return self._scoped("closures", Closure, clinic_id, closure_id, "closure")

    async def list(self, clinic_id: str, *, ends_after: datetime | None = None) -> list[Closure]:
        sql = "SELECT id, version, doc FROM closures WHERE clinic_id = ?"
        params: tuple[Any, ...] = (clinic_id,)
        if ends_after is not None:
            sql, params = sql + " AND end_micros > ?", (clinic_id, utc_micros(ends_after))
        return self._rows("closures", sql + " ORDER BY start_micros, id", params, Closure)

    async def save(self, closure: Closure) -> None:
        self._tracker.upsert(
            "closures",
            closure.id,
            {
                "id": closure.id,
                "clinic_id": closure.clinic_id,
                "start_micros": utc_micros(closure.start),
                "end_micros": utc_micros(closure.end),
                "doc": _dump(closure),
            },
            immutable=frozenset({"clinic_id"}),
        )

    async def remove(self, closure: Closure) -> None:
        self._tracker.execute(
            "DELETE FROM closures WHERE id = ? AND clinic_id = ?", (closure.id, closure.clinic_id)
        )


class SqliteAppointmentRepository(_SchedulingRepo):
    async def get(self, clinic_id: str, appointment_id: str) -> Appointment:
        return self._scoped("appointments", Appointment, clinic_id, appointment_id, "appointment")

    async def list(self, query: AppointmentQuery) -> list[Appointment]:
        if query.limit is not None and query.limit < 1:
            raise ValidationError("limit must be at least 1", field="limit")
        where = ["clinic_id = ?"]
        params: list[Any] = [query.clinic_id]
        for column, value in (
            ("professional_id", query.professional_id),
            ("customer_id", query.customer_id),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if query.starts_from is not None:
            where.append("start_micros >= ?")
            params.append(utc_micros(query.starts_from))
        if query.starts_before is not None:
            where.append("start_micros < ?")
            params.append(utc_micros(query.starts_before))
        sql = (
            f"SELECT id, version, doc FROM appointments WHERE {' AND '.join(where)}"
            " ORDER BY start_micros, id"
        )
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        return self._rows("appointments", sql, tuple(params), Appointment)

    async def save(self, appointment: Appointment) -> None:
        self._tracker.upsert(
            "appointments",
            appointment.id,
            {
                "id": appointment.id,
                "clinic_id": appointment.clinic_id,
                "professional_id": appointment.professional_id,
                "customer_id": appointment.customer_id,
                "start_micros": utc_micros(appointment.start),
                "doc": _dump(appointment),
            },
            immutable=_APPOINTMENT_KEYS,
        )

    async def hold(self, clinic_id: str, professional_id: str, days: Iterable[date]) -> None:
        for day in sorted(set(days)):
            row_id = f"{clinic_id}|{professional_id}|{day.isoformat()}"
            row = self._conn.execute(
                "SELECT version FROM agenda_locks WHERE id = ?", (row_id,)
            ).fetchone()
            if row is None:
                self._tracker.still_absent("SELECT 1 FROM agenda_locks WHERE id = ?", (row_id,))
            else:
                self._tracker.loaded("agenda_locks", row_id, row[0])
            self._tracker.upsert(
                "agenda_locks",
                row_id,
                {
                    "id": row_id,
                    "clinic_id": clinic_id,
                    "professional_id": professional_id,
                    "day": day.isoformat(),
                },
            )


class SqliteWaitlistRepository(_SchedulingRepo):
    async def get(self, clinic_id: str, entry_id: str) -> WaitlistEntry:
        return self._scoped("waitlist", WaitlistEntry, clinic_id, entry_id, "waitlist entry")

    async def list(
        self,
        clinic_id: str,
        *,
        type_id: str | None = None,
        customer_id: str | None = None,
        status: WaitlistStatus | None = None,
    ) -> list[WaitlistEntry]:
        where = ["clinic_id = ?"]
        params: list[Any] = [clinic_id]
        if type_id is not None:
            where.append("type_id = ?")
            params.append(type_id)
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        entries = self._rows(
            "waitlist",
            f"SELECT id, version, doc FROM waitlist WHERE {' AND '.join(where)}"
            " ORDER BY since_micros, id",
            tuple(params),
            WaitlistEntry,
        )
        return [e for e in entries if customer_id in (None, e.customer_id)]

    async def save(self, entry: WaitlistEntry) -> None:
        self._tracker.upsert(
            "waitlist",
            entry.id,
            {
                "id": entry.id,
                "clinic_id": entry.clinic_id,
                "type_id": entry.type_id,
                "status": entry.status.value,
                "since_micros": utc_micros(entry.since),
                "doc": _dump(entry),
            },
            immutable=_WAITLIST_KEYS,
        )
