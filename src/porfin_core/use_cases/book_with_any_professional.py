"""Book with a given professional, or with whoever performs the type and is free then."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.audit import Actor
from porfin_core.domain.availability import nearest
from porfin_core.domain.scheduling import Appointment, Slot
from porfin_core.errors import SlotTaken, ValidationError
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._scheduling import aware, bookable_type, performers
from porfin_core.use_cases.book_appointment import BookAppointment, NewAppointment


@attrs.frozen(kw_only=True)
class BookingRequest:
    """An appointment to book, perhaps without a professional.

    Attributes:
        clinic_id: The clinic.
        customer_id: The patient.
        type_id: What is booked.
        start: When it starts (timezone-aware).
        professional_id: Who attends them; None: the first active professional (by id) who
            performs the type and is free at ``start``.
        source: ``staff``, ``ai`` or ``patient``.
        notes: Free text for staff.
        chat_id: The conversation it is booked in, if any.
        waitlist_entry_id: The patient's waitlist entry this booking fulfils.
        actor: Who books and from where (default: Porfin itself).
    """

    clinic_id: str
    customer_id: str
    type_id: str
    start: datetime
    professional_id: str | None = None
    source: str = "staff"
    notes: str = ""
    chat_id: str | None = None
    waitlist_entry_id: str | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class BookWithAnyProfessional:
    """Book through :class:`~porfin_core.use_cases.book_appointment.BookAppointment` (with
    its guarantee against double booking): with the professional asked for, or else trying
    each professional who performs the type in turn, each attempt a booking of its own."""

    uow_factory: UnitOfWorkFactory
    book: BookAppointment

    async def __call__(self, request: BookingRequest) -> Appointment:
        """Book; returns the appointment as stored.

        Raises:
            SlotTaken: the time is not free (with any professional, when none was asked);
                ``alternatives`` are the three free slots nearest to it among those tried.
            NotFound: no such clinic, customer, professional, type or waitlist entry.
            ValidationError: as for ``BookAppointment``; nobody performs the type
                (``type_id``).
        """
        command = NewAppointment(
            clinic_id=request.clinic_id,
            customer_id=request.customer_id,
            professional_id=request.professional_id or "",
            type_id=request.type_id,
            start=request.start,
            source=request.source,
            notes=request.notes,
            chat_id=request.chat_id,
            waitlist_entry_id=request.waitlist_entry_id,
            actor=request.actor,
        )
        if request.professional_id is not None:
            return await self.book(command)
        aware(request.start, "start")
        async with self.uow_factory(read_only=True) as uow:
            kind = await bookable_type(uow, request.clinic_id, request.type_id)
            people = sorted(await performers(uow, request.clinic_id, kind), key=lambda p: p.id)
        if not people:
            raise ValidationError(
                "no active professional performs this appointment type", field="type_id"
            )
        alternatives: list[Slot] = []
        for professional in people:
            try:
                return await self.book(attrs.evolve(command, professional_id=professional.id))
            except SlotTaken as exc:
                alternatives.extend(exc.alternatives)
        raise SlotTaken(
            "this time is not free with any professional who performs this type",
            alternatives=nearest(alternatives, request.start),
            start=request.start.isoformat(),
        )
