"""Read a staff account (the caller's own profile, or a colleague's)."""

from __future__ import annotations

import attrs

from porfin_core.domain.staff import StaffUser
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class GetStaffUser:
    """A staff user of the caller's clinic."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, user_id: str) -> StaffUser:
        """Return the user.

        Raises:
            NotFound: no such user in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await uow.staff.get(clinic_id, user_id)
