"""Free time: where an appointment fits in professionals' agendas.

Pure arithmetic over the facts the use cases gather: working hours, breaks and date exceptions
(:class:`~porfin_core.domain.scheduling.Professional`), holidays of the clinic's city, clinic
closures, existing appointments with their buffers, and busy time in external calendars.

The rules:

* **Working time** of a professional on a local date is their hours that date (the date's
  exception, else the weekday's hours without its breaks), minus clinic closures; none on a
  holiday.
* An appointment **fits** when the appointment itself lies within one stretch of working time,
  and the time it occupies (with its type's buffer before and after) overlaps nothing busy:
  other appointments' occupied time (their own buffers included; cancelled ones free theirs),
  and external busy time. Buffers may reach outside working hours (preparing the room before
  opening), never into another appointment.
* **Slots** are candidates every ``step`` (15 minutes by default) from the start of each
  stretch of working time, that fit, start no earlier than ``not_before`` (now: never in the
  past) and, when periods of the day are asked for, start in one of them
  (:class:`~porfin_core.domain.scheduling.DayPeriod`). They are returned in the clinic's
  time zone, by start, then professional id.

All instants are compared in UTC; local dates and times are read in the clinic's zone, so a
search is the same in every Brazilian zone (none has daylight-saving time since 2019; older
dates are handled by the zone database).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import attrs

from porfin_core.domain.scheduling import (
    DayPeriod,
    Interval,
    Professional,
    Slot,
    subtract,
)
from porfin_core.errors import ValidationError

DEFAULT_STEP = timedelta(minutes=15)
"""How far apart candidate starts are."""
MIN_STEP = timedelta(minutes=5)
MAX_STEP = timedelta(hours=4)
MAX_SEARCH_DAYS = 92
"""The longest date range one search covers (about three months)."""
MAX_SLOTS = 200
"""The most slots one search returns."""


def at_local(day: date, moment: time, zone: tzinfo) -> datetime:
    """The instant (UTC) of the wall-clock time ``moment`` on ``day`` in ``zone``."""
    return datetime.combine(day, moment, tzinfo=zone).astimezone(UTC)


def day_bounds(day: date, zone: tzinfo) -> Interval:
    """The local date ``day`` in ``zone``, from midnight to the next midnight."""
    return Interval(at_local(day, time(), zone), at_local(day + timedelta(days=1), time(), zone))


def check_search(
    first_day: date, last_day: date, *, step: timedelta = DEFAULT_STEP, limit: int = 10
) -> None:
    """Check a search's range, step and size.

    Raises:
        ValidationError: ``last_day`` before ``first_day`` or more than 92 days after it
            (field ``last_day``), a step outside 5 minutes to 4 hours or not a whole number of
            minutes (``step_minutes``), a limit outside 1 to 200 (``limit``).
    """
    if last_day < first_day:
        raise ValidationError("last_day is before first_day", field="last_day")
    if (last_day - first_day).days >= MAX_SEARCH_DAYS:
        raise ValidationError(f"a search covers at most {MAX_SEARCH_DAYS} days", field="last_day")
    if not MIN_STEP <= step <= MAX_STEP or step % timedelta(minutes=1):
        raise ValidationError(
            "step must be a whole number of minutes from 5 to 240", field="step_minutes"
        )
    if not 1 <= limit <= MAX_SLOTS:
        raise ValidationError(f"limit must be from 1 to {MAX_SLOTS}", field="limit")


@attrs.frozen(kw_only=True)
class Availability:
    """The facts of a clinic's agenda that decide where appointments fit.

    Attributes:
        zone: The clinic's time zone: local dates and times are read in it.
        holidays: Local dates nobody works (national, state and city holidays).
        closures: Times the whole clinic is closed.
        busy: By professional id, time already taken: the occupied time (with buffers) of
            their appointments that are not cancelled, and their external calendars' busy
            time.
    """

    zone: tzinfo
    holidays: Collection[date] = frozenset()
    closures: Sequence[Interval] = ()
    busy: Mapping[str, Sequence[Interval]] = attrs.field(factory=dict)

    def working_time(self, professional: Professional, day: date) -> list[Interval]:
        """The professional's working time on local date ``day``: their hours that date,
        minus closures; nothing on a holiday."""
        if day in self.holidays:
            return []
        spans = [
            (at_local(day, r.start, self.zone), at_local(day, r.end, self.zone))
            for r in professional.working_ranges(day)
        ]
        cuts = [(c.start, c.end) for c in self.closures]
        return [Interval(start, end) for start, end in subtract(spans, cuts) if start < end]

    def fits(
        self,
        professional: Professional,
        start: datetime,
        end: datetime,
        *,
        buffer_before: timedelta = timedelta(0),
        buffer_after: timedelta = timedelta(0),
    ) -> bool:
        """True when an appointment from ``start`` to ``end`` with these buffers fits the
        professional's agenda (see the module's rules); its start need not be on a step."""
        appointment = Interval(start, end)
        day = appointment.start.astimezone(self.zone).date()
        if not any(w.contains(appointment) for w in self.working_time(professional, day)):
            return False
        occupied = Interval(appointment.start - buffer_before, appointment.end + buffer_after)
        return not any(b.overlaps(occupied) for b in self.busy.get(professional.id, ()))

    def slots(
        self,
        professionals: Iterable[Professional],
        *,
        first_day: date,
        last_day: date,
        duration: timedelta,
        not_before: datetime,
        buffer_before: timedelta = timedelta(0),
        buffer_after: timedelta = timedelta(0),
        periods: Collection[DayPeriod] = (),
        step: timedelta = DEFAULT_STEP,
        limit: int = 10,
    ) -> list[Slot]:
        """The first ``limit`` free slots of ``duration`` from ``first_day`` to ``last_day``
        (local dates, included), by start then professional id.

        Raises:
            ValidationError: a bad range, step or limit (see :func:`check_search`).
        """
        check_search(first_day, last_day, step=step, limit=limit)
        people = sorted(professionals, key=lambda p: p.id)
        found: list[Slot] = []
        day = first_day
        while day <= last_day and len(found) < limit:
            today: list[Slot] = []
            for professional in people:
                today.extend(
                    self._day_slots(
                        professional,
                        day,
                        duration=duration,
                        before=buffer_before,
                        after=buffer_after,
                        not_before=not_before,
                        periods=periods,
                        step=step,
                    )
                )
            today.sort(key=lambda s: (s.start, s.professional_id))
            found.extend(today)
            day += timedelta(days=1)
        return [
            Slot(s.professional_id, s.start.astimezone(self.zone), s.end.astimezone(self.zone))
            for s in found[:limit]
        ]

    def _day_slots(
        self,
        professional: Professional,
        day: date,
        *,
        duration: timedelta,
        before: timedelta,
        after: timedelta,
        not_before: datetime,
        periods: Collection[DayPeriod],
        step: timedelta,
    ) -> list[Slot]:
        working = self.working_time(professional, day)
        if not working:
            return []
        # Only what is busy near this day's working time matters.
        window = Interval(working[0].start - before, working[-1].end + after)
        busy = [b for b in self.busy.get(professional.id, ()) if b.overlaps(window)]
        slots = []
        for stretch in working:
            start = stretch.start
            if start < not_before:
                start += -((stretch.start - not_before) // step) * step
            while start + duration <= stretch.end:
                occupied = Interval(start - before, start + duration + after)
                if (not periods or self._period(start) in periods) and not any(
                    b.overlaps(occupied) for b in busy
                ):
                    slots.append(Slot(professional.id, start, start + duration))
                start += step
        return slots

    def _period(self, start: datetime) -> DayPeriod | None:
        return DayPeriod.of(start.astimezone(self.zone).time())


def nearest(slots: Sequence[Slot], asked: datetime, count: int = 3) -> tuple[Slot, ...]:
    """The ``count`` slots closest to ``asked`` (before or after), by start."""
    closest = sorted(slots, key=lambda s: (abs(s.start - asked), s.start, s.professional_id))
    return tuple(sorted(closest[:count], key=lambda s: (s.start, s.professional_id)))
