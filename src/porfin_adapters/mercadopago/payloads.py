"""Porfin's charges as Mercado Pago ``/v1/payments`` JSON, and back.

Shapes from the reference (§4.2) and ``../shared/fixtures/mercadopago``. Mercado Pago speaks
reais as JSON numbers (``100.5``); Porfin speaks integer centavos. Both directions go through
:class:`~decimal.Decimal` and never through ``float``: answers are parsed with
``parse_float=Decimal`` and the request's amount is written as the decimal's own digits.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from porfin_core.errors import ValidationError
from porfin_core.ports.payments import (
    BillingType,
    ChargeRequest,
    GatewayCharge,
    GatewayChargeStatus,
)

DEFAULT_TIME_ZONE = "America/Sao_Paulo"
CENT = Decimal("0.01")

STATUSES: dict[str, GatewayChargeStatus] = {
    "pending": GatewayChargeStatus.PENDING,
    "in_process": GatewayChargeStatus.PENDING,
    "authorized": GatewayChargeStatus.PENDING,
    "approved": GatewayChargeStatus.PAID,
    # A disputed payment was paid; the dispute is the clinic's to follow at Mercado Pago.
    "in_mediation": GatewayChargeStatus.PAID,
    "cancelled": GatewayChargeStatus.CANCELLED,
    # A rejected PIX payment cannot be paid any more: for Porfin the charge is over.
    "rejected": GatewayChargeStatus.CANCELLED,
    "refunded": GatewayChargeStatus.REFUNDED,
    "charged_back": GatewayChargeStatus.REFUNDED,
}
"""Mercado Pago's ``status`` -> Porfin's (``cancelled`` + ``status_detail: expired`` is
:attr:`GatewayChargeStatus.EXPIRED`, see :func:`charge_status`)."""


def reais(amount_cents: int) -> Decimal:
    """``amount_cents`` as reais with two places (``10050`` -> ``Decimal('100.50')``)."""
    return Decimal(amount_cents).scaleb(-2)


def cents(value: Any, field: str) -> int:
    """A Mercado Pago amount (reais, parsed as Decimal or int) as integer centavos.

    Raises:
        ValidationError: it is not a number.
    """
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise ValidationError(f"Mercado Pago sent a {field} that is not a number", field=field)
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise ValidationError(
            f"Mercado Pago sent a {field} that is not a number", field=field
        ) from None
    if not amount.is_finite():
        raise ValidationError(f"Mercado Pago sent a {field} that is not a number", field=field)
    return int((amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100).to_integral_value())


def expiration(due_date: date, zone: str = DEFAULT_TIME_ZONE) -> str:
    """The end of ``due_date`` in ``zone`` in Mercado Pago's format
    (``2026-12-01T23:59:59.000-03:00``)."""
    moment = datetime.combine(due_date, time(23, 59, 59), tzinfo=ZoneInfo(zone))
    return moment.isoformat(timespec="milliseconds")


def _names(full_name: str) -> tuple[str, str]:
    parts = full_name.split()
    if not parts:
        return "", ""
    return parts[0], " ".join(parts[1:])


def _identification(document: str) -> dict[str, str] | None:
    digits = re.sub(r"[.\-/\s]", "", document).upper()
    if re.fullmatch(r"\d{11}", digits):
        return {"type": "CPF", "number": digits}
    if re.fullmatch(r"[0-9A-Z]{12}\d{2}", digits):
        return {"type": "CNPJ", "number": digits}
    return None


def _phone(e164: str) -> dict[str, str] | None:
    match = re.fullmatch(r"\+55(\d{2})(\d{8,9})", e164)
    if match is None:
        return None
    return {"area_code": match.group(1), "number": match.group(2)}


def payment_body(request: ChargeRequest, zone: str = DEFAULT_TIME_ZONE) -> dict[str, Any]:
    """The ``POST /v1/payments`` body for a PIX charge, with ``transaction_amount`` as a
    :class:`~decimal.Decimal` (write it with :func:`dumps`).

    Raises:
        ValidationError: not PIX, no payer e-mail, or an amount that is not positive.
    """
    if request.billing_type is not BillingType.PIX:
        raise ValidationError(
            "Mercado Pago charges are PIX only in Porfin",
            field="billing_type",
            billing_type=request.billing_type.value,
        )
    if request.amount_cents <= 0:
        raise ValidationError("a charge's amount must be positive", field="amount_cents")
    email = (request.payer_email or "").strip()
    if not email:
        raise ValidationError(
            "Mercado Pago needs the payer's e-mail to create a PIX charge: ask the patient for one",
            field="payer_email",
        )
    first, last = _names(request.payer_name)
    payer: dict[str, Any] = {"email": email}
    if first:
        payer["first_name"] = first
    if last:
        payer["last_name"] = last
    identification = _identification(request.payer_document or "")
    if identification is not None:
        payer["identification"] = identification
    phone = _phone(request.payer_phone or "")
    if phone is not None:
        payer["phone"] = phone
    return {
        "transaction_amount": reais(request.amount_cents),
        "description": request.description,
        "payment_method_id": "pix",
        "external_reference": request.charge_id,
        "date_of_expiration": expiration(request.due_date, zone),
        "metadata": {"clinic_id": request.clinic_id, "charge_id": request.charge_id},
        "payer": payer,
    }


def dumps(body: dict[str, Any]) -> bytes:
    """``body`` as JSON, with every :class:`~decimal.Decimal` written as a JSON number of its
    exact digits (``Decimal('0.30')`` -> ``0.30``), never through ``float``."""
    placeholders: dict[str, str] = {}

    def mark(value: object) -> Any:
        if isinstance(value, Decimal):
            if not value.is_finite():
                raise ValueError("an amount must be a finite number")
            token = f"__porfin_decimal_{len(placeholders)}__"
            placeholders[f'"{token}"'] = format(value, "f")
            return token
        raise TypeError(f"{type(value).__name__} is not JSON serializable")

    text = json.dumps(body, default=mark, ensure_ascii=False, separators=(",", ":"))
    # A quoted token cannot occur inside a JSON string (its quotes would be escaped), so only
    # the placeholders themselves are replaced.
    for token, digits in placeholders.items():
        text = text.replace(token, digits, 1)
    return text.encode("utf-8")


def loads(raw: bytes) -> Any:
    """Mercado Pago's JSON, with every non-integer number as a :class:`~decimal.Decimal`."""
    return json.loads(raw, parse_float=Decimal)


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def charge_status(status: Any, detail: Any) -> GatewayChargeStatus:
    """Mercado Pago's ``status`` (and ``status_detail``) in Porfin's words.

    Raises:
        ValidationError: a status Mercado Pago does not document.
    """
    if status == "cancelled" and detail == "expired":
        return GatewayChargeStatus.EXPIRED
    if not isinstance(status, str) or status not in STATUSES:
        raise ValidationError(
            "Mercado Pago sent a payment status Porfin does not know",
            field="status",
            status=str(status),
        )
    return STATUSES[status]


