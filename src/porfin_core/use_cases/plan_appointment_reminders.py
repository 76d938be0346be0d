"""Keep an appointment's reminder jobs in step with the appointment and the clinic's plan."""

from __future__ import annotations

import attrs

from porfin_core.domain.jobs import Job
from porfin_core.domain.reminders import read_plan, reminders_due
from porfin_core.domain.scheduling import Appointment
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._transaction import transact

REMINDER_JOB = "appointment.reminder"
"""The job kind that sends one reminder (handled by ``SendAppointmentReminder``)."""


def reminder_subject(appointment_id: str) -> str:
    """The subject every reminder job of an appointment shares."""
    return f"reminders:{appointment_id}"


def reminder_key(appointment: Appointment, rule: str) -> str:
    """The idempotency key of one reminder: the appointment, its current time and how often
    it was moved (so moving it away and back schedules anew), and the rule."""
    moves = sum(1 for change in appointment.history if change.previous_start is not None)
    return f"reminder:{appointment.id}:{moves}:{appointment.start.isoformat()}:{rule}"


@attrs.define(kw_only=True)
class PlanAppointmentReminders:
    """Schedule the reminders an appointment should get and cancel the ones it should not.

    Run after every change of an appointment (booked, rescheduled, cancelled, attended...):
    an active appointment (requested or confirmed) gets one job per rule of the clinic's plan
    whose time is still ahead (``appointment.reminder``, at that time); a final one, or one
    moved to another time, loses the jobs it no longer needs. Idempotent: running it twice
    changes nothing (jobs are keyed by appointment, time, moves and rule).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, clinic_id: str, appointment_id: str) -> list[Job]:
        """Bring the appointment's reminder jobs in line; returns the active ones.

        Raises:
            StorageUnavailable: the store failed.
        """

        async def work(uow: UnitOfWork) -> list[Job]:
            now = self.clock.now()
            try:
                appointment = await uow.appointments.get(clinic_id, appointment_id)
            except NotFound:
                return []
            clinic = await uow.clinics.get(clinic_id)
            wanted: dict[str, Job] = {}
            if not appointment.status.final:
                for rule, at in reminders_due(
                    read_plan(clinic.reminders), appointment.start, clinic.timezone, now
                ):
                    key = reminder_key(appointment, rule.key)
                    wanted[key] = Job.new(
                        id=self.ids.new_id(),
                        clinic_id=clinic_id,
                        kind=REMINDER_JOB,
                        payload={"appointment_id": appointment.id, "rule": rule.key},
                        run_at=at,
                        idempotency_key=key,
                        subject=reminder_subject(appointment.id),
                        now=now,
                    )
            subject = reminder_subject(appointment.id)
            active = []
            for job in await uow.jobs.for_subject(clinic_id, subject):
                if job.idempotency_key not in wanted and job.cancel(now):
                    await uow.jobs.save(job)
            for job in wanted.values():
                active.append(await schedule_in(uow, job))
            await uow.commit()
            return active

        return await transact(self.uow_factory, work)
