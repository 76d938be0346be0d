"""The clinic's connected calendars and how their sync goes."""

from __future__ import annotations

import attrs

from porfin_core.domain.calendar import CalendarConnection
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListCalendarConnections:
    """Every professional's connected calendar of a clinic (revoked ones too), with the last
    sync's time and error: what ``porfin calendar status`` shows."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str) -> list[CalendarConnection]:
        """The clinic's connections, by professional id."""
        async with self.uow_factory(read_only=True) as uow:
            return await uow.calendar_connections.list(clinic_id)
