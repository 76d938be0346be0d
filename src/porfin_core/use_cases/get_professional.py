"""Read one professional of the clinic."""

from __future__ import annotations

import attrs

from porfin_core.domain.scheduling import Professional
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class GetProfessional:
    """A professional of the caller's clinic, with their hours, breaks and exceptions."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, professional_id: str) -> Professional:
        """Return the professional (active or not).

        Raises:
            NotFound: no such professional in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await uow.professionals.get(clinic_id, professional_id)
