"""An in-memory payment gateway: a working stand-in for Asaas or Mercado Pago in tests, BDD
steps and demos (charges are paid with :meth:`MemoryPaymentGateway.pay`)."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import datetime

import attrs

from porfin_core.domain.payment_gateway import PaymentGatewayConfig
from porfin_core.domain.pix import generate_static_br_code
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import (
    ChargeRequest,
    GatewayCharge,
    GatewayChargeStatus,
    PaymentNotice,
)

TOKEN_HEADER = "x-memory-token"


@attrs.define
class MemoryPaymentGateway:
    """A gateway keeping its charges in a dict, idempotent on the charge id like the real
    ones. ``fail_next`` makes the next calls fail as an unreachable gateway would."""

    webhook_token: str = "memory-token"
    charges: dict[str, GatewayCharge] = attrs.field(factory=dict)
    by_reference: dict[str, str] = attrs.field(factory=dict)
    created: int = 0
    failures: int = 0
    requests: list[ChargeRequest] = attrs.field(factory=list)
    refusal: str | None = None
    """When set, creations are refused with this message (as a gateway refuses bad data)."""
    links: bool = True
    """Payment links are made (``link:<id>``, as Asaas does); False refuses them, as Mercado
    Pago does."""

    def fail_next(self, times: int = 1) -> None:
        """The next ``times`` calls raise a retryable ``GatewayError``."""
        self.failures = times

    def _call(self) -> None:
        if self.failures:
            self.failures -= 1
            raise GatewayError("the memory gateway is down", retryable=True)

    async def create_charge(self, request: ChargeRequest) -> GatewayCharge:
        self.requests.append(request)
        self._call()
        if self.refusal is not None:
            raise ValidationError(self.refusal, field="payer_document")
        if request.as_link and not self.links:
            raise ValidationError("payment links are an Asaas feature", field="payment_link")
        existing = self.by_reference.get(request.charge_id)
        if existing is not None:
            return self.charges[existing]
        self.created += 1
        provider_id = f"mem_{self.created:06d}"
        if request.as_link:
            # Like Asaas: a page where the patient chooses how to pay, and no PIX code.
            provider_id = f"link:{provider_id}"
            charge = GatewayCharge(
                provider_charge_id=provider_id,
                status=GatewayChargeStatus.PENDING,
                amount_cents=request.amount_cents,
                payment_url=f"https://pay.example/c/{provider_id.removeprefix('link:')}",
            )
            self.charges[provider_id] = charge
            self.by_reference[request.charge_id] = provider_id
            return charge
        charge = GatewayCharge(
            provider_charge_id=provider_id,
            status=GatewayChargeStatus.PENDING,
            amount_cents=request.amount_cents,
            pix_copy_paste=generate_static_br_code(
                key="+5511999990000",
                merchant_name="PORFIN MEMORY",
                merchant_city="SAO PAULO",
                amount_cents=request.amount_cents,
                txid=provider_id.replace("_", ""),
            ),
            payment_url=f"https://pay.example/{provider_id}",
        )
        self.charges[provider_id] = charge
        self.by_reference[request.charge_id] = provider_id
        return charge

    async def get_charge(self, provider_charge_id: str) -> GatewayCharge:
        self._call()
        try:
            return self.charges[provider_charge_id]
        except KeyError:
            raise NotFound("no such charge", provider_charge_id=provider_charge_id) from None

    async def cancel_charge(self, provider_charge_id: str) -> GatewayCharge:
        charge = await self.get_charge(provider_charge_id)
        # Like Mercado Pago (Asaas deletes it): an expired charge cannot be paid any more, so
        # cancelling it is no refusal.
        if charge.status in (GatewayChargeStatus.CANCELLED, GatewayChargeStatus.EXPIRED):
            return charge
        if charge.status is not GatewayChargeStatus.PENDING:
            raise InvalidStateTransition(f"the charge is {charge.status.value}")
        self.charges[provider_charge_id] = attrs.evolve(
            charge, status=GatewayChargeStatus.CANCELLED
        )
        return self.charges[provider_charge_id]

    def pay(
        self, provider_charge_id: str, cents: int | None = None, at: datetime | None = None
    ) -> GatewayCharge:
        """The patient pays ``cents`` (default: the rest) of the charge."""
        charge = self.charges[provider_charge_id]
        paid = charge.paid_cents + (
            charge.amount_cents - charge.paid_cents if cents is None else cents
        )
        status = GatewayChargeStatus.PAID if paid >= charge.amount_cents else charge.status
        self.charges[provider_charge_id] = attrs.evolve(
            charge, paid_cents=paid, status=status, paid_at=at or charge.paid_at
        )
        return self.charges[provider_charge_id]

    def set_status(self, provider_charge_id: str, status: GatewayChargeStatus) -> None:
        """Move the charge to ``status`` at the gateway (refund, expiry...)."""
        self.charges[provider_charge_id] = attrs.evolve(
            self.charges[provider_charge_id], status=status
        )

    def webhook(
        self, provider_charge_id: str, event_id: str, *, with_status: bool = True
    ) -> tuple[dict[str, str], bytes]:
        """A signed webhook call about the charge (its current state, or only its id)."""
        charge = self.charges[provider_charge_id]
        body = json.dumps(
            {
                "id": event_id,
                "charge": provider_charge_id,
                "status": charge.status.value if with_status else None,
                "paid_cents": charge.paid_cents,
            }
        ).encode()
        signature = hmac.new(self.webhook_token.encode(), body, hashlib.sha256).hexdigest()
        return {TOKEN_HEADER: signature}, body

    def read_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        query: Mapping[str, str] | None = None,
    ) -> list[PaymentNotice]:
        lowered = {k.lower(): v for k, v in headers.items()}
        expected = hmac.new(self.webhook_token.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(lowered.get(TOKEN_HEADER, ""), expected):
            raise InvalidCredentials("bad signature", provider="memory")
        try:
            event = json.loads(body)
            status = event["status"]
            return [
                PaymentNotice(
                    event_id=str(event["id"]),
                    provider_charge_id=str(event["charge"]),
                    status=None if status is None else GatewayChargeStatus(status),
                    paid_cents=int(event["paid_cents"]),
                )
            ]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValidationError("not a memory gateway webhook") from exc

    async def aclose(self) -> None:
        """Nothing to close."""


@attrs.define
class MemoryPaymentGateways:
    """Every clinic's account answered by one :class:`MemoryPaymentGateway`."""

    gateway_: MemoryPaymentGateway = attrs.field(factory=MemoryPaymentGateway)

    async def gateway(self, clinic_id: str, config: PaymentGatewayConfig) -> MemoryPaymentGateway:
        return self.gateway_

    async def aclose(self) -> None:
        """Nothing to close."""
