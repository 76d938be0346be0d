"""Record that a paid charge's money went back to the patient."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge, TransactionKind
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import charge_audit, log_moves
from porfin_core.use_cases._transaction import transact

GATEWAY_REFUND = (
    "refund a gateway's charge in the gateway's panel: Porfin records the refund when the "
    "gateway reports it"
)


@attrs.frozen(kw_only=True)
class Refund:
    """A refund staff made.

    Attributes:
        clinic_id: The clinic.
        charge_id: The paid charge.
        reference: The refund's reference (the PIX devolução's end-to-end id), if known.
        actor: Who records it and from where (default: Porfin itself).
    """

    clinic_id: str
    charge_id: str
    reference: str | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class RefundCharge:
    """Record the refund of a paid embedded-PIX charge (the clinic sent the money back by
    PIX itself): the charge becomes ``refunded``, the refund (everything paid) is appended
    to the transaction log, event ``charge.refunded``, audit record ``charge.refund``.

    A gateway's charge is refunded at the gateway, which tells Porfin (webhook or poll).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: Refund) -> Charge:
        """Record the refund; returns the charge as stored.

        Raises:
            NotFound: no such charge.
            InvalidStateTransition: the charge is not paid.
            ValidationError: a gateway's charge (``provider``), a reference over 100
                characters (``reference``).
        """
        actor = actor_of(command.actor)
        reference = (command.reference or "").strip() or None
        if reference is not None and len(reference) > 100:
            raise ValidationError("reference is longer than 100 characters", field="reference")

        async def work(uow: UnitOfWork) -> Charge:
            now = self.clock.now()
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            if charge.via_gateway:
                raise ValidationError(GATEWAY_REFUND, field="provider", provider=charge.provider)
            refunded = charge.paid_cents
            charge.refund(now, actor.id)
            logged = await log_moves(
                uow,
                charge,
                [(TransactionKind.REFUND, refunded)],
                at=now,
                by=actor.id,
                source="staff",
                reference=reference,
                ids=self.ids,
            )
            await uow.charges.save(charge)
            details = {"refunded_cents": str(refunded), "transaction_id": logged[0].id}
            await uow.audit.append(
                charge_audit(actor, charge, now, AuditAction.CHARGE_REFUND, details)
            )
            uow.record(charge.pull_events())
            await uow.commit()
            return charge

        return await transact(self.uow_factory, work)
