"""Record a payment staff received for a charge (embedded PIX: nobody else can tell)."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge, Transaction, TransactionKind, check_moment
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import charge_audit
from porfin_core.use_cases._transaction import transact

STAFF_SOURCE = "staff"
"""``Transaction.source`` of a payment confirmed by a person."""


@attrs.frozen(kw_only=True)
class PaymentReceived:
    """A payment staff saw arrive.

    Attributes:
        clinic_id: The clinic.
        charge_id: The charge paid.
        amount_cents: How much arrived (None: everything still due); less is a partial
            payment.
        paid_at: When it arrived (default: now; never in the future).
        reference: The payment's reference, e.g. the PIX end-to-end id, if known.
        actor: Who confirms it and from where (default: Porfin itself).
    """

    clinic_id: str
    charge_id: str
    amount_cents: int | None = None
    paid_at: datetime | None = None
    reference: str | None = None
    actor: Actor | None = None


@attrs.frozen
class PaymentRecorded:
    """The charge as stored and the transaction logged for the payment."""

    charge: Charge
    transaction: Transaction


@attrs.define(kw_only=True)
class MarkChargePaid:
    """Record a payment of a pending charge: its ``paid_cents`` grow, and once they reach the
    amount it is ``paid`` (event ``charge.paid``) with who and when. The payment is appended
    to the transaction log and recorded in the audit log (``charge.mark_paid``), together."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: PaymentReceived) -> PaymentRecorded:
        """Record the payment.

        Raises:
            NotFound: no such charge in the clinic.
            InvalidStateTransition: the charge is paid, cancelled, expired or refunded.
            ValidationError: an amount below 1 centavo (``amount_cents``), a time in the
                future or without a zone (``paid_at``), a reference over 100 characters
                (``reference``).
        """
        actor = actor_of(command.actor)
        reference = (command.reference or "").strip() or None
        if reference is not None and len(reference) > 100:
            raise ValidationError("reference is longer than 100 characters", field="reference")
        transaction_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> PaymentRecorded:
            now = self.clock.now()
            at = command.paid_at or now
            check_moment(at, "paid_at")
            if at > now:
                raise ValidationError("paid_at is in the future", field="paid_at")
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            amount = charge.due_cents if command.amount_cents is None else command.amount_cents
            charge.mark_paid(amount, actor.id, at)
            transaction = Transaction(
                id=transaction_id,
                clinic_id=charge.clinic_id,
                charge_id=charge.id,
                kind=TransactionKind.PAYMENT,
                amount_cents=amount,
                at=at,
                by=actor.id,
                source=STAFF_SOURCE,
                reference=reference,
            )
            await uow.charges.save(charge)
            await uow.transactions.append(transaction)
            details = {"amount_received": str(amount), "transaction_id": transaction.id}
            await uow.audit.append(
                charge_audit(actor, charge, now, AuditAction.CHARGE_MARK_PAID, details)
            )
            uow.record(charge.pull_events())
            await uow.commit()
            return PaymentRecorded(charge, transaction)

        return await transact(self.uow_factory, work)
