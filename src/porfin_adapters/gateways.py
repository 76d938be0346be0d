"""Which gateway serves which provider."""

from __future__ import annotations

from collections.abc import Mapping

from porfin_core.domain.channel import Channel, Provider
from porfin_core.errors import GatewayError
from porfin_core.ports.messaging import MessagingGateway


class ProviderGatewayDirectory:
    """Maps each channel to the gateway of its provider."""

    def __init__(self, gateways: Mapping[Provider, MessagingGateway]) -> None:
        self._gateways = dict(gateways)

    def for_channel(self, channel: Channel) -> MessagingGateway:
        gateway = self._gateways.get(channel.provider)
        if gateway is None:
            raise GatewayError(
                f"no gateway is configured for provider {channel.provider.value!r}",
                retryable=False,
                provider=channel.provider.value,
            )
        return gateway
