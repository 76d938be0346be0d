"""Payment gateways: PIX (and boleto, card) charges created at a provider, and its word on them.

Every create call carries an idempotency key (Porfin's charge id), so a retried call never makes
a second charge at the provider. Amounts are integer centavos (BRL); no floats.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from typing import Protocol

import attrs

from porfin_core.domain.payment_gateway import PaymentGatewayConfig


class BillingType(enum.StrEnum):
    """How the patient pays."""

    PIX = "pix"
    BOLETO = "boleto"
    CREDIT_CARD = "credit_card"


class GatewayChargeStatus(enum.StrEnum):
    """A provider's status of a charge, in Porfin's words."""

    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@attrs.frozen(kw_only=True)
class ChargeRequest:
    """A charge to create at a gateway.

    Attributes:
        charge_id: Porfin's id of the charge: the idempotency key and the provider's
            external reference.
        clinic_id: The clinic.
        amount_cents: The amount, in centavos (> 0).
        description: What it is for (shown to the patient).
        due_date: The last day to pay.
        billing_type: PIX (default), boleto or card.
        payer_name: The patient's name.
        payer_email: Their e-mail, when known (Mercado Pago requires one).
        payer_phone: Their phone, E.164.
        payer_document: CPF or CNPJ digits, when known (Asaas requires one for customers).
        as_link: Make a payment link instead of a charge: a page where the patient chooses
            PIX, boleto or card (an Asaas feature: other gateways refuse it with
            ``ValidationError``). The answer has a ``payment_url`` and no PIX code, and its
            ``provider_charge_id`` says it is a link (Asaas: ``link:<id>``).
        max_installments: With ``as_link``, the most card instalments the patient may choose
            (1: paid at once).
    """

    charge_id: str
    clinic_id: str
    amount_cents: int
    description: str
    due_date: date
    billing_type: BillingType = BillingType.PIX
    payer_name: str
    payer_email: str | None = None
    payer_phone: str | None = None
    payer_document: str | None = None
    as_link: bool = False
    max_installments: int = 1


@attrs.frozen(kw_only=True)
class GatewayCharge:
    """A charge as the provider holds it.

    Attributes:
        provider_charge_id: The provider's id (Asaas ``pay_...`` or ``link:<id>`` for a
            payment link, Mercado Pago payment id).
        status: Its status.
        amount_cents: The amount asked.
        paid_cents: What was paid so far (partial payments), 0 while pending.
        pix_copy_paste: The PIX "copia e cola" code (a BR Code), when PIX.
        pix_qr_png_base64: The QR image the provider made (PNG, base64), when it made one.
        payment_url: A page where the patient can pay, when the provider has one.
        expires_at: When the PIX code stops working, when said.
        paid_at: When it was paid.
    """

    provider_charge_id: str
    status: GatewayChargeStatus
    amount_cents: int
    paid_cents: int = 0
    pix_copy_paste: str | None = None
    pix_qr_png_base64: str | None = None
    payment_url: str | None = None
    expires_at: datetime | None = None
    paid_at: datetime | None = None


@attrs.frozen(kw_only=True)
class PaymentNotice:
    """One event of a gateway's webhook, verified and read.

    Attributes:
        event_id: The provider's id of the event (deduplication), or a stable digest of it.
        provider_charge_id: The charge it is about.
        charge_id: Porfin's id, when the provider echoes the external reference.
        status: The charge's status the event reports, when it reports one (None: read the
            charge with :meth:`PaymentGateway.get_charge` to know).
        paid_cents: The amount paid the event reports.
        occurred_at: When it happened, per the provider.
        raw_type: The provider's event name (``PAYMENT_RECEIVED``, ``payment.updated``).
    """

    event_id: str
    provider_charge_id: str
    charge_id: str | None = None
    status: GatewayChargeStatus | None = None
    paid_cents: int | None = None
    occurred_at: datetime | None = None
    raw_type: str = ""


class PaymentGateway(Protocol):
    """One payment provider (Asaas, Mercado Pago) for a clinic's account."""

    async def create_charge(self, request: ChargeRequest) -> GatewayCharge:
        """Create the charge (idempotent on ``request.charge_id``: a retry returns the same
        provider charge).

        Raises:
            ValidationError: the provider refused the request's data (not retryable), or
                it makes no payment links (``as_link``).
            GatewayError: the provider failed or could not be reached (``retryable`` says
                whether the same call may succeed later).
        """
        ...

    async def get_charge(self, provider_charge_id: str) -> GatewayCharge:
        """The charge as the provider holds it now.

        Raises:
            NotFound: the provider does not know it.
            GatewayError: the provider failed or could not be reached.
        """
        ...

    async def cancel_charge(self, provider_charge_id: str) -> GatewayCharge:
        """Cancel a pending charge; a charge cancelled (or expired) already comes back as it
        is, so a retried cancellation is harmless.

        Raises:
            InvalidStateTransition: it is paid (or refunded).
            GatewayError: the provider failed or could not be reached.
        """
        ...

    def read_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        query: Mapping[str, str] | None = None,
    ) -> list[PaymentNotice]:
        """Verify a webhook call (Asaas ``asaas-access-token``, Mercado Pago ``x-signature``
        over the URL's ``query`` and headers) and read its events.

        Raises:
            InvalidCredentials: the call is not authenticated by this account's secret (nothing
                may change).
            ValidationError: the body is not a webhook this provider sends.
        """
        ...


class PaymentGateways(Protocol):
    """Finds the :class:`PaymentGateway` of a clinic's account (credentials resolved from the
    secret store; clients pooled per account)."""

    async def gateway(self, clinic_id: str, config: PaymentGatewayConfig) -> PaymentGateway:
        """The gateway for the clinic's account ``config``.

        Raises:
            GatewayError: the credentials could not be read (``retryable`` True) or are gone
                (False).
        """
        ...
