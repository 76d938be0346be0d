"""Charges (cobranças) a clinic asks its patients to pay, and the append-only money log.

A charge starts ``pending``; payments add up in ``paid_cents`` (a partial payment is recorded
and leaves it pending) and the charge is ``paid`` once they reach ``amount_cents``. A pending
charge may be ``cancelled`` by staff or ``expired`` past its ``expires_at``; a paid one may
later be ``refunded``. Money is integer centavos (BRL) everywhere.

With the embedded provider (no gateway) the charge carries a static PIX BR Code built from
the clinic's key; nobody tells Porfin about the payment, so staff confirm it
(:meth:`Charge.mark_paid`) and the confirmation records who and when.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import UTC, date, datetime
from typing import Any

import attrs

from porfin_core.domain.events import (
    ChargeCancelled,
    ChargeCreated,
    ChargeExpired,
    ChargeOpened,
    ChargePaid,
    ChargeRefunded,
    EventRecorder,
)
from porfin_core.errors import InvalidStateTransition, ValidationError

EMBEDDED = "embedded"
"""The provider of a charge no gateway knows about: a static PIX code confirmed by staff."""

MAX_DESCRIPTION = 140
MAX_AMOUNT_CENTS = 99_999_999_999
"""The largest amount a BR Code carries (field 54 is at most 13 characters)."""

MAX_INSTALLMENTS = 12
"""The most card instalments a payment link offers (Porfin's bound, the usual one in Brazil)."""

_TXID_CHARS = re.compile(r"[^A-Za-z0-9]")
MAX_TXID = 25


def txid_for(charge_id: str) -> str:
    """The PIX txid of a charge: its id with anything but ``[A-Za-z0-9]`` dropped, cut to 25
    characters (the BR Code's field 62-05 limit); ``***`` for an id with no such character."""
    return _TXID_CHARS.sub("", charge_id)[:MAX_TXID] or "***"


class ChargeStatus(enum.StrEnum):
    """Where a charge is in its life."""

    PENDING = "pending"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"

    @property
    def final(self) -> bool:
        """True when no payment can be recorded any more."""
        return self is not ChargeStatus.PENDING


class TransactionKind(enum.StrEnum):
    """What a money movement was."""

    PAYMENT = "payment"
    REFUND = "refund"


@attrs.frozen(kw_only=True)
class ChargeChange:
    """One entry of a charge's history.

    Attributes:
        at: When it happened.
        action: ``created``, ``payment``, ``paid``, ``cancelled``, ``expired`` or ``refunded``.
        status: The status after the change.
        by: Who made it (a staff user id, ``system``...), if known.
        amount_cents: The money moved (payments), if any.
        reason: Why (cancellations), if given.
    """

    at: datetime
    action: str
    status: ChargeStatus
    by: str | None = None
    amount_cents: int | None = None
    reason: str | None = None


def _positive_amount(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("amounts are whole centavos", field=attribute.name)
    if not 1 <= value <= MAX_AMOUNT_CENTS:
        raise ValidationError(
            f"amount must be between 1 and {MAX_AMOUNT_CENTS} centavos", field=attribute.name
        )


def check_moment(value: datetime, field: str) -> None:
    """Check that ``value`` is timezone-aware and has a UTC form.

    Raises:
        ValidationError: naive, or out of range once in UTC (``0001-01-01T00:00+01:00``).
    """
    if value.utcoffset() is None:
        raise ValidationError("datetimes must carry their time zone", field=field)
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{field} is out of range", field=field) from None


def _aware(_: object, attribute: attrs.Attribute[Any], value: datetime | None) -> None:
    if value is not None:
        check_moment(value, attribute.name)


def check_description(raw: str) -> str:
    """``raw`` trimmed, inner whitespace made one space.

    Raises:
        ValidationError: blank, longer than 140 characters or holding control characters
            (field ``description``).
    """
    text = " ".join(raw.split())
    if not text:
        raise ValidationError("description is empty", field="description")
    if any(unicodedata.category(ch).startswith("C") for ch in text):
        raise ValidationError("description holds control characters", field="description")
    if len(text) > MAX_DESCRIPTION:
        raise ValidationError(
            f"description is longer than {MAX_DESCRIPTION} characters", field="description"
        )
    return text


@attrs.define(kw_only=True)
class Charge(EventRecorder):
    """A sum a patient is asked to pay.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic that charges.
        customer_id: The patient who pays.
        amount_cents: What is due, in centavos (at least 1).
        description: What it is for, shown to the patient.
        created_at: When it was issued.
        due_date: The day it is due (the clinic's calendar), if any.
        expires_at: When an unpaid charge expires, if ever.
        status: Where it is in its life.
        paid_cents: The sum of the payments recorded (partial payments included).
        paid_at: When it became paid.
        paid_by: Who confirmed the payment that made it paid (staff id, or a gateway).
        appointment_id: The appointment it secures (a deposit), if any.
        chat_id: The chat it was delivered in, if any.
        provider: ``embedded`` (static PIX confirmed by staff) or a gateway's name.
        br_code: The PIX "copia e cola" code, if any.
        txid: The PIX transaction id in the code (field 62-05), if any.
        provider_charge_id: The gateway's id of the charge, once the gateway created it.
        payment_url: The gateway's page where the patient can pay, if it has one.
        payer_document: The payer's CPF or CNPJ, when the gateway needs it (Asaas).
        payer_email: The payer's e-mail, when the gateway needs it (Mercado Pago).
        as_link: Paid through the gateway's payment link (a page where the patient chooses
            PIX, boleto or card) rather than a PIX code.
        max_installments: With ``as_link``, the most card instalments offered (1: at once).
        confirmed_at: When the patient was told the payment arrived (once).
        history: Every change, oldest first.
    """

    id: str
    clinic_id: str
    customer_id: str
    amount_cents: int = attrs.field(validator=_positive_amount)
    description: str = attrs.field(converter=check_description)
    created_at: datetime = attrs.field(validator=_aware)
    due_date: date | None = None
    expires_at: datetime | None = attrs.field(default=None, validator=_aware)
    status: ChargeStatus = ChargeStatus.PENDING
    paid_cents: int = 0
    paid_at: datetime | None = None
    paid_by: str | None = None
    appointment_id: str | None = None
    chat_id: str | None = None
    provider: str = EMBEDDED
    br_code: str | None = None
    txid: str | None = None
    provider_charge_id: str | None = None
    payment_url: str | None = None
    payer_document: str | None = None
    payer_email: str | None = None
    as_link: bool = False
    max_installments: int = 1
    confirmed_at: datetime | None = None
    history: list[ChargeChange] = attrs.field(factory=list)

    @classmethod
    def issue(
        cls,
        *,
        id: str,
        clinic_id: str,
        customer_id: str,
        amount_cents: int,
        description: str,
        now: datetime,
        by: str | None = None,
        due_date: date | None = None,
        expires_at: datetime | None = None,
        appointment_id: str | None = None,
        provider: str = EMBEDDED,
        as_link: bool = False,
        max_installments: int = 1,
    ) -> Charge:
        """A new pending charge, with its ``created`` history entry and ``charge.created``.

        Raises:
            ValidationError: an amount out of range (``amount_cents``), a blank or long
                description (``description``), an expiry not after ``now`` (``expires_at``),
                a payment link without a gateway (``payment_link``), instalments out of
                1 to :data:`MAX_INSTALLMENTS` or without a link (``max_installments``).
        """
        if as_link and provider == EMBEDDED:
            raise ValidationError(
                "payment links are made by a payment gateway: the clinic has none",
                field="payment_link",
            )
        if not 1 <= max_installments <= MAX_INSTALLMENTS:
            raise ValidationError(
                f"max_installments must be 1 to {MAX_INSTALLMENTS}", field="max_installments"
            )
        if max_installments > 1 and not as_link:
            raise ValidationError(
                "instalments are offered by a payment link only", field="max_installments"
            )
        if expires_at is not None:
            check_moment(expires_at, "expires_at")
        if expires_at is not None and expires_at <= now:
            raise ValidationError("the expiry must be in the future", field="expires_at")
        charge = cls(
            id=id,
            clinic_id=clinic_id,
            customer_id=customer_id,
            amount_cents=amount_cents,
            description=description,
            created_at=now,
            due_date=due_date,
            expires_at=expires_at,
            appointment_id=appointment_id,
            provider=provider,
            as_link=as_link,
            max_installments=max_installments,
        )
        charge._change("created", now, by)
        charge.record(
            ChargeCreated(
                clinic_id=clinic_id,
                occurred_at=now,
                charge_id=id,
                customer_id=customer_id,
                amount_cents=amount_cents,
                by=by,
                provider=provider,
                appointment_id=appointment_id,
            )
        )
        return charge

    @property
    def due_cents(self) -> int:
        """What is still to be paid (0 once paid)."""
        return max(self.amount_cents - self.paid_cents, 0)

    def attach_pix(self, br_code: str, txid: str) -> None:
        """Keep the PIX "copia e cola" code the patient pays with."""
        self.br_code = br_code
        self.txid = txid

    @property
    def via_gateway(self) -> bool:
        """True when a payment gateway holds the charge (or is to create it)."""
        return self.provider != EMBEDDED

    @property
    def awaiting_gateway(self) -> bool:
        """True for a gateway's charge the gateway has not created yet (or whose creation
        Porfin has not stored yet): it has no provider id and no PIX code."""
        return self.via_gateway and self.provider_charge_id is None

    def open_at_gateway(
        self,
        provider_charge_id: str,
        *,
        br_code: str | None,
        payment_url: str | None,
        at: datetime,
    ) -> None:
        """Keep what the gateway made of the charge: its id, PIX code and payment page.

        Raises:
            InvalidStateTransition: the charge is no gateway's, or already has an id.
        """
        if not self.awaiting_gateway:
            raise InvalidStateTransition("the charge is not awaiting its gateway", id=self.id)
        self.provider_charge_id = provider_charge_id
        self.br_code = br_code
        self.payment_url = payment_url
        self._change("opened", at, self.provider)
        self.record(
            ChargeOpened(
                clinic_id=self.clinic_id,
                occurred_at=at,
                charge_id=self.id,
                customer_id=self.customer_id,
                amount_cents=self.amount_cents,
                by=self.provider,
                provider=self.provider,
                provider_charge_id=provider_charge_id,
            )
        )

    def converge(
        self, status: str, paid_cents: int, at: datetime
    ) -> list[tuple[TransactionKind, int]]:
        """Bring the charge to the state its gateway reports (``status`` a
        :class:`ChargeStatus` value, ``paid_cents`` the total paid there) and return the money
        movements that took (none when it is there already: reports may come twice, late or
        out of order, and only move the charge forward).

        A charge Porfin already closed (cancelled, expired) stays closed: a payment reported
        for it is returned as a movement all the same, so that the money is logged.
        """
        moves: list[tuple[TransactionKind, int]] = []
        by = self.provider
        paid = paid_cents
        if status in (ChargeStatus.PAID, ChargeStatus.REFUNDED) and paid <= 0:
            paid = self.amount_cents
        if paid > self.paid_cents and self.status in (ChargeStatus.PENDING, ChargeStatus.PAID):
            delta = paid - self.paid_cents
            if self.status is ChargeStatus.PENDING:
                self.mark_paid(min(delta, MAX_AMOUNT_CENTS), by, at)
            else:
                self.paid_cents = paid
            moves.append((TransactionKind.PAYMENT, delta))
        elif paid > self.paid_cents and self.status.final and status != ChargeStatus.REFUNDED:
            moves.append((TransactionKind.PAYMENT, paid - self.paid_cents))
            self.paid_cents = paid
            self._change("payment", at, by, amount_cents=moves[-1][1], reason="late payment")
        if status == ChargeStatus.REFUNDED and self.status is ChargeStatus.PAID:
            moves.append((TransactionKind.REFUND, self.paid_cents))
            self.refund(at, by)
        elif status == ChargeStatus.CANCELLED and self.status is ChargeStatus.PENDING:
            self.cancel(at, by, "cancelled at the gateway")
        elif status == ChargeStatus.EXPIRED and self.status is ChargeStatus.PENDING:
            self.lapse(at, by)
        return moves

    def confirm_to_patient(self, at: datetime) -> bool:
        """Note that the patient is being told the payment arrived; False when they were
        told already (tell them once)."""
        if self.confirmed_at is not None or self.status is not ChargeStatus.PAID:
            return False
        self.confirmed_at = at
        return True

    def delivered_in(self, chat_id: str) -> None:
        """Remember the chat the charge was sent in."""
        self.chat_id = chat_id

    def mark_paid(self, amount_cents: int | None, by: str | None, at: datetime) -> bool:
        """Record a payment of ``amount_cents`` (None: everything still due), confirmed by
        ``by`` at ``at``. Returns True when this payment made the charge paid.

        Raises:
            InvalidStateTransition: the charge is not pending (paid, cancelled, expired,
                refunded).
            ValidationError: an amount below 1 centavo or over the limit (``amount_cents``).
        """
        self._require_pending("record a payment for")
        amount = self.due_cents if amount_cents is None else amount_cents
        _positive_amount(self, _AMOUNT, amount)
        self.paid_cents += amount
        self._change("payment", at, by, amount_cents=amount)
        if self.paid_cents < self.amount_cents:
            return False
        self.status = ChargeStatus.PAID
        self.paid_at = at
        self.paid_by = by
        self._change("paid", at, by)
        self.record(
            ChargePaid(
                clinic_id=self.clinic_id,
                occurred_at=at,
                charge_id=self.id,
                customer_id=self.customer_id,
                amount_cents=self.amount_cents,
                by=by,
                paid_cents=self.paid_cents,
                appointment_id=self.appointment_id,
            )
        )
        return True

    def cancel(self, now: datetime, by: str | None = None, reason: str = "") -> None:
        """Cancel a pending charge (final). Payments already recorded stay in the log.

        Raises:
            InvalidStateTransition: the charge is not pending.
            ValidationError: a reason longer than 200 characters (field ``reason``).
        """
        reason = " ".join(reason.split())
        if len(reason) > 200:
            raise ValidationError("reason is longer than 200 characters", field="reason")
        self._require_pending("cancel")
        self.status = ChargeStatus.CANCELLED
        self._change("cancelled", now, by, reason=reason or None)
        self.record(
            ChargeCancelled(
                clinic_id=self.clinic_id,
                occurred_at=now,
                charge_id=self.id,
                customer_id=self.customer_id,
                amount_cents=self.amount_cents,
                by=by,
                reason=reason,
            )
        )

    def is_overdue(self, now: datetime) -> bool:
        """True for a pending charge whose ``expires_at`` is ``now`` or earlier."""
        return (
            self.status is ChargeStatus.PENDING
            and self.expires_at is not None
            and self.expires_at <= now
        )

    def expire(self, now: datetime) -> None:
        """Expire a pending charge past its expiry (final).

        Raises:
            InvalidStateTransition: not pending, or not past its expiry.
        """
        if not self.is_overdue(now):
            self._require_pending("expire")
            raise InvalidStateTransition("the charge has not reached its expiry", id=self.id)
        self.lapse(now, "system")

    def lapse(self, now: datetime, by: str) -> None:
        """Expire a pending charge now, whatever its expiry (its gateway let it lapse).

        Raises:
            InvalidStateTransition: not pending.
        """
        self._require_pending("expire")
        self.status = ChargeStatus.EXPIRED
        self._change("expired", now, by)
        self.record(
            ChargeExpired(
                clinic_id=self.clinic_id,
                occurred_at=now,
                charge_id=self.id,
                customer_id=self.customer_id,
                amount_cents=self.amount_cents,
                by=by,
            )
        )

    def refund(self, now: datetime, by: str | None = None) -> None:
        """Mark a paid charge refunded (the money went back; final).

        Raises:
            InvalidStateTransition: the charge is not paid.
        """
        if self.status is not ChargeStatus.PAID:
            raise InvalidStateTransition(
                f"a {self.status.value} charge cannot be refunded", id=self.id
            )
        self.status = ChargeStatus.REFUNDED
        self._change("refunded", now, by, amount_cents=self.paid_cents)
        self.record(
            ChargeRefunded(
                clinic_id=self.clinic_id,
                occurred_at=now,
                charge_id=self.id,
                customer_id=self.customer_id,
                amount_cents=self.amount_cents,
                by=by,
                refunded_cents=self.paid_cents,
            )
        )

    def _require_pending(self, what: str) -> None:
        if self.status is not ChargeStatus.PENDING:
            raise InvalidStateTransition(
                f"cannot {what} a {self.status.value} charge", id=self.id, status=self.status
            )

    def _change(
        self,
        action: str,
        at: datetime,
        by: str | None,
        *,
        amount_cents: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.history.append(
            ChargeChange(
                at=at,
                action=action,
                status=self.status,
                by=by,
                amount_cents=amount_cents,
                reason=reason,
            )
        )


_AMOUNT = attrs.fields(Charge).amount_cents


@attrs.frozen(kw_only=True)
class Transaction:
    """One money movement, written once and never changed (the append-only log).

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic whose money moved.
        charge_id: The charge it belongs to.
        kind: A payment in, or a refund out.
        amount_cents: How much, in centavos (always positive; ``kind`` gives the direction).
        at: When the money moved (as confirmed).
        by: Who recorded it: a staff user id, ``admin``, or a gateway's name.
        source: Where it was recorded: ``api``, ``cli``, ``webhook``, ``poll``...
        reference: The payment's reference (a PIX end-to-end id, a gateway's id...), if any.
    """

    id: str
    clinic_id: str
    charge_id: str
    kind: TransactionKind
    amount_cents: int = attrs.field(validator=_positive_amount)
    at: datetime = attrs.field(validator=_aware)
    by: str
    source: str
    reference: str | None = None
