"""The clinic's team."""

from __future__ import annotations

import attrs

from porfin_core.domain.staff import StaffUser
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListStaffUsers:
    """Every account of a clinic (invited, active and disabled), oldest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str) -> list[StaffUser]:
        """List the clinic's accounts."""
        async with self.uow_factory(read_only=True) as uow:
            return await uow.staff.list(clinic_id)
