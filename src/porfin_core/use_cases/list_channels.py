"""List the clinic's channels."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListChannels:
    """The clinic's WhatsApp numbers, oldest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str) -> list[Channel]:
        """Return the channels of ``clinic_id``."""
        async with self.uow_factory(read_only=True) as uow:
            return await uow.channels.list(clinic_id)
