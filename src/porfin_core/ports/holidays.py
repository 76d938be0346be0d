"""Public holidays: days a clinic's professionals do not work unless told otherwise."""

from __future__ import annotations

from datetime import date
from typing import Protocol


class HolidayCalendar(Protocol):
    """The public holidays of a place in Brazil."""

    async def holidays(self, state: str | None, city: str | None, year: int) -> dict[date, str]:
        """The holidays of ``year`` by date, with their names (Portuguese): national ones,
        the state's when ``state`` (a UF such as ``SP``) is given, and the city's when the
        calendar knows ``city`` (its name, any case or accents) in that state.

        An unknown state or city has no holidays of its own; this never raises for them.
        """
        ...
