"""List the channels whose connection Porfin watches."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel, Provider
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListMonitoredChannels:
    """Every clinic's live channels of one provider: the health monitor's round."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, provider: Provider) -> list[Channel]:
        """The active, not removed channels of ``provider`` in every clinic of the
        installation, clinic by clinic, oldest first."""
        async with self.uow_factory(read_only=True) as uow:
            clinics = await uow.clinics.list()
            channels = [c for clinic in clinics for c in await uow.channels.list(clinic.id)]
        return [c for c in channels if c.provider is provider and c.active and not c.archived]
