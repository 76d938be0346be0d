"""Find the channel a provider webhook is for, and the secret that authenticates it."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel, Provider
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Timer
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWorkFactory

CACHE_MS = 1000.0
"""How long a channel read for a webhook is reused for the next webhooks of the same channel
(with a timer): a change to it (switched off, removed, new credentials) reaches the webhook
routes of each process at most this much later."""

CACHE_ENTRIES = 1000
"""Channels kept at most (the cache is emptied when full)."""


@attrs.define(kw_only=True)
class FindWebhookChannel:
    """The channel a webhook URL names, whatever its clinic.

    A provider's webhook carries only the channel id (``/webhooks/whatsapp/cloud/{id}``);
    the channel says which clinic the messages belong to. The webhook proves it may speak for
    the channel with the channel's own secret, never with a clinic's credentials.

    With a ``timer``, a channel found is reused for :data:`CACHE_MS` (a webhook route reads it
    on every delivery, thousands of times a second): callers treat it as read-only. Unknown
    ids are never remembered.
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretStore
    timer: Timer | None = None
    _cache: dict[str, tuple[float, Channel]] = attrs.field(factory=dict, init=False)

    async def __call__(self, channel_id: str, provider: Provider) -> Channel:
        """Return the channel, archived ones included.

        Raises:
            NotFound: no such channel, or one of another provider.
        """
        now = self.timer.monotonic_ms() if self.timer is not None else 0.0
        cached = self._cache.get(channel_id)
        if cached is not None and now < cached[0]:
            channel = cached[1]
        else:
            async with self.uow_factory(read_only=True) as uow:
                channel = await uow.channels.get(channel_id)
            if self.timer is not None:
                if len(self._cache) >= CACHE_ENTRIES:
                    self._cache.clear()
                self._cache[channel_id] = (now + CACHE_MS, channel)
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
