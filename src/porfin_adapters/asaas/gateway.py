"""Asaas as a :class:`~porfin_core.ports.payments.PaymentGateway` (API v3).

How a charge is made (``create_charge``):

1. the payment whose ``externalReference`` is Porfin's charge id is looked up
   (``GET /payments?externalReference=<charge_id>``); if Asaas has one (not deleted), it is
   the answer: a retry after a lost answer, or after the process died between "Asaas created
   it" and "Porfin stored it", never creates a second payment. Asaas documents no
   idempotency header, so the external reference is the idempotency key;
2. otherwise the customer is found by its ``externalReference`` (the payer key
   ``porfin:<clinic_id>:<CPF/CNPJ>``) or created (``POST /customers``, same lookup first, so a
   retried customer creation is idempotent too), then the payment is created
   (``POST /payments`` with ``externalReference`` = the charge id);
3. for PIX, the QR code is read (``GET /payments/{id}/pixQrCode``: ``payload`` is the
   "copia e cola", ``encodedImage`` the PNG in base64, ``expirationDate``).

Two concurrent calls for the same charge could both miss the lookup; Porfin's use cases create
a charge once and retry sequentially (jobs), which this approach covers.

A **payment link** (``ChargeRequest.as_link``) is a page where the patient chooses PIX,
boleto or card (``POST /paymentLinks``, ``billingType: UNDEFINED``, ``chargeType`` DETACHED,
or INSTALLMENT with ``maxInstallmentCount`` when instalments are offered). It is looked up
first by ``externalReference`` (``GET /paymentLinks?externalReference=<charge_id>``, a filter
of the official API) like a payment. Its Porfin id is ``link:<Asaas link id>`` so it cannot be
taken for a payment's; its state is that of the payments made through it
(``GET /payments?paymentLink=<id>``, each payment carrying ``paymentLink``), and a webhook
about one of those payments is reported for ``link:<paymentLink>``.

Webhooks are authenticated by the token configured in Asaas, sent in the
``asaas-access-token`` header (compared in constant time; no token configured = every call
refused).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from porfin_adapters.asaas.client import SANDBOX_URL, AsaasClient, decode
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import (
    BillingType,
    ChargeRequest,
    GatewayCharge,
    GatewayChargeStatus,
    PaymentNotice,
)

ASAAS_ZONE = ZoneInfo("America/Sao_Paulo")
"""Asaas writes times without a zone, in Brasília time."""
WEBHOOK_HEADER = "asaas-access-token"
MAX_DESCRIPTION = 500

BILLING_TYPES: Mapping[BillingType, str] = {
    BillingType.PIX: "PIX",
    BillingType.BOLETO: "BOLETO",
    BillingType.CREDIT_CARD: "CREDIT_CARD",
}

STATUSES: Mapping[str, GatewayChargeStatus] = {
    "PENDING": GatewayChargeStatus.PENDING,
    "AWAITING_RISK_ANALYSIS": GatewayChargeStatus.PENDING,
    "RECEIVED": GatewayChargeStatus.PAID,
    "CONFIRMED": GatewayChargeStatus.PAID,
    "RECEIVED_IN_CASH": GatewayChargeStatus.PAID,
    "DUNNING_RECEIVED": GatewayChargeStatus.PAID,
    # The money came in; a refund or a chargeback is asked but not done yet.
    "REFUND_REQUESTED": GatewayChargeStatus.PAID,
    "REFUND_IN_PROGRESS": GatewayChargeStatus.PAID,
    "CHARGEBACK_REQUESTED": GatewayChargeStatus.PAID,
    "CHARGEBACK_DISPUTE": GatewayChargeStatus.PAID,
    "AWAITING_CHARGEBACK_REVERSAL": GatewayChargeStatus.PAID,
    "OVERDUE": GatewayChargeStatus.EXPIRED,
    "DUNNING_REQUESTED": GatewayChargeStatus.EXPIRED,
    "REFUNDED": GatewayChargeStatus.REFUNDED,
}
"""Asaas payment statuses in Porfin's words (unknown ones read as pending); a payment with
``deleted: true`` is cancelled whatever its status."""

EVENTS: Mapping[str, GatewayChargeStatus] = {
    "PAYMENT_RECEIVED": GatewayChargeStatus.PAID,
    "PAYMENT_CONFIRMED": GatewayChargeStatus.PAID,
    "PAYMENT_OVERDUE": GatewayChargeStatus.EXPIRED,
    "PAYMENT_DELETED": GatewayChargeStatus.CANCELLED,
    "PAYMENT_REFUNDED": GatewayChargeStatus.REFUNDED,
}
"""Webhook events that state a status; any other event reports none (status None)."""

LINK_PREFIX = "link:"
"""Porfin's id of an Asaas payment link is this and the link's id (``link:<id>``)."""
LINK_DUE_DAYS = 3
"""Business days a boleto made through a payment link stays payable (``dueDateLimitDays``)."""

_DOCUMENT = re.compile(r"^(\d{11}|[0-9A-Z]{12}\d{2})$")


def to_cents(value: Any) -> int:
    """Asaas reais (a JSON number read as Decimal or int) as integer centavos."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValidationError("Asaas sent an amount that is not a number", value=str(value))
    cents = (Decimal(value) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(cents)


def to_reais(cents: int) -> Decimal:
    """Centavos as the decimal reais Asaas expects (``10090`` -> ``100.90``)."""
    return Decimal(cents).scaleb(-2)


def parse_time(value: Any) -> datetime | None:
    """An Asaas time (``2024-06-12 16:45:03``, Brasília), aware; None when absent or a bare
    day (a day says nothing of the moment)."""
    if not isinstance(value, str) or len(value) <= 10:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=ASAAS_ZONE)


