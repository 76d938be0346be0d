"""List the clinic's channels."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListChannels:
    """The clinic's WhatsApp numbers, oldest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, *, include_archived: bool = False) -> list[Channel]:
        """Return the channels of ``clinic_id``; removed (archived) ones only when
        ``include_archived``."""
        async with self.uow_factory(read_only=True) as uow:
            channels = await uow.channels.list(clinic_id)
        return channels if include_archived else [c for c in channels if not c.archived]
