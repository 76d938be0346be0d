"""Cancel a pending charge."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import charge_audit
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ChargeCancellation:
    """Which charge to cancel, and why.

    Attributes:
        clinic_id: The clinic.
        charge_id: The charge.
        reason: Why (up to 200 characters), may be empty.
        actor: Who asks and from where (default: Porfin itself).
    """

    clinic_id: str
    charge_id: str
    reason: str = ""
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CancelCharge:
    """Cancel a pending charge (final): the patient no longer owes it. Payments already
    recorded stay in the transaction log. Event ``charge.cancelled``; audit record
    ``charge.cancel``."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChargeCancellation) -> Charge:
        """Cancel; returns the charge as stored.

        Raises:
            NotFound: no such charge in the clinic.
            InvalidStateTransition: the charge is not pending.
            ValidationError: a reason longer than 200 characters (``reason``).
        """
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> Charge:
            now = self.clock.now()
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            charge.cancel(now, by=actor.id, reason=command.reason)
            await uow.charges.save(charge)
            details = {"reason": " ".join(command.reason.split())}
            await uow.audit.append(
                charge_audit(actor, charge, now, AuditAction.CHARGE_CANCEL, details)
            )
            uow.record(charge.pull_events())
            await uow.commit()
            return charge

        return await transact(self.uow_factory, work)
