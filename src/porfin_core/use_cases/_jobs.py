"""Scheduling and cancelling jobs inside another use case's unit of work.

A use case whose change causes deferred work schedules it in the same transaction, so the
work exists exactly when the change does (booking an appointment and its reminders commit
together; a conflict retries both)::

    async def work(uow: UnitOfWork) -> Appointment:
        ...
        await uow.appointments.save(appointment)
        for at in reminder_times:
            await schedule_in(
                uow,
                Job.new(
                    id=self.ids.new_id(),
                    clinic_id=appointment.clinic_id,
                    kind="appointment.reminder",
                    payload={"appointment_id": appointment.id},
                    run_at=at,
                    idempotency_key=f"appointment.reminder:{appointment.id}:{rev}:{at}",
                    subject=f"appointment:{appointment.id}",
                    now=now,
                ),
            )
        await uow.commit()

and cancelling the appointment cancels them in its own transaction::

    await cancel_in(uow, appointment.clinic_id, f"appointment:{appointment.id}", now)

Choose idempotency keys that name the work, not the attempt to schedule it (the appointment,
its revision and the reminder's time, not a fresh id): a retried request then schedules nothing
twice. A cancelled job keeps its key, so the key must change when the work is new again (an
appointment moved away and back to the same time: its revision changed). See docs/jobs.md.
"""

from __future__ import annotations

from datetime import datetime

from porfin_core.domain.jobs import Job
from porfin_core.ports.storage import UnitOfWork


async def schedule_in(uow: UnitOfWork, job: Job) -> Job:
    """Schedule ``job`` in ``uow`` (committed with it); returns the job holding its
    idempotency key: ``job`` itself, or the job scheduled before with that key (compare ids).

    Raises:
        TransactionConflict: a concurrent unit of work took the key; the caller's
            ``transact`` retries and then finds that job.
    """
    return await uow.jobs.add(job)


async def cancel_in(uow: UnitOfWork, clinic_id: str, subject: str, now: datetime) -> list[Job]:
    """Cancel every active job of the clinic about ``subject`` in ``uow``; returns the jobs
    cancelled (finished ones are left as they are).

    A run already in progress finishes, and its outcome is ignored: handlers read the
    current state of what they act on (a cancelled appointment sends no reminder).
    """
    cancelled = [job for job in await uow.jobs.for_subject(clinic_id, subject) if job.cancel(now)]
    for job in cancelled:
        await uow.jobs.save(job)
    return cancelled
