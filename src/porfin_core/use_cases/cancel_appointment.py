"""Cancel an appointment: its time is free again and goes to the waitlist first."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import Appointment, Slot, WaitlistEntry
from porfin_core.ports.clock import Clock
from porfin_core.ports.holidays import HolidayCalendar
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._calendar import schedule_calendar_push
from porfin_core.use_cases._scheduling import appointment_audit, offer_freed_slot
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class Cancellation:
    """Which appointment to cancel, and why.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        reason: Why (up to 200 characters), may be empty.
        actor: Who asks and from where, for the audit record and the history (default:
            Porfin itself).
    """

    clinic_id: str
    appointment_id: str
    reason: str = ""
    actor: Actor | None = None


@attrs.frozen
class Cancelled:
    """The cancelled appointment, and the waitlist entry its slot was offered to, if any."""

    appointment: Appointment
    offered_to: WaitlistEntry | None = None


@attrs.define(kw_only=True)
class CancelAppointment:
    """Cancel an appointment and offer its slot, if still ahead and free, to the first
    waitlisted patient who wants it (same type; their professional, weekdays and parts of the
    day), who is then ``offered`` it: telling them is a handler's job
    (``waitlist.slot_offered``). Events ``appointment.cancelled``; audit record
    ``appointment.cancel``."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    holidays: HolidayCalendar

    async def __call__(self, command: Cancellation) -> Cancelled:
        """Cancel; returns the appointment as stored and who was offered its slot.

        Raises:
            NotFound: no such appointment in the clinic.
            InvalidStateTransition: attended, no-show or cancelled already.
            ValidationError: a reason longer than 200 characters (``reason``).
        """
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> Cancelled:
            appointment = await uow.appointments.get(command.clinic_id, command.appointment_id)
            now = self.clock.now()
            appointment.cancel(command.reason, now, by=actor.id)
            await uow.appointments.save(appointment)
            clinic = await uow.clinics.get(command.clinic_id)
            slot = Slot(appointment.professional_id, appointment.start, appointment.end)
            offered = await offer_freed_slot(uow, self.holidays, clinic, appointment, slot, now)
            details = {"reason": appointment.cancel_reason or ""}
            if offered is not None:
                details["offered_to"] = offered.id
            await uow.audit.append(
                appointment_audit(actor, appointment, now, AuditAction.APPOINTMENT_CANCEL, details)
            )
            # Its calendar event follows, at least once, even after a crash (a job).
            await schedule_calendar_push(uow, appointment, now)
            uow.record(appointment.pull_events())
            await uow.commit()
            return Cancelled(appointment, offered)

        return await transact(self.uow_factory, work)
