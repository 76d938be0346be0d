"""Find the channel a provider webhook is for."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class FindWebhookChannel:
    """The channel a webhook URL names, whatever its clinic.

    A provider's webhook carries only the channel id (``/webhooks/whatsapp/cloud/{id}``);
    the channel says which clinic the messages belong to. The webhook proves it may speak for
    the channel with the channel's own secret, never with a clinic's credentials.
    """

    uow_factory: UnitOfWorkFactory

    async def __call__(self, channel_id: str) -> Channel:
        """Return the channel, archived ones included.

        Raises:
            NotFound: no such channel.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await uow.channels.get(channel_id)
