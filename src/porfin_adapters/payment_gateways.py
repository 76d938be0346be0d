"""The payment gateway of each clinic's account, built from its settings and secrets.

A clinic's :class:`~porfin_core.domain.payment_gateway.PaymentGatewayConfig` names the gateway,
its plain settings and references to its credentials in the secret store. The gateway client
is built the first time it is needed and kept (its HTTP connections pooled) until the
account's settings change; credentials are read from the secret store then, never stored on
the client's key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from porfin_adapters.asaas.client import SANDBOX_URL
from porfin_adapters.asaas.gateway import AsaasGateway
from porfin_adapters.mercadopago.gateway import DEFAULT_BASE_URL, MercadoPagoGateway
from porfin_core.domain.payment_gateway import GatewayProvider, PaymentGatewayConfig
from porfin_core.errors import GatewayError, NotFound, StorageUnavailable
from porfin_core.ports.payments import PaymentGateway
from porfin_core.ports.secrets import SecretStore

_Key = tuple[str, str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def _key(clinic_id: str, config: PaymentGatewayConfig) -> _Key:
    return (
        clinic_id,
        config.provider.value,
        tuple(sorted(config.settings.items())),
        tuple(sorted((name, ref.ref) for name, ref in config.secrets.items())),
    )


class ConfiguredPaymentGateways:
    """:class:`~porfin_core.ports.payments.PaymentGateways` for Asaas and Mercado Pago.

    Args:
        secrets: Where the accounts' credentials are.
        time_zone: Where a due date ends (Mercado Pago's expiration), by clinic default.
        timeout: Seconds for connecting and each read.
        base_urls: Default API base URL per gateway (an account's ``base_url`` wins).
    """

    def __init__(
        self,
        secrets: SecretStore,
        *,
        timeout: float = 20.0,
        base_urls: Mapping[str, str] | None = None,
    ) -> None:
        self._secrets = secrets
        self._timeout = timeout
        self._base_urls = {
            GatewayProvider.ASAAS.value: SANDBOX_URL,
            GatewayProvider.MERCADO_PAGO.value: DEFAULT_BASE_URL,
        } | dict(base_urls or {})
        self._clients: dict[_Key, Any] = {}

    async def gateway(self, clinic_id: str, config: PaymentGatewayConfig) -> PaymentGateway:
        key = _key(clinic_id, config)
        client = self._clients.get(key)
        if client is None:
            client = await self._build(config)
            for stale in [k for k in self._clients if k[0] == clinic_id]:
                await self._clients.pop(stale).aclose()
            self._clients[key] = client
        gateway: PaymentGateway = client
        return gateway

    async def _build(self, config: PaymentGatewayConfig) -> AsaasGateway | MercadoPagoGateway:
        values = {name: await self._secret(config, name) for name in config.secrets}
        base_url = config.settings.get("base_url") or self._base_urls[config.provider.value]
        if config.provider is GatewayProvider.ASAAS:
            return AsaasGateway(
                api_key=values.get("api_key", ""),
                webhook_token=values.get("webhook_token", ""),
                base_url=base_url,
                timeout=self._timeout,
            )
        return MercadoPagoGateway(
            values.get("access_token", ""),
            values.get("webhook_secret", ""),
            base_url,
            timeout=self._timeout,
        )

    async def _secret(self, config: PaymentGatewayConfig, name: str) -> str:
        try:
            return await self._secrets.get(config.secrets[name])
        except NotFound:
            raise GatewayError(
                f"the {config.provider.value} {name} is gone from the secret store: set the "
                "payment gateway again",
                retryable=False,
                provider=config.provider.value,
            ) from None
        except StorageUnavailable as exc:
            raise GatewayError("the secret store could not be read", retryable=True) from exc

    async def aclose(self) -> None:
        """Close every client's connections."""
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.aclose()
