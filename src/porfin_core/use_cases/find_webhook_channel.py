"""Find the channel a provider webhook is for, and the secret that authenticates it."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel, Provider
from porfin_core.errors import NotFound
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class FindWebhookChannel:
    """The channel a webhook URL names, whatever its clinic.

    A provider's webhook carries only the channel id (``/webhooks/whatsapp/cloud/{id}``);
    the channel says which clinic the messages belong to. The webhook proves it may speak for
    the channel with the channel's own secret, never with a clinic's credentials.
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretStore

    async def __call__(self, channel_id: str, provider: Provider) -> Channel:
        """Return the channel, archived ones included.

        Raises:
            NotFound: no such channel, or one of another provider.
        """
        async with self.uow_factory(read_only=True) as uow:
            channel = await uow.channels.get(channel_id)
        if channel.provider is not provider:
            raise NotFound("channel not found", id=channel_id)
        return channel

    async def secret(self, channel: Channel, name: str) -> str:
        """The channel's secret ``name``; empty when it has none (then it accepts nothing)."""
        ref = channel.secrets.get(name)
        if ref is None:
            return ""
        try:
            return await self.secrets.get(ref)
        except NotFound:
            return ""
