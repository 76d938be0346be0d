"""Which payment gateway a clinic charges through, and how Porfin reaches its account.

Without one (the embedded default) a charge carries a static PIX BR Code for the clinic's key
and staff confirm the payment. With one (Asaas, Mercado Pago) the gateway creates the charge,
tells Porfin when it is paid (webhook) and answers when asked (polling).

Credentials are never kept on the clinic: it holds :class:`SecretRef` references to the
secret store, like a channel does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

from porfin_core.domain.channel import ProviderSetting, SecretRef, SettingPlace
from porfin_core.errors import ValidationError


class GatewayProvider(enum.StrEnum):
    """The payment gateways Porfin speaks to."""

    ASAAS = "asaas"
    MERCADO_PAGO = "mercadopago"


_BASE_URL = r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?"

GATEWAY_SETTINGS: Mapping[GatewayProvider, tuple[ProviderSetting, ...]] = {
    GatewayProvider.ASAAS: (
        ProviderSetting(
            name="api_key",
            place=SettingPlace.SECRET,
            required=True,
            max_length=500,
            description="The Asaas account's API key (sent as `access_token`).",
        ),
        ProviderSetting(
            name="webhook_token",
            place=SettingPlace.SECRET,
            required=True,
            max_length=255,
            description="The token set on the account's webhook; Asaas sends it in "
            "`asaas-access-token` and Porfin refuses calls without it.",
        ),
        ProviderSetting(
            name="base_url",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_BASE_URL,
            description="https://api.asaas.com/v3 (production) or "
            "https://api-sandbox.asaas.com/v3 (sandbox, the default).",
        ),
    ),
    GatewayProvider.MERCADO_PAGO: (
        ProviderSetting(
            name="access_token",
            place=SettingPlace.SECRET,
            required=True,
            max_length=500,
            description="The Mercado Pago application's access token.",
        ),
        ProviderSetting(
            name="webhook_secret",
            place=SettingPlace.SECRET,
            required=True,
            max_length=255,
            description="The webhook's secret signature key: checks `x-signature`.",
        ),
        ProviderSetting(
            name="base_url",
            place=SettingPlace.SETTING,
            required=False,
            pattern=_BASE_URL,
            description="https://api.mercadopago.com (the default).",
        ),
    ),
}
"""What an account of each gateway needs."""


PAYER_DATA: Mapping[GatewayProvider, tuple[str, ...]] = {
    GatewayProvider.ASAAS: ("payer_document",),
    GatewayProvider.MERCADO_PAGO: ("payer_email",),
}
"""What each gateway must know of the payer: Asaas charges a customer identified by CPF or
CNPJ; Mercado Pago needs the payer's e-mail."""

PAYMENT_LINKS: frozenset[GatewayProvider] = frozenset({GatewayProvider.ASAAS})
"""Gateways that make payment links (a page where the patient chooses PIX, boleto or card).
The patient types their own data on the page, so a link needs none of :data:`PAYER_DATA`."""


def gateway_provider(name: str) -> GatewayProvider:
    """The gateway called ``name``.

    Raises:
        ValidationError: no such gateway (field ``provider``).
    """
    try:
        return GatewayProvider(name)
    except ValueError:
        known = ", ".join(p.value for p in GatewayProvider)
        raise ValidationError(
            f"unknown payment gateway {name!r} (known: {known})", field="provider"
        ) from None


def gateway_setting(provider: GatewayProvider, name: str) -> ProviderSetting:
    """The setting ``name`` of ``provider``.

    Raises:
        ValidationError: the gateway has no such setting (field ``name``).
    """
    for setting in GATEWAY_SETTINGS[provider]:
        if setting.name == name:
            return setting
    raise ValidationError(f"{provider.value} has no setting {name!r}", field=name)


@attrs.frozen(kw_only=True)
class PaymentGatewayConfig:
    """A clinic's account at a payment gateway.

    Attributes:
        provider: Which gateway.
        settings: Plain settings (``base_url``).
        secrets: References to the credentials in the secret store, by setting name.
    """

    provider: GatewayProvider
    settings: Mapping[str, str] = attrs.field(factory=dict)
    secrets: Mapping[str, SecretRef] = attrs.field(factory=dict)

    def missing(self) -> list[str]:
        """The required settings the account lacks."""
        present = set(self.settings) | set(self.secrets)
        return [
            s.name for s in GATEWAY_SETTINGS[self.provider] if s.required and s.name not in present
        ]
