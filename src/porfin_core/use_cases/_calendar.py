"""What the calendar use cases share: the jobs that push and pull, the event an appointment
becomes, and what happens when a calendar's access is withdrawn.

Two job kinds (handlers registered by ``porfin_adapters.container.start``):

- ``calendar.push`` (:data:`PUSH_KIND`), payload ``{"appointment_id"}``: write the
  appointment's event (create, update or delete) as the appointment stands when the job runs.
  Scheduled in the same unit of work as the change that calls for it
  (:func:`schedule_calendar_push`: booking, reschedule, cancellation), so a committed change is
  pushed at least once, even after a crash. Key ``calendar.push:<appointment>:<revision>``
  (the length of the appointment's history): a retried request schedules nothing twice; a new
  change is new work.
- ``calendar.pull`` (:data:`PULL_KIND`), payload ``{"professional_id", "connection_id"}``:
  read the calendar's changes. Each run schedules the next one at the next boundary of the
  pull interval (:func:`schedule_next_pull`), keyed by that boundary, so a repeated run, or
  anything else that schedules "the next pull", makes one job per boundary.

Both kinds carry the subject ``calendar:<connection id>``: disconnecting cancels them.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import attrs

from porfin_core.domain.calendar import CalendarConnection, CalendarEvent, EventStatus
from porfin_core.domain.events import CalendarConnectionRevoked
from porfin_core.domain.jobs import Job
from porfin_core.domain.scheduling import Appointment
from porfin_core.errors import CalendarError, CalendarNotConfigured
from porfin_core.ports.storage import UnitOfWork
from porfin_core.use_cases._jobs import cancel_in, schedule_in

PUSH_KIND = "calendar.push"
PULL_KIND = "calendar.pull"
PULL_INTERVAL = timedelta(minutes=5)
"""Default time between two pulls of a connected calendar."""
FULL_SYNC_EVERY = timedelta(hours=24)
"""A full sync is repeated this often (it reads a bounded window: see :data:`SYNC_AHEAD`)."""
SYNC_BEHIND = timedelta(days=1)
"""A full sync reads the events ending after now minus this."""
SYNC_AHEAD = timedelta(days=120)
"""...and starting before now plus this (longer than the slot search's 92 days)."""
BACKFILL_LIMIT = 200
"""Pushes a full sync schedules at most for appointments the calendar does not show yet."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def subject_of(connection_id: str) -> str:
    """The subject of a connection's jobs (cancelled together on disconnect)."""
    return f"calendar:{connection_id}"


def job_id(clinic_id: str, key: str) -> str:
    """A job id derived from its key: the same work gets the same id in every process."""
    return "job-" + hashlib.sha256(f"{clinic_id}|{key}".encode()).hexdigest()[:32]


def push_job(
    clinic_id: str,
    appointment_id: str,
    connection_id: str,
    key: str,
    now: datetime,
    *,
    repair: bool = False,
) -> Job:
    """A ``calendar.push`` job for the appointment, due now (``repair``: writing back an
    edit the conflict rule rejected)."""
    payload: dict[str, object] = {"appointment_id": appointment_id}
    if repair:
        payload["repair"] = True
    return Job.new(
        id=job_id(clinic_id, key),
        clinic_id=clinic_id,
        kind=PUSH_KIND,
        payload=payload,
        run_at=now,
        idempotency_key=key,
        subject=subject_of(connection_id),
        now=now,
    )


def revision(appointment: Appointment) -> int:
    """How many times the appointment changed (its history's length)."""
    return len(appointment.history)


async def schedule_calendar_push(
    uow: UnitOfWork, appointment: Appointment, now: datetime
) -> Job | None:
    """In ``uow``, schedule the push of ``appointment`` to its professional's connected
    calendar (nothing without an active connection). Call it after saving the appointment,
    in the unit of work that changes it; returns the job (or None)."""
    connection = await uow.calendar_connections.find(
        appointment.clinic_id, appointment.professional_id
    )
    if connection is None or not connection.is_active:
        return None
    key = f"{PUSH_KIND}:{appointment.id}:{revision(appointment)}"
    return await schedule_in(
        uow, push_job(appointment.clinic_id, appointment.id, connection.id, key, now)
    )


def pull_job(connection: CalendarConnection, run_at: datetime, key: str, now: datetime) -> Job:
    """A ``calendar.pull`` job of the connection."""
    return Job.new(
        id=job_id(connection.clinic_id, key),
        clinic_id=connection.clinic_id,
        kind=PULL_KIND,
        payload={"professional_id": connection.professional_id, "connection_id": connection.id},
        run_at=run_at,
        idempotency_key=key,
        subject=subject_of(connection.id),
        now=now,
    )


async def schedule_pull_now(uow: UnitOfWork, connection: CalendarConnection, now: datetime) -> Job:
    """Schedule the connection's first pull, due now."""
    key = f"{PULL_KIND}:{connection.id}:first"
    return await schedule_in(uow, pull_job(connection, now, key, now))


async def schedule_next_pull(
    uow: UnitOfWork, connection: CalendarConnection, now: datetime, interval: timedelta
) -> Job:
    """Schedule the connection's pull at the next boundary of ``interval`` after ``now``
    (one job per boundary, whoever schedules it)."""
    step = max(int(interval.total_seconds()), 1)
    boundary = int((now - _EPOCH).total_seconds()) // step + 1
    run_at = _EPOCH + timedelta(seconds=boundary * step)
    key = f"{PULL_KIND}:{connection.id}:{boundary * step}"
    return await schedule_in(uow, pull_job(connection, run_at, key, now))


async def revoke_connection(uow: UnitOfWork, connection: CalendarConnection, now: datetime) -> bool:
    """In ``uow``: the calendar's access was withdrawn. Marks the stored connection revoked
    (if it is still ``connection``), forgets its busy time, cancels its jobs and records
    ``calendar.revoked``; the caller commits. False when there was nothing to do."""
    stored = await uow.calendar_connections.find(connection.clinic_id, connection.professional_id)
    if stored is None or stored.id != connection.id or not stored.is_active:
        return False
    stored.revoke(now)
    await uow.calendar_connections.save(stored)
    await uow.calendar_busy.remove(stored.clinic_id, stored.professional_id)
    await cancel_in(uow, stored.clinic_id, subject_of(stored.id), now)
    uow.record(
        [
            CalendarConnectionRevoked(
                clinic_id=stored.clinic_id,
                occurred_at=now,
                professional_id=stored.professional_id,
                connection_id=stored.id,
            )
        ]
    )
    return True


def first_name(name: str | None) -> str:
    """The first word of a patient's name (all an event or a feed shows), or "Paciente"."""
    words = (name or "").split()
    return words[0] if words else "Paciente"


def appointment_title(type_name: str | None, patient_name: str | None) -> str:
    """An appointment's title in calendars: its type and the patient's first name only (a
    calendar may be shared or synced to phones: it shows no more than needed)."""
    return f"{type_name or 'Consulta'} — {first_name(patient_name)}"


EVENT_DESCRIPTION = "Agendado pelo Porfin. Para remarcar ou cancelar, use o Porfin."


def appointment_event(
    appointment: Appointment,
    *,
    type_name: str | None,
    patient_name: str | None,
    time_zone: str,
) -> CalendarEvent:
    """The calendar event Porfin writes for an appointment (not cancelled)."""
    return CalendarEvent(
        summary=appointment_title(type_name, patient_name),
        description=EVENT_DESCRIPTION,
        start=appointment.start,
        end=appointment.end,
        time_zone=time_zone,
        status=EventStatus.CONFIRMED,
        appointment_id=appointment.id,
        clinic_id=appointment.clinic_id,
    )


def not_configured() -> CalendarNotConfigured:
    """The error of a calendar operation on an installation without a calendar provider."""
    reason = "Google Calendar is not configured: set google_client_id and google_client_secret"
    return CalendarNotConfigured(
        reason, provider="google_calendar", provider_code="not_configured", reason=reason
    )


def reason_of(exc: CalendarError) -> str:
    """A short text for a failed sync, for ``last_error``."""
    code = exc.fields.get("provider_code")
    return f"{exc.message} ({code})" if code else exc.message


@attrs.frozen
class SyncWindow:
    """The window a full sync reads, around ``now``."""

    start: datetime
    end: datetime

    @classmethod
    def around(cls, now: datetime) -> SyncWindow:
        """From :data:`SYNC_BEHIND` before ``now`` to :data:`SYNC_AHEAD` after it."""
        return cls(now - SYNC_BEHIND, now + SYNC_AHEAD)
