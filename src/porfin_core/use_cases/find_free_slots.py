"""Find free slots for an appointment type: what the AI receptionist and the front desk offer
patients."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import attrs

from porfin_core.domain.availability import DEFAULT_STEP, check_search, day_bounds
from porfin_core.domain.scheduling import Interval, Slot
from porfin_core.ports.clock import Clock
from porfin_core.ports.holidays import HolidayCalendar
from porfin_core.ports.scheduling import ExternalBusyTimes
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._scheduling import (
    bookable_professional,
    bookable_type,
    day_periods,
    external_busy,
    load_availability,
    performers,
)

DEFAULT_DAYS = 14
"""Dates searched when no last date is given."""


@attrs.frozen(kw_only=True)
class SlotRequest:
    """What to search.

    Attributes:
        clinic_id: The clinic.
        type_id: The appointment type (its duration and buffers, who performs it).
        first_day: First local date searched (default: today in the clinic's zone).
        last_day: Last local date searched (default: 13 days after ``first_day``; at most 92
            days in all).
        professional_id: Only this professional; None: everyone who performs the type.
        periods: Only slots starting in these parts of the day (``manha``, ``tarde``,
            ``noite``); empty: any time.
        limit: How many slots, 1 to 200.
        step_minutes: Minutes between candidate starts, 5 to 240.
    """

    clinic_id: str
    type_id: str
    first_day: date | None = None
    last_day: date | None = None
    professional_id: str | None = None
    periods: Sequence[str] = ()
    limit: int = 10
    step_minutes: int = int(DEFAULT_STEP.total_seconds() // 60)


@attrs.define(kw_only=True)
class FindFreeSlots:
    """The first free slots for a type, in the clinic's time zone (see
    :mod:`porfin_core.domain.availability` for the rules): working hours, breaks and
    exceptions, the clinic's city's holidays and its closures, existing appointments with
    their buffers and, when a source is configured, busy time in external calendars. Never in
    the past."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    holidays: HolidayCalendar
    busy_times: ExternalBusyTimes | None = None

    async def __call__(self, request: SlotRequest) -> list[Slot]:
        """Return up to ``request.limit`` slots, by start then professional id.

        Raises:
            NotFound: no such clinic, type or professional.
            ValidationError: an inactive type or professional, a professional who does not
                perform the type (``professional_id``), an unknown period (``periods``), a
                bad range, step or limit.
        """
        periods = day_periods(request.periods)
        step = timedelta(minutes=request.step_minutes)
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(request.clinic_id)
            now = self.clock.now()
            zone = clinic.zone
            first = request.first_day or now.astimezone(zone).date()
            last = request.last_day or first + timedelta(days=DEFAULT_DAYS - 1)
            check_search(first, last, step=step, limit=request.limit)
            kind = await bookable_type(uow, clinic.id, request.type_id)
            if request.professional_id is not None:
                people = [
                    await bookable_professional(uow, clinic.id, request.professional_id, kind)
                ]
            else:
                people = await performers(uow, clinic.id, kind)
            ids = [p.id for p in people]
            window = Interval(day_bounds(first, zone).start, day_bounds(last, zone).end)
            external = await external_busy(self.busy_times, clinic.id, ids, window)
            availability = await load_availability(
                uow, self.holidays, clinic, ids, window, external=external
            )
        return availability.slots(
            people,
            first_day=first,
            last_day=last,
            duration=kind.duration,
            buffer_before=kind.buffer_before,
            buffer_after=kind.buffer_after,
            not_before=now,
            periods=periods,
            step=step,
            limit=request.limit,
        )
