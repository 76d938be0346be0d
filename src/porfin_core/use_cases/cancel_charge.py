"""Cancel a pending charge."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge
from porfin_core.errors import InvalidStateTransition
from porfin_core.ports.clock import Clock
from porfin_core.ports.payments import PaymentGateways
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import charge_audit, gateway_of
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.sync_charge import ChargeSync, SyncCharge


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
    ``charge.cancel``.

    A gateway's charge is cancelled at the gateway first, so the patient can no longer pay
    it; if the gateway says it was paid meanwhile, the payment is applied and the
    cancellation refused."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    gateways: PaymentGateways
    sync: SyncCharge

    async def __call__(self, command: ChargeCancellation) -> Charge:
        """Cancel; returns the charge as stored.

        Raises:
            NotFound: no such charge in the clinic.
            InvalidStateTransition: the charge is not pending.
            ValidationError: a reason longer than 200 characters (``reason``).
        """
        actor = actor_of(command.actor)
        await self._cancel_at_gateway(command)

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

    async def _cancel_at_gateway(self, command: ChargeCancellation) -> None:
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(command.clinic_id)
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
        if charge.provider_charge_id is None or charge.status.final:
            return
        gateway = await gateway_of(self.gateways, clinic, charge)
        if gateway is None:
            return
        try:
            await gateway.cancel_charge(charge.provider_charge_id)
        except InvalidStateTransition:
            synced = await self.sync(
                ChargeSync(clinic_id=clinic.id, charge_id=charge.id, actor=command.actor)
            )
            raise InvalidStateTransition(
                f"the gateway says the charge is {synced.status.value}: it cannot be cancelled",
                id=charge.id,
                status=synced.status.value,
            ) from None