def status_of(payment: Mapping[str, Any]) -> GatewayChargeStatus:
    """The Porfin status of an Asaas payment object."""
    if payment.get("deleted") is True:
        return GatewayChargeStatus.CANCELLED
    return STATUSES.get(str(payment.get("status") or ""), GatewayChargeStatus.PENDING)


def charge_of(payment: Mapping[str, Any], qr: Mapping[str, Any] | None = None) -> GatewayCharge:
    """A :class:`GatewayCharge` from an Asaas payment (and its PIX QR code, when read)."""
    if not payment.get("id"):
        reason = "Asaas answered a payment without an id"
        raise GatewayError(
            reason, retryable=False, provider="asaas", provider_code="bad_response", reason=reason
        )
    status = status_of(payment)
    amount = to_cents(payment.get("value", 0))
    paid = status in (GatewayChargeStatus.PAID, GatewayChargeStatus.REFUNDED)
    return GatewayCharge(
        provider_charge_id=str(payment["id"]),
        status=status,
        amount_cents=amount,
        paid_cents=amount if paid else 0,
        pix_copy_paste=str(qr["payload"]) if qr and qr.get("payload") else None,
        pix_qr_png_base64=str(qr["encodedImage"]) if qr and qr.get("encodedImage") else None,
        payment_url=payment.get("invoiceUrl") or payment.get("bankSlipUrl") or None,
        expires_at=parse_time(qr.get("expirationDate")) if qr else None,
        paid_at=parse_time(payment.get("confirmedDate") or payment.get("paymentDate")),
    )


