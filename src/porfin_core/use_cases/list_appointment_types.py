"""The clinic's appointment types."""

from __future__ import annotations

import attrs

from porfin_core.domain.scheduling import AppointmentType
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListAppointmentTypes:
    """What a clinic offers for booking, oldest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(
        self, clinic_id: str, *, include_inactive: bool = False
    ) -> list[AppointmentType]:
        """Return the clinic's active types (every one with ``include_inactive``)."""
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.appointment_types.list(clinic_id)
        return [t for t in found if include_inactive or t.active]
