"""The agenda of one day, as the front desk reads it: each professional's appointments with
the patient's name and what was booked."""

from __future__ import annotations

from datetime import date

import attrs

from porfin_core.domain.availability import day_bounds
from porfin_core.domain.scheduling import Appointment, Professional
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.frozen(kw_only=True)
class AgendaQuery:
    """Which day to show.

    Attributes:
        clinic_id: The clinic.
        day: The local date (default: today in the clinic's time zone).
        professional_id: Only this professional's column.
        include_cancelled: False leaves cancelled appointments out.
    """

    clinic_id: str
    day: date | None = None
    professional_id: str | None = None
    include_cancelled: bool = True


@attrs.frozen
class AgendaEntry:
    """One appointment of the day, with the names a person reads.

    Attributes:
        appointment: The appointment.
        customer_name: The patient's name (empty if the record is gone).
        type_name: The appointment type's name (empty if it is gone).
    """

    appointment: Appointment
    customer_name: str
    type_name: str


@attrs.frozen
class AgendaColumn:
    """A professional and their appointments of the day, by start."""

    professional: Professional
    entries: list[AgendaEntry]


@attrs.frozen
class Agenda:
    """The day (local date, in the clinic's IANA ``timezone``) and one column per
    professional: every active one (or the one asked for), and an inactive one only when they
    still have appointments that day."""

    day: date
    timezone: str
    columns: list[AgendaColumn]


@attrs.define(kw_only=True)
class GetAgenda:
    """A day of the clinic's agenda. Like the other lists, reading it is not audited (opening
    one appointment is)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, query: AgendaQuery) -> Agenda:
        """Return the day's agenda.

        Raises:
            NotFound: no such clinic, or no such professional in it.
        """
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(query.clinic_id)
            day = query.day or self.clock.now().astimezone(clinic.zone).date()
            bounds = day_bounds(day, clinic.zone)
            if query.professional_id is not None:
                people = [await uow.professionals.get(clinic.id, query.professional_id)]
            else:
                people = await uow.professionals.list(clinic.id)
            found = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=clinic.id,
                    starts_from=bounds.start,
                    starts_before=bounds.end,
                    professional_id=query.professional_id,
                )
            )
            appointments = [a for a in found if query.include_cancelled or a.takes_time]
            types = {t.id: t.name for t in await uow.appointment_types.list(clinic.id)}
            names: dict[str, str] = {}
            for appointment in appointments:
                if appointment.customer_id not in names:
                    try:
                        customer = await uow.customers.get(clinic.id, appointment.customer_id)
                        names[appointment.customer_id] = customer.name
                    except NotFound:
                        names[appointment.customer_id] = ""
        columns = []
        for professional in people:
            entries = [
                AgendaEntry(a, names[a.customer_id], types.get(a.type_id, ""))
                for a in appointments
                if a.professional_id == professional.id
            ]
            if professional.active or entries or query.professional_id is not None:
                columns.append(AgendaColumn(professional, entries))
        return Agenda(day=day, timezone=clinic.timezone, columns=columns)
