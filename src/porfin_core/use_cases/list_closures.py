"""The clinic's closures."""

from __future__ import annotations

import attrs

from porfin_core.domain.scheduling import Closure
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListClosures:
    """The closures of a clinic, by start."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, clinic_id: str, *, include_past: bool = False) -> list[Closure]:
        """Return the clinic's closures that have not ended yet (every one with
        ``include_past``)."""
        async with self.uow_factory(read_only=True) as uow:
            ends_after = None if include_past else self.clock.now()
            return await uow.closures.list(clinic_id, ends_after=ends_after)
