"""A payment gateway's webhook call: verified, read, and applied to the charges it is about."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from porfin_core.domain.payment_gateway import gateway_provider
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.payments import PaymentGateways, PaymentNotice
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases.sync_charge import ChargeReport, ChargeSync, SyncCharge


@attrs.frozen(kw_only=True)
class PaymentWebhook:
    """One webhook call as it arrived.

    Attributes:
        clinic_id: The clinic in the webhook's URL.
        provider: The gateway in the URL (``asaas``, ``mercadopago``).
        headers: The request's headers.
        body: The raw body (signatures cover the bytes).
        query: The URL's query parameters (Mercado Pago signs ``data.id``).
    """

    clinic_id: str
    provider: str
    headers: Mapping[str, str]
    body: bytes
    query: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class WebhookOutcome:
    """How many notices the call carried, applied (about one of the clinic's charges) and
    ignored (about charges Porfin did not issue)."""

    notices: int
    applied: int
    ignored: int


@attrs.define(kw_only=True)
class ReceivePaymentWebhook:
    """Verify the call with the clinic's gateway account (nothing changes on a bad token or
    signature), then bring each charge it is about in step (``SyncCharge``): with the status
    the notice reports, or, when it reports none, the gateway's answer. Replays change
    nothing (see ``SyncCharge``)."""

    uow_factory: UnitOfWorkFactory
    gateways: PaymentGateways
    sync: SyncCharge

    async def __call__(self, call: PaymentWebhook) -> WebhookOutcome:
        """Apply the call.

        Raises:
            NotFound: no such clinic or gateway, or the clinic does not charge through
                ``provider`` (answered alike).
            InvalidCredentials: the call is not signed with the account's secret.
            ValidationError: the body is not a webhook of the gateway.
            GatewayError: the gateway could not be asked about a charge (the gateway
                retries the call later).
        """
        try:
            provider = gateway_provider(call.provider)
        except ValidationError:
            raise NotFound("no such payment webhook", provider=call.provider) from None
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(call.clinic_id)
        config = clinic.payment_gateway
        if config is None or config.provider is not provider:
            raise NotFound("no such payment webhook", provider=call.provider)
        gateway = await self.gateways.gateway(clinic.id, config)
        notices = gateway.read_webhook(call.headers, call.body, query=call.query)
        applied = 0
        for notice in notices:
            charge_id = await self._charge_of(clinic.id, provider.value, notice)
            if charge_id is None:
                continue
            report = None
            if notice.status is not None:
                report = ChargeReport(
                    status=notice.status,
                    paid_cents=notice.paid_cents,
                    at=notice.occurred_at,
                    reference=notice.event_id,
                )
            await self.sync(
                ChargeSync(
                    clinic_id=clinic.id, charge_id=charge_id, source="webhook", report=report
                )
            )
            applied += 1
        return WebhookOutcome(len(notices), applied, len(notices) - applied)

    async def _charge_of(self, clinic_id: str, provider: str, notice: PaymentNotice) -> str | None:
        """The id of the clinic's charge the notice is about (by the gateway's id, which
        only the real charge has), None when Porfin issued no such charge."""
        async with self.uow_factory(read_only=True) as uow:
            charge = await uow.charges.find_by_provider_charge(
                clinic_id, provider, notice.provider_charge_id
            )
            if charge is None and notice.charge_id is not None:
                try:
                    charge = await uow.charges.get(clinic_id, notice.charge_id)
                except NotFound:
                    return None
                if charge.provider != provider or not charge.awaiting_gateway:
                    return None
        return None if charge is None else charge.id
