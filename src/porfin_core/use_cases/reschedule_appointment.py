"""Move an appointment to another time with the same professional."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import (
    MAX_SPAN,
    Appointment,
    Interval,
    Slot,
    WaitlistEntry,
    local_days,
)
from porfin_core.errors import SlotTaken, ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.holidays import HolidayCalendar
from porfin_core.ports.scheduling import ExternalBusyTimes
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._calendar import schedule_calendar_push
from porfin_core.use_cases._scheduling import (
    Unavailable,
    alternatives_near,
    appointment_audit,
    aware,
    external_busy,
    load_availability,
    offer_freed_slot,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewTime:
    """Where to move an appointment.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        start: The new start (timezone-aware); the appointment keeps its duration.
        actor: Who asks and from where, for the audit record and the history (default:
            Porfin itself).
    """

    clinic_id: str
    appointment_id: str
    start: datetime
    actor: Actor | None = None


@attrs.frozen
class Rescheduled:
    """The moved appointment (``requested`` again), and the waitlist entry its old slot was
    offered to, if any."""

    appointment: Appointment
    offered_to: WaitlistEntry | None = None


@attrs.define(kw_only=True)
class RescheduleAppointment:
    """Move an appointment, with the same guarantee as booking: the new time is checked
    against the agenda held for its dates, so it never overlaps another appointment. The old
    slot, free again, is offered to the waitlist. Events ``appointment.rescheduled`` (and
    ``waitlist.slot_offered``); audit record ``appointment.reschedule``.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    holidays: HolidayCalendar
    busy_times: ExternalBusyTimes | None = None

    async def __call__(self, command: NewTime) -> Rescheduled:
        """Move the appointment; returns it as stored.

        Raises:
            SlotTaken: the new time is not free (with the nearest free ``alternatives``).
            NotFound: no such appointment in the clinic.
            InvalidStateTransition: the appointment is attended, no-show or cancelled.
            ValidationError: a naive or past start (``start``).
        """
        aware(command.start, "start")
        actor = actor_of(command.actor)
        # The professional (fixed for an appointment) is read first, so that their external
        # calendars are read before the transaction: no network call holds locks.
        async with self.uow_factory(read_only=True) as uow:
            current = await uow.appointments.get(command.clinic_id, command.appointment_id)
        near = Interval(command.start - MAX_SPAN, command.start + MAX_SPAN)
        external = await external_busy(
            self.busy_times, command.clinic_id, [current.professional_id], near
        )

        async def work(uow: UnitOfWork) -> Rescheduled:
            now = self.clock.now()
            if command.start < now:
                raise ValidationError("the appointment would start in the past", field="start")
            appointment = await uow.appointments.get(command.clinic_id, command.appointment_id)
            clinic = await uow.clinics.get(command.clinic_id)
            professional = await uow.professionals.get(clinic.id, appointment.professional_id)
            old = Slot(appointment.professional_id, appointment.start, appointment.end)
            new_end = command.start + (appointment.end - appointment.start)
            if not appointment.reschedule(command.start, new_end, now, by=actor.id):
                return Rescheduled(appointment)
            occupied = appointment.occupied
            # Hold first, then read (see BookAppointment).
            await uow.appointments.hold(
                clinic.id, professional.id, local_days(occupied, clinic.zone)
            )
            availability = await load_availability(
                uow,
                self.holidays,
                clinic,
                [professional.id],
                occupied,
                external=external,
                ignore={appointment.id},
            )
            if not availability.fits(
                professional,
                appointment.start,
                appointment.end,
                buffer_before=timedelta(minutes=appointment.buffer_before_minutes),
                buffer_after=timedelta(minutes=appointment.buffer_after_minutes),
            ):
                raise Unavailable
            await uow.appointments.save(appointment)
            offered = await offer_freed_slot(
                uow,
                self.holidays,
                clinic,
                appointment,
                old,
                now,
                extra={professional.id: [occupied]},
            )
            await uow.audit.append(
                appointment_audit(
                    actor,
                    appointment,
                    now,
                    AuditAction.APPOINTMENT_RESCHEDULE,
                    {"previous_start": old.start.isoformat()},
                )
            )
            # Its calendar event follows, at least once, even after a crash (a job).
            await schedule_calendar_push(uow, appointment, now)
            uow.record(appointment.pull_events())
            await uow.commit()
            return Rescheduled(appointment, offered)

        try:
            return await transact(self.uow_factory, work)
        except Unavailable:
            alternatives = await alternatives_near(
                self.uow_factory,
                self.holidays,
                self.busy_times,
                self.clock,
                clinic_id=command.clinic_id,
                professional_id=current.professional_id,
                type_id=current.type_id,
                asked=command.start,
                ignore={current.id},
            )
            raise SlotTaken(
                "this time is not free for this professional",
                alternatives=alternatives,
                professional_id=current.professional_id,
                start=command.start.isoformat(),
            ) from None