def gateway_charge(payment: Any) -> GatewayCharge:
    """A ``/v1/payments`` answer as a :class:`GatewayCharge`.

    Raises:
        ValidationError: the answer lacks the payment's id, status or amount.
    """
    if not isinstance(payment, dict) or payment.get("id") in (None, ""):
        raise ValidationError("Mercado Pago answered something that is not a payment")
    status = charge_status(payment.get("status"), payment.get("status_detail"))
    amount = cents(payment.get("transaction_amount"), "transaction_amount")
    details = payment.get("transaction_details")
    paid_raw = details.get("total_paid_amount") if isinstance(details, dict) else None
    paid = cents(paid_raw, "total_paid_amount") if paid_raw is not None else 0
    if status is GatewayChargeStatus.PAID and paid == 0:
        # Some answers leave total_paid_amount at 0 on approved PIX payments; approved means
        # the whole amount arrived.
        paid = amount
    point = payment.get("point_of_interaction")
    data = point.get("transaction_data") if isinstance(point, dict) else None
    data = data if isinstance(data, dict) else {}

    def text(value: Any) -> str | None:
        return value if isinstance(value, str) and value else None

    return GatewayCharge(
        provider_charge_id=str(payment["id"]),
        status=status,
        amount_cents=amount,
        paid_cents=paid,
        pix_copy_paste=text(data.get("qr_code")),
        pix_qr_png_base64=text(data.get("qr_code_base64")),
        payment_url=text(data.get("ticket_url")),
        expires_at=_datetime(payment.get("date_of_expiration")),
        paid_at=_datetime(payment.get("date_approved")),
    )
