"""Request and response bodies of charges (cobranças) and their money log (separate from the
domain entities, as in :mod:`porfin_http.schemas`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Literal

import msgspec

from porfin_core.domain.charges import Charge, ChargeChange, Transaction
from porfin_core.use_cases.get_charge import ChargeDetails
from porfin_http.schemas import AwareDatetime

ChargeStatusName = Literal["pending", "paid", "expired", "cancelled", "refunded"]
Cents = Annotated[
    int, msgspec.Meta(ge=1, le=99_999_999_999, description="Centavos (BRL).", examples=[15000])
]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]


class ChargeChangeOut(msgspec.Struct):
    """One entry of a charge's history."""

    at: datetime
    action: Literal["created", "opened", "payment", "paid", "cancelled", "expired", "refunded"]
    status: ChargeStatusName
    by: str | None
    amount_cents: int | None
    reason: str | None

    @classmethod
    def of(cls, change: ChargeChange) -> ChargeChangeOut:
        """Present ``change``."""
        return cls(
            at=change.at.astimezone(UTC),
            action=change.action,  # type: ignore[arg-type]
            status=change.status.value,  # type: ignore[arg-type]
            by=change.by,
            amount_cents=change.amount_cents,
            reason=change.reason,
        )


class TransactionOut(msgspec.Struct):
    """One money movement of the append-only log."""

    id: str
    kind: Literal["payment", "refund"]
    amount_cents: int
    at: datetime
    by: str
    source: str
    reference: str | None

    @classmethod
    def of(cls, transaction: Transaction) -> TransactionOut:
        """Present ``transaction``."""
        return cls(
            id=transaction.id,
            kind=transaction.kind.value,  # type: ignore[arg-type]
            amount_cents=transaction.amount_cents,
            at=transaction.at.astimezone(UTC),
            by=transaction.by,
            source=transaction.source,
            reference=transaction.reference,
        )


class ChargeOut(msgspec.Struct):
    """A charge (instants in UTC). `br_code` is the PIX "copia e cola" text; `transactions`
    come with a single charge only (absent from lists). A gateway's charge (`provider`
    `asaas` or `mercadopago`) has `provider_charge_id` and `br_code` null until the gateway
    created it (Porfin keeps trying and delivers it then). A payment link (`payment_link`
    true, Asaas) has no `br_code`: the patient pays on `payment_url` (PIX, boleto or card in
    up to `max_installments` instalments), and `provider_charge_id` is `link:<id>`."""

    id: str
    customer_id: str
    amount_cents: Annotated[int, msgspec.Meta(description="Centavos (BRL).")]
    paid_cents: int
    description: str
    status: ChargeStatusName
    provider: str
    provider_charge_id: str | None
    payment_url: str | None
    payment_link: bool
    max_installments: int
    br_code: str | None
    txid: str | None
    due_date: date | None
    expires_at: datetime | None
    appointment_id: str | None
    chat_id: str | None
    paid_at: datetime | None
    paid_by: str | None
    created_at: datetime
    history: list[ChargeChangeOut]
    transactions: list[TransactionOut] | msgspec.UnsetType = msgspec.UNSET

    @classmethod
    def of(cls, charge: Charge, transactions: list[Transaction] | None = None) -> ChargeOut:
        """Present ``charge`` (with its transactions when given)."""
        return cls(
            id=charge.id,
            customer_id=charge.customer_id,
            amount_cents=charge.amount_cents,
            paid_cents=charge.paid_cents,
            description=charge.description,
            status=charge.status.value,  # type: ignore[arg-type]
            provider=charge.provider,
            provider_charge_id=charge.provider_charge_id,
            payment_url=charge.payment_url,
            payment_link=charge.as_link,
            max_installments=charge.max_installments,
            br_code=charge.br_code,
            txid=charge.txid,
            due_date=charge.due_date,
            expires_at=None if charge.expires_at is None else charge.expires_at.astimezone(UTC),
            appointment_id=charge.appointment_id,
            chat_id=charge.chat_id,
            paid_at=None if charge.paid_at is None else charge.paid_at.astimezone(UTC),
            paid_by=charge.paid_by,
            created_at=charge.created_at.astimezone(UTC),
            history=[ChargeChangeOut.of(c) for c in charge.history],
            transactions=msgspec.UNSET
            if transactions is None
            else [TransactionOut.of(t) for t in transactions],
        )

    @classmethod
    def detailed(cls, details: ChargeDetails) -> ChargeOut:
        """Present a charge with its transactions."""
        return cls.of(details.charge, details.transactions)


class ChargeIn(msgspec.Struct, forbid_unknown_fields=True):
    """A charge to issue: `amount_cents` (centavos, at least 1), `description` (1-140
    characters, shown to the patient), optional `due_date`, `expires_at` (in the future),
    `appointment_id` (the patient's appointment it secures) and `chat_id` (where to send
    it; default: the patient's most recent chat). `deliver`: false only issues it.
    Through a gateway: `payer_document` (CPF/CNPJ, Asaas) or `payer_email` (Mercado
    Pago). `payment_link` (Asaas only): send a payment page where the patient chooses PIX,
    boleto or card (no payer data needed), with up to `max_installments` card instalments
    (1-12; more than 1 only with a link)."""

    customer_id: Id
    amount_cents: Cents
    description: Annotated[str, msgspec.Meta(max_length=400)]
    due_date: date | None = None
    expires_at: AwareDatetime | None = None
    appointment_id: Id | None = None
    chat_id: Id | None = None
    deliver: bool = True
    payer_document: Annotated[str, msgspec.Meta(max_length=20)] | None = None
    payer_email: Annotated[str, msgspec.Meta(max_length=254)] | None = None
    payment_link: bool = False
    max_installments: Annotated[int, msgspec.Meta(ge=1, le=12)] = 1


class MarkPaidIn(msgspec.Struct, forbid_unknown_fields=True):
    """A payment received: `amount_cents` (default: everything still due; less records a
    partial payment), `paid_at` (default: now; never in the future), `reference` (e.g. the
    PIX end-to-end id)."""

    amount_cents: Cents | None = None
    paid_at: AwareDatetime | None = None
    reference: Annotated[str, msgspec.Meta(max_length=100)] | None = None


class ChargeCancelIn(msgspec.Struct, forbid_unknown_fields=True):
    """Why the charge is cancelled (up to 200 characters; may be empty)."""

    reason: Annotated[str, msgspec.Meta(max_length=400)] = ""


class RefundIn(msgspec.Struct, forbid_unknown_fields=True):
    """A refund made: its `reference` (the PIX devolução's end-to-end id), if known."""

    reference: Annotated[str, msgspec.Meta(max_length=400)] | None = None