def link_charge_of(link: Mapping[str, Any], payments: Sequence[Mapping[str, Any]]) -> GatewayCharge:
    """A :class:`GatewayCharge` from an Asaas payment link and the payments made through it.

    Paid: the paid payments' values add up to the link's value (one payment, or every card
    instalment; boleto instalments paid one by one are partial payments). Refunded: every
    payment that came in went back. Cancelled: the link is deleted and nothing came in.
    """
    if not link.get("id"):
        reason = "Asaas answered a payment link without an id"
        raise GatewayError(
            reason, retryable=False, provider="asaas", provider_code="bad_response", reason=reason
        )
    amount = to_cents(link.get("value") or 0)
    statuses = [(status_of(p), p) for p in payments if p.get("deleted") is not True]
    came_in = [
        (s, p) for s, p in statuses if s in (GatewayChargeStatus.PAID, GatewayChargeStatus.REFUNDED)
    ]
    paid_cents = sum(to_cents(p.get("value", 0)) for _, p in came_in)
    if came_in and all(s is GatewayChargeStatus.REFUNDED for s, _ in came_in):
        status = GatewayChargeStatus.REFUNDED
    elif came_in and paid_cents >= amount:
        status = GatewayChargeStatus.PAID
    elif link.get("deleted") is True and not came_in:
        status = GatewayChargeStatus.CANCELLED
    else:
        status = GatewayChargeStatus.PENDING
    times = [
        t
        for _, p in came_in
        if (t := parse_time(p.get("confirmedDate") or p.get("paymentDate"))) is not None
    ]
    return GatewayCharge(
        provider_charge_id=LINK_PREFIX + str(link["id"]),
        status=status,
        amount_cents=amount,
        paid_cents=paid_cents,
        payment_url=link.get("url") or None,
        paid_at=max(times) if times and status is GatewayChargeStatus.PAID else None,
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    for key, found in headers.items():
        if key.lower() == name:
            return found
    return None


def _phone(e164: str | None) -> str | None:
    """A Brazilian E.164 number as Asaas's ``mobilePhone`` (DDD + number); None otherwise."""
    if e164 and e164.startswith("+55"):
        return e164[3:]
    return None


@attrs.define
class AsaasGateway:
    """One clinic's Asaas account as a payment gateway.

    Args:
        api_key: The account's API key (``access_token`` header).
        webhook_token: The token configured on the account's webhook (Asaas sends it in
            ``asaas-access-token``). Empty: every webhook call is refused.
        base_url: ``https://api.asaas.com/v3`` (production), ``https://api-sandbox.asaas.com/v3``
            (sandbox, the default), or a local fake.
        timeout: Seconds for connecting and for each read.
    """

    api_key: str = attrs.field(repr=False)
    webhook_token: str = attrs.field(repr=False, default="")
    base_url: str = SANDBOX_URL
    timeout: float = 20.0
    client: AsaasClient = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.client = AsaasClient(self.api_key, base_url=self.base_url, timeout=self.timeout)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self.client.aclose()

    async def verify_credentials(self) -> dict[str, Any]:
        """Ask Asaas for one customer: the cheapest call that proves the API key works.

        Raises:
            GatewayError: the key was refused (401), or Asaas failed or did not answer.
        """
        return await self.client.call(
            "GET", "customers", operation="verify_credentials", params={"limit": "1"}
        )

    # -- charges ------------------------------------------------------------------------

    async def create_charge(self, request: ChargeRequest) -> GatewayCharge:
        """Create the payment (idempotent on ``request.charge_id``, see the module's doc) and
        read its PIX QR code.

        Raises:
            ValidationError: no or malformed CPF/CNPJ, a non-positive amount, or Asaas refused
                the data.
            GatewayError: Asaas failed or could not be reached.
        """
        if request.amount_cents <= 0:
            raise ValidationError(
                "the amount must be positive", field="amount_cents", value=request.amount_cents
            )
        if request.as_link:
            return await self._create_link(request)
        payment = await self._find_payment(request.charge_id)
        if payment is None:
            customer_id = await self._customer_for(request)
            payment = await self.client.call(
                "POST",
                "payments",
                operation="create_payment",
                json={
                    "customer": customer_id,
                    "billingType": BILLING_TYPES[request.billing_type],
                    "value": to_reais(request.amount_cents),
                    "dueDate": request.due_date.isoformat(),
                    "description": request.description[:MAX_DESCRIPTION],
                    "externalReference": request.charge_id,
                },
            )
        qr = None
        if payment.get("billingType") == "PIX" and status_of(payment) in (
            GatewayChargeStatus.PENDING,
            GatewayChargeStatus.EXPIRED,
        ):
            qr = await self.client.call(
                "GET", f"payments/{payment['id']}/pixQrCode", operation="pix_qr_code"
            )
        return charge_of(payment, qr)

    async def get_charge(self, provider_charge_id: str) -> GatewayCharge:
        """The payment as Asaas holds it (without the QR code: read it at creation).

        A payment link (``link:<id>``) is read with the payments made through it.

        Raises:
            NotFound: Asaas does not know it.
            GatewayError: Asaas failed or could not be reached.
        """
        if provider_charge_id.startswith(LINK_PREFIX):
            link_id = provider_charge_id.removeprefix(LINK_PREFIX)
            return link_charge_of(await self._link(link_id), await self._link_payments(link_id))
        return charge_of(await self._payment(provider_charge_id))

    async def cancel_charge(self, provider_charge_id: str) -> GatewayCharge:
        """Delete the pending payment (``DELETE /payments/{id}``); cancelling a cancelled
        payment answers it as it is.

        A payment link (``link:<id>``) is deleted (``DELETE /paymentLinks/{id}``) after the
        pending payments made through it (a boleto already issued), so nobody can pay it.

        Raises:
            InvalidStateTransition: it is paid or refunded (Asaas does not delete those).
            NotFound: Asaas does not know it.
            GatewayError: Asaas failed or could not be reached.
        """
        if provider_charge_id.startswith(LINK_PREFIX):
            return await self._cancel_link(provider_charge_id.removeprefix(LINK_PREFIX))
        charge = charge_of(await self._payment(provider_charge_id))
        if charge.status is GatewayChargeStatus.CANCELLED:
            return charge
        if charge.status in (GatewayChargeStatus.PAID, GatewayChargeStatus.REFUNDED):
            raise InvalidStateTransition(
                f"an Asaas payment that is {charge.status} cannot be cancelled",
                provider_charge_id=provider_charge_id,
                status=str(charge.status),
            )
        try:
            await self.client.call(
                "DELETE", f"payments/{provider_charge_id}", operation="delete_payment"
            )
        except ValidationError as exc:
            raise InvalidStateTransition(
                f"Asaas refused to cancel the payment: {exc.fields.get('reason', exc.message)}",
                provider_charge_id=provider_charge_id,
                **{k: v for k, v in exc.fields.items() if k != "provider_charge_id"},
            ) from exc
        return attrs.evolve(charge, status=GatewayChargeStatus.CANCELLED)

    # -- webhooks -----------------------------------------------------------------------

    def read_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        query: Mapping[str, str] | None = None,
    ) -> list[PaymentNotice]:
        """Check ``asaas-access-token`` and read the event (one per call; events that are not
        about a payment give no notice). ``query`` plays no part: Asaas signs nothing.

        Raises:
            InvalidCredentials: the token is missing or wrong, or none is configured.
            ValidationError: the body is not an Asaas event.
        """
        got = _header(headers, WEBHOOK_HEADER) or ""
        if not self.webhook_token or not hmac.compare_digest(
            got.encode(), self.webhook_token.encode()
        ):
            raise InvalidCredentials(
                "the Asaas webhook call does not carry this account's token",
                provider="asaas",
                header=WEBHOOK_HEADER,
            )
        try:
            event = decode(body)
        except ValueError as exc:
            raise ValidationError("the Asaas webhook body is not JSON") from exc
        if not isinstance(event, dict) or not isinstance(event.get("event"), str):
            raise ValidationError("the Asaas webhook body is not an event")
        payment = event.get("payment")
        if not isinstance(payment, dict) or not payment.get("id"):
            return []
        raw_type = event["event"]
        status = EVENTS.get(raw_type)
        event_id = event.get("id")
        if not isinstance(event_id, str) or not event_id:
            # Older webhooks may carry no id: the same delivery has the same bytes.
            event_id = "sha256:" + hashlib.sha256(body).hexdigest()
        paid_cents = None
        if status is GatewayChargeStatus.PAID and payment.get("value") is not None:
            paid_cents = to_cents(payment["value"])
        reference = payment.get("externalReference")
        provider_charge_id = str(payment["id"])
        link = payment.get("paymentLink")
        if isinstance(link, str) and link:
            # One payment of a link says little of the link as a whole (an instalment, a
            # second payer): report no status, so the link is read with all its payments.
            provider_charge_id = LINK_PREFIX + link
            status = paid_cents = None
        return [
            PaymentNotice(
                event_id=event_id,
                provider_charge_id=provider_charge_id,
                charge_id=str(reference) if reference else None,
                status=status,
                paid_cents=paid_cents,
                occurred_at=parse_time(event.get("dateCreated")),
                raw_type=raw_type,
            )
        ]

    # -- helpers ------------------------------------------------------------------------

    async def _payment(self, provider_charge_id: str) -> dict[str, Any]:
        if not provider_charge_id or "/" in provider_charge_id:
            raise NotFound("no such Asaas payment", provider_charge_id=provider_charge_id)
        return await self.client.call(
            "GET", f"payments/{provider_charge_id}", operation="get_payment"
        )

    async def _create_link(self, request: ChargeRequest) -> GatewayCharge:
        link = await self._find_link(request.charge_id)
        if link is None:
            installments = request.max_installments > 1
            body: dict[str, Any] = {
                "name": request.description[:MAX_DESCRIPTION],
                "description": request.description[:MAX_DESCRIPTION],
                "value": to_reais(request.amount_cents),
                "billingType": "UNDEFINED",
                "chargeType": "INSTALLMENT" if installments else "DETACHED",
                "endDate": request.due_date.isoformat(),
                "dueDateLimitDays": LINK_DUE_DAYS,
                "maxInstallmentCount": request.max_installments,
                "externalReference": request.charge_id,
                # Porfin tells the patient in the WhatsApp conversation.
                "notificationEnabled": False,
            }
            link = await self.client.call(
                "POST", "paymentLinks", operation="create_payment_link", json=body
            )
            return link_charge_of(link, [])
        return link_charge_of(link, await self._link_payments(str(link["id"])))

    async def _cancel_link(self, link_id: str) -> GatewayCharge:
        link = await self._link(link_id)
        payments = await self._link_payments(link_id)
        charge = link_charge_of(link, payments)
        if charge.status is GatewayChargeStatus.CANCELLED:
            return charge
        if charge.status in (GatewayChargeStatus.PAID, GatewayChargeStatus.REFUNDED):
            raise InvalidStateTransition(
                f"an Asaas payment link that is {charge.status} cannot be cancelled",
                provider_charge_id=charge.provider_charge_id,
                status=str(charge.status),
            )
        for payment in payments:
            if payment.get("deleted") is True or status_of(payment) not in (
                GatewayChargeStatus.PENDING,
                GatewayChargeStatus.EXPIRED,
            ):
                continue
            try:
                await self.client.call(
                    "DELETE", f"payments/{payment['id']}", operation="delete_payment"
                )
            except ValidationError as exc:
                raise InvalidStateTransition(
                    "Asaas refused to cancel a payment made through the link: "
                    f"{exc.fields.get('reason', exc.message)}",
                    provider_charge_id=charge.provider_charge_id,
                ) from exc
        if link.get("deleted") is not True:
            await self.client.call(
                "DELETE", f"paymentLinks/{link_id}", operation="delete_payment_link"
            )
        return attrs.evolve(charge, status=GatewayChargeStatus.CANCELLED)

    async def _link(self, link_id: str) -> dict[str, Any]:
        if not link_id or "/" in link_id:
            raise NotFound("no such Asaas payment link", provider_charge_id=LINK_PREFIX + link_id)
        return await self.client.call(
            "GET", f"paymentLinks/{link_id}", operation="get_payment_link"
        )

    async def _find_link(self, charge_id: str) -> dict[str, Any] | None:
        found = await self.client.call(
            "GET",
            "paymentLinks",
            operation="find_payment_link",
            params={"externalReference": charge_id},
        )
        for link in found.get("data") or []:
            if (
                isinstance(link, dict)
                and link.get("externalReference") == charge_id
                and link.get("deleted") is not True
            ):
                return link
        return None

    async def _link_payments(self, link_id: str) -> list[dict[str, Any]]:
        """Every payment made through the link (all pages; filtered again here, the
        ``paymentLink`` filter being one the official SDK does not list)."""
        payments: list[dict[str, Any]] = []
        offset = 0
        while True:
            page = await self.client.call(
                "GET",
                "payments",
                operation="link_payments",
                params={"paymentLink": link_id, "offset": str(offset), "limit": "100"},
            )
            data = [p for p in page.get("data") or [] if isinstance(p, dict)]
            payments.extend(p for p in data if p.get("paymentLink") == link_id)
            if not page.get("hasMore") or not data:
                return payments
            offset += len(data)

    async def _find_payment(self, charge_id: str) -> dict[str, Any] | None:
        found = await self.client.call(
            "GET",
            "payments",
            operation="find_payment",
            params={"externalReference": charge_id},
        )
        for payment in found.get("data") or []:
            if (
                isinstance(payment, dict)
                and payment.get("externalReference") == charge_id
                and payment.get("deleted") is not True
            ):
                return payment
        return None

    async def _customer_for(self, request: ChargeRequest) -> str:
        document = "".join(c for c in (request.payer_document or "") if c.isalnum()).upper()
        if not document:
            raise ValidationError(
                "Asaas needs the payer's CPF or CNPJ to charge them: ask the patient for it",
                field="payer_document",
                provider="asaas",
            )
        if not _DOCUMENT.match(document):
            raise ValidationError(
                "the payer's document is not a CPF (11 digits) or a CNPJ (14 characters)",
                field="payer_document",
                provider="asaas",
            )
        key = f"porfin:{request.clinic_id}:{document}"
        found = await self.client.call(
            "GET", "customers", operation="find_customer", params={"externalReference": key}
        )
        for customer in found.get("data") or []:
            if isinstance(customer, dict) and customer.get("deleted") is not True:
                return str(customer["id"])
        body: dict[str, Any] = {
            "name": request.payer_name,
            "cpfCnpj": document,
            "externalReference": key,
            # Porfin tells the patient in the WhatsApp conversation; Asaas's own e-mails and
            # SMS would say it twice.
            "notificationDisabled": True,
        }
        if request.payer_email:
            body["email"] = request.payer_email
        phone = _phone(request.payer_phone)
        if phone:
            body["mobilePhone"] = phone
        created = await self.client.call(
            "POST", "customers", operation="create_customer", json=body
        )
        return str(created["id"])
