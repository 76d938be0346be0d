"""The agenda: appointments of a day (or dates), a professional or a patient."""

from __future__ import annotations

from datetime import date

import attrs

from porfin_core.domain.availability import MAX_SEARCH_DAYS, day_bounds
from porfin_core.domain.scheduling import Appointment
from porfin_core.errors import ValidationError
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWorkFactory

MAX_APPOINTMENTS = 1000
"""The most appointments one list returns."""


@attrs.frozen(kw_only=True)
class AppointmentFilter:
    """Which appointments to list: dates, a patient, or both; filters combine with AND.

    Attributes:
        clinic_id: The clinic.
        first_day: First local date (appointments starting that day or later).
        last_day: Last local date (default: ``first_day``; at most 92 days in all).
        professional_id: Only this professional's.
        customer_id: Only this patient's (without dates: all of theirs).
        include_cancelled: False leaves cancelled appointments out.
        limit: At most this many (the earliest), 1 to 1000.
    """

    clinic_id: str
    first_day: date | None = None
    last_day: date | None = None
    professional_id: str | None = None
    customer_id: str | None = None
    include_cancelled: bool = True
    limit: int = 500


@attrs.define(kw_only=True)
class ListAppointments:
    """Appointments by start, then id (local dates in the clinic's time zone)."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: AppointmentFilter) -> list[Appointment]:
        """Return the matching appointments.

        Raises:
            NotFound: no such clinic.
            ValidationError: neither dates nor a patient (``first_day``), a bad range
                (``last_day``) or limit (``limit``).
        """
        if not 1 <= query.limit <= MAX_APPOINTMENTS:
            raise ValidationError(f"limit must be from 1 to {MAX_APPOINTMENTS}", field="limit")
        if query.first_day is None and query.last_day is not None:
            raise ValidationError("last_day needs first_day", field="first_day")
        if query.first_day is None and query.customer_id is None:
            raise ValidationError("list a range of dates or a patient's", field="first_day")
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(query.clinic_id)
            starts_from = starts_before = None
            if query.first_day is not None:
                last = query.last_day or query.first_day
                if last < query.first_day:
                    raise ValidationError("last_day is before first_day", field="last_day")
                if (last - query.first_day).days >= MAX_SEARCH_DAYS:
                    raise ValidationError(
                        f"a list covers at most {MAX_SEARCH_DAYS} days", field="last_day"
                    )
                starts_from = day_bounds(query.first_day, clinic.zone).start
                starts_before = day_bounds(last, clinic.zone).end
            found = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=clinic.id,
                    starts_from=starts_from,
                    starts_before=starts_before,
                    professional_id=query.professional_id,
                    customer_id=query.customer_id,
                    limit=None if not query.include_cancelled else query.limit,
                )
            )
        kept = [a for a in found if query.include_cancelled or a.takes_time]
        return kept[: query.limit]
