"""The clinic's professionals."""

from __future__ import annotations

import attrs

from porfin_core.domain.scheduling import Professional
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListProfessionals:
    """The professionals of a clinic, oldest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(
        self, clinic_id: str, *, include_inactive: bool = False
    ) -> list[Professional]:
        """Return the clinic's active professionals (every one with ``include_inactive``)."""
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.professionals.list(clinic_id)
        return [p for p in found if include_inactive or p.active]
