"""Read one of the clinic's channels."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._channels import clinic_channel


@attrs.define(kw_only=True)
class GetChannel:
    """A channel of the caller's clinic, archived ones included (their chats still point at
    them). It holds secret references only, never secret values."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, channel_id: str) -> Channel:
        """Return the channel.

        Raises:
            NotFound: no such channel in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await clinic_channel(uow, clinic_id, channel_id)
