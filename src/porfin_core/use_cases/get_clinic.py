"""Read the clinic's settings."""

from __future__ import annotations

import attrs

from porfin_core.domain.clinic import Clinic
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class GetClinic:
    """The caller's clinic: name, time zone, contact and opening hours (not patient data,
    so the read is not audited)."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str) -> Clinic:
        """Return the clinic.

        Raises:
            NotFound: no such clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await uow.clinics.get(clinic_id)
