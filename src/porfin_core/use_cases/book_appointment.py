"""Book an appointment: never two at once for one professional."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import MAX_SPAN, Appointment, Interval, local_days
from porfin_core.errors import SlotTaken, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.holidays import HolidayCalendar
from porfin_core.ports.scheduling import ExternalBusyTimes
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._calendar import schedule_calendar_push
from porfin_core.use_cases._customers import current_customer
from porfin_core.use_cases._scheduling import (
    Unavailable,
    alternatives_near,
    appointment_audit,
    appointment_source,
    aware,
    bookable_professional,
    bookable_type,
    external_busy,
    load_availability,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewAppointment:
    """An appointment to book.

    Attributes:
        clinic_id: The clinic.
        customer_id: The patient.
        professional_id: Who attends them.
        type_id: What is booked (it sets the duration and buffers).
        start: When it starts (timezone-aware; need not be on a slot step).
        source: Who books: ``staff``, ``ai`` or ``patient``.
        notes: Free text for staff.
        chat_id: The conversation it is booked in, if any.
        waitlist_entry_id: The patient's waitlist entry this booking fulfils (it becomes
            ``booked``).
        actor: Who books and from where, for the audit record and the history (default:
            Porfin itself).
    """

    clinic_id: str
    customer_id: str
    professional_id: str
    type_id: str
    start: datetime
    source: str = "staff"
    notes: str = ""
    chat_id: str | None = None
    waitlist_entry_id: str | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class BookAppointment:
    """Book an appointment (``requested``) if its time fits the professional's agenda.

    The booking holds the professional's agenda on the dates it touches (see
    :meth:`~porfin_core.ports.scheduling.AppointmentRepository.hold`), then checks the agenda
    and saves, in one transaction: of two concurrent bookings of overlapping times, one
    commits; the other is retried, sees the first and gets ``slot_taken``. Events
    ``appointment.booked``; audit record ``appointment.book``.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    holidays: HolidayCalendar
    busy_times: ExternalBusyTimes | None = None

    async def __call__(self, command: NewAppointment) -> Appointment:
        """Book; returns the appointment as stored.

        Raises:
            SlotTaken: the time is taken or outside the professional's availability (with
                the three free slots nearest to it as ``alternatives``).
            NotFound: no such clinic, customer, professional, type or waitlist entry (a
                merged customer names the one to use in ``merged_into``).
            ValidationError: a naive or past start (``start``), an unknown source
                (``source``), an inactive type (``type_id``), an inactive professional or one
                who does not perform the type (``professional_id``), a waitlist entry of
                another patient or closed (``waitlist_entry_id``), over-long notes.
        """
        aware(command.start, "start")
        source = appointment_source(command.source)
        actor = actor_of(command.actor)
        # External calendars are read before the transaction: no network call holds locks.
        near = Interval(command.start - MAX_SPAN, command.start + MAX_SPAN)
        external = await external_busy(
            self.busy_times, command.clinic_id, [command.professional_id], near
        )
        appointment_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> Appointment:
            now = self.clock.now()
            if command.start < now:
                raise ValidationError("the appointment would start in the past", field="start")
            clinic = await uow.clinics.get(command.clinic_id)
            kind = await bookable_type(uow, clinic.id, command.type_id)
            professional = await bookable_professional(
                uow, clinic.id, command.professional_id, kind
            )
            customer = await current_customer(uow, clinic.id, command.customer_id)
            entry = None
            if command.waitlist_entry_id is not None:
                entry = await uow.waitlist.get(clinic.id, command.waitlist_entry_id)
                if entry.customer_id != customer.id or not entry.open:
                    raise ValidationError(
                        "not an open waitlist entry of this patient", field="waitlist_entry_id"
                    )
            appointment = Appointment.book(
                id=appointment_id,
                clinic_id=clinic.id,
                customer_id=customer.id,
                professional_id=professional.id,
                appointment_type=kind,
                start=command.start,
                source=source,
                at=now,
                notes=command.notes,
                chat_id=command.chat_id,
                by=actor.id,
            )
            # Hold first, then read: a booking committed after these reads conflicts with
            # this one's hold.
            await uow.appointments.hold(
                clinic.id, professional.id, local_days(appointment.occupied, clinic.zone)
            )
            availability = await load_availability(
                uow,
                self.holidays,
                clinic,
                [professional.id],
                appointment.occupied,
                external=external,
            )
            if not availability.fits(
                professional,
                appointment.start,
                appointment.end,
                buffer_before=kind.buffer_before,
                buffer_after=kind.buffer_after,
            ):
                raise Unavailable
            await uow.appointments.save(appointment)
            if entry is not None:
                entry.mark_booked(now)
                await uow.waitlist.save(entry)
            await uow.audit.append(
                appointment_audit(
                    actor,
                    appointment,
                    now,
                    AuditAction.APPOINTMENT_BOOK,
                    {"source": source.value, "type_id": kind.id},
                )
            )
            # Its calendar event follows, at least once, even after a crash (a job).
            await schedule_calendar_push(uow, appointment, now)
            uow.record(appointment.pull_events())
            await uow.commit()
            return appointment

        try:
            return await transact(self.uow_factory, work)
        except Unavailable:
            alternatives = await alternatives_near(
                self.uow_factory,
                self.holidays,
                self.busy_times,
                self.clock,
                clinic_id=command.clinic_id,
                professional_id=command.professional_id,
                type_id=command.type_id,
                asked=command.start,
            )
            raise SlotTaken(
                "this time is not free for this professional",
                alternatives=alternatives,
                professional_id=command.professional_id,
                start=command.start.isoformat(),
            ) from None
