"""Expire a charge still unpaid at its expiry (the ``charge.expire`` job)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import SYSTEM_ACTOR, AuditAction
from porfin_core.domain.charges import Charge, ChargeStatus
from porfin_core.errors import InvalidStateTransition, NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.payments import PaymentGateways
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._charges import charge_audit, gateway_of
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.sync_charge import ChargeSync, SyncCharge


@attrs.define(kw_only=True)
class ExpireCharge:
    """At its expiry a pending charge expires (event ``charge.expired``, audit record
    ``charge.expire``). A gateway's charge is first cancelled at the gateway, so the patient
    can no longer pay it; if the gateway says it was paid meanwhile, the payment is applied
    instead and the charge does not expire."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    gateways: PaymentGateways
    sync: SyncCharge

    async def __call__(self, clinic_id: str, charge_id: str) -> Charge:
        """Expire the charge if it is still pending and due; returns it as stored.

        Raises:
            NotFound: no such charge.
            GatewayError: the gateway could not be reached (the job retries).
        """
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(clinic_id)
            charge = await uow.charges.get(clinic_id, charge_id)
        if not charge.is_overdue(self.clock.now()):
            return charge
        gateway = await gateway_of(self.gateways, clinic, charge)
        if gateway is not None and charge.provider_charge_id is not None:
            try:
                await gateway.cancel_charge(charge.provider_charge_id)
            except (InvalidStateTransition, NotFound):
                # Paid (or gone) at the gateway: apply what it says.
                charge = await self.sync(ChargeSync(clinic_id=clinic_id, charge_id=charge_id))
                if charge.status is not ChargeStatus.PENDING:
                    return charge

        async def work(uow: UnitOfWork) -> Charge:
            now = self.clock.now()
            current = await uow.charges.get(clinic_id, charge_id)
            if not current.is_overdue(now):
                return current
            current.expire(now)
            await uow.charges.save(current)
            await uow.audit.append(
                charge_audit(SYSTEM_ACTOR, current, now, AuditAction.CHARGE_EXPIRE)
            )
            uow.record(current.pull_events())
            await uow.commit()
            return current

        return await transact(self.uow_factory, work)
