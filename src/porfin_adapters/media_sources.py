"""Which provider a received message's file is fetched from."""

from __future__ import annotations

from collections.abc import Mapping

from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.message import Message
from porfin_core.errors import GatewayError
from porfin_core.ports.media import FetchedMedia, InboundMediaSource


class ProviderMediaSources:
    """An :class:`InboundMediaSource` that hands each message to the source of its channel's
    provider (Cloud API, Evolution).

    Args:
        sources: The source of each provider Porfin downloads files from.
    """

    def __init__(self, sources: Mapping[Provider, InboundMediaSource]) -> None:
        self._sources = dict(sources)

    async def fetch(self, channel: Channel, message: Message) -> FetchedMedia:
        """The bytes of ``message``'s media, from its channel's provider.

        Raises:
            GatewayError: as the provider's source raises it; for a provider without one
                (the simulator), not retryable.
        """
        source = self._sources.get(channel.provider)
        if source is None:
            reason = f"files of {channel.provider.value} channels cannot be downloaded"
            raise GatewayError(
                reason, retryable=False, provider=channel.provider.value, reason=reason
            )
        return await source.fetch(channel, message)
