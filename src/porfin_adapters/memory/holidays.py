"""A holiday calendar of given dates, for tests and demos."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from porfin_adapters.text import fold


class FixedHolidayCalendar:
    """The :class:`~porfin_core.ports.holidays.HolidayCalendar` of the dates it was given.

    Args:
        days: Holidays everywhere (national), by date.
        local: Holidays of a place only, by (UF, city name): a city's days apply to clinics
            of that city (any case or accents); a (UF, None) entry to the whole state.
    """

    def __init__(
        self,
        days: Mapping[date, str] | None = None,
        local: Mapping[tuple[str, str | None], Mapping[date, str]] | None = None,
    ) -> None:
        self._days = dict(days or {})
        self._local = {
            (state.upper(), None if city is None else fold(city)): dict(found)
            for (state, city), found in (local or {}).items()
        }

    async def holidays(self, state: str | None, city: str | None, year: int) -> dict[date, str]:
        """The given dates of ``year`` that apply to the place."""
        found = dict(self._days)
        if state:
            uf = state.strip().upper()
            found.update(self._local.get((uf, None), {}))
            if city:
                found.update(self._local.get((uf, fold(city)), {}))
        return {day: name for day, name in found.items() if day.year == year}
