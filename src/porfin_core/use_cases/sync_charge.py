"""Keep a gateway's charge in step with the gateway: create it there, or learn its state.

One use case serves every path by which Porfin learns about a gateway's charge: the call
right after issue, the ``charge.sync`` job (a retry of a creation that failed, or a poll for
a webhook that may have been missed), a webhook notice, and staff asking for a refresh.

- **Creation** is idempotent at the gateway: the request carries the charge's id as its
  idempotency key (Mercado Pago's ``X-Idempotency-Key``, Asaas's ``externalReference``), so a
  process killed after the gateway created the charge and before Porfin stored it creates
  nothing new when the job retries: the gateway answers with the same charge.
- **Reports converge**: the charge moves to the state the gateway reports (paid, partially
  paid, refunded, cancelled, expired), never backwards; a report seen twice, late or out of
  order changes nothing the second time. Every money movement is logged once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.charges import Charge, ChargeStatus
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer
from porfin_core.errors import GatewayError, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.payments import (
    ChargeRequest,
    GatewayCharge,
    GatewayChargeStatus,
    PaymentGateway,
    PaymentGateways,
)
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._charges import (
    ChargeDelivery,
    charge_audit,
    gateway_of,
    log_moves,
    may_write,
    schedule_sync,
)
from porfin_core.use_cases._transaction import transact

DEFAULT_DUE = timedelta(days=3)
"""Due date of a gateway's charge issued without one or an expiry: three days on."""


@attrs.frozen(kw_only=True)
class ChargeReport:
    """What a gateway said about a charge (from a webhook): its status and total paid.

    Attributes:
        status: The status reported.
        paid_cents: The total paid reported (None: the whole amount when paid).
        at: When it happened, per the gateway.
        reference: The report's id (the webhook event id), logged with the money.
    """

    status: GatewayChargeStatus
    paid_cents: int | None = None
    at: datetime | None = None
    reference: str | None = None


@attrs.frozen(kw_only=True)
class ChargeSync:
    """Bring one charge in step with its gateway.

    Attributes:
        clinic_id: The clinic.
        charge_id: The charge.
        source: Who asks: ``issue``, ``poll`` (the job), ``webhook``, ``staff``.
        report: What a webhook reported (None: ask the gateway).
        attempt: The poll's number; while the charge stays pending the next poll is
            scheduled (None: schedule nothing).
        actor: Who asks, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    charge_id: str
    source: str = "poll"
    report: ChargeReport | None = None
    attempt: int | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class SyncCharge:
    """Create a gateway's charge at the gateway if it is not there yet (then deliver its PIX
    code in the chat), else apply the gateway's state (see the module). Audit record
    ``charge.sync`` when anything changed; events ``charge.opened``, ``charge.paid``,
    ``charge.refunded``, ``charge.cancelled``, ``charge.expired``."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    gateways: PaymentGateways
    delivery: ChargeDelivery

    async def __call__(self, command: ChargeSync) -> Charge:
        """Sync the charge; returns it as stored.

        Raises:
            NotFound: no such charge in the clinic.
            ValidationError: the gateway refused to create the charge (its data); the
                charge is cancelled with the gateway's reason.
            GatewayError: the gateway failed or could not be reached (``retryable``), or
                the clinic no longer uses the charge's gateway (not retryable).
        """
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(command.clinic_id)
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            customer = await uow.customers.get(command.clinic_id, charge.customer_id)
        if not charge.via_gateway or (charge.status.final and command.report is None):
            return charge
        gateway = await self._gateway(clinic, charge)
        if charge.awaiting_gateway:
            try:
                state = await gateway.create_charge(_request(clinic, charge, customer))
            except ValidationError as exc:
                await self._refused(command, exc)
                raise
            return await self._apply(command, state, None)
        if command.report is not None:
            return await self._apply(command, None, command.report)
        assert charge.provider_charge_id is not None
        state = await gateway.get_charge(charge.provider_charge_id)
        return await self._apply(command, state, None)

    async def _gateway(self, clinic: Clinic, charge: Charge) -> PaymentGateway:
        gateway = await gateway_of(self.gateways, clinic, charge)
        if gateway is None:
            raise GatewayError(
                f"the clinic no longer charges through {charge.provider}",
                retryable=False,
                charge_id=charge.id,
            )
        return gateway

    async def _apply(
        self, command: ChargeSync, made: GatewayCharge | None, report: ChargeReport | None
    ) -> Charge:
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> Charge:
            now = self.clock.now()
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            before = (charge.status, charge.paid_cents, charge.provider_charge_id)
            if made is not None and charge.awaiting_gateway:
                charge.open_at_gateway(
                    made.provider_charge_id,
                    br_code=made.pix_copy_paste,
                    payment_url=made.payment_url,
                    at=now,
                )
                if not charge.status.final:  # cancelled while the gateway was creating it
                    await self._deliver(uow, charge, now)
            reference: str | None
            if made is not None:
                status, paid, at = made.status, made.paid_cents, made.paid_at
                reference = made.provider_charge_id
            else:
                assert report is not None
                status, paid, at = report.status, report.paid_cents or 0, report.at
                reference = report.reference
            at = min(at or now, now)
            moves = charge.converge(status.value, paid, at)
            await log_moves(
                uow,
                charge,
                moves,
                at=at,
                by=charge.provider,
                source=command.source,
                reference=reference,
                ids=self.ids,
            )
            if command.attempt is not None and charge.status is ChargeStatus.PENDING:
                await schedule_sync(uow, charge, command.attempt + 1, now, self.ids)
            if (charge.status, charge.paid_cents, charge.provider_charge_id) != before:
                await uow.charges.save(charge)
                details = {"source": command.source, "reported": status.value}
                await uow.audit.append(
                    charge_audit(actor, charge, now, AuditAction.CHARGE_SYNC, details)
                )
            uow.record(charge.pull_events())
            await uow.commit()
            return charge

        return await transact(self.uow_factory, work)

    async def _refused(self, command: ChargeSync, exc: ValidationError) -> None:
        """The gateway will never create the charge (its data): cancel it, saying why."""

        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            charge = await uow.charges.get(command.clinic_id, command.charge_id)
            if not charge.awaiting_gateway or charge.status.final:
                return
            charge.cancel(now, by=charge.provider, reason=f"refused: {exc.message}"[:200])
            await uow.charges.save(charge)
            await uow.audit.append(
                charge_audit(
                    actor_of(command.actor),
                    charge,
                    now,
                    AuditAction.CHARGE_SYNC,
                    {"source": command.source, "refused": exc.message[:200]},
                )
            )
            uow.record(charge.pull_events())
            await uow.commit()

        await transact(self.uow_factory, work)

    async def _deliver(self, uow: UnitOfWork, charge: Charge, now: datetime) -> None:
        """Send the code (or the payment link) in the chat chosen at issue, if the chat still
        takes free text."""
        if charge.chat_id is None or (charge.br_code is None and charge.payment_url is None):
            return
        chat = await uow.chats.get(charge.clinic_id, charge.chat_id)
        if not await may_write(uow, chat, now):
            charge.chat_id = None
            return
        customer = await uow.customers.get(charge.clinic_id, charge.customer_id)
        await self.delivery(uow, charge, chat, customer, now)


def _request(clinic: Clinic, charge: Charge, customer: Customer) -> ChargeRequest:
    """What the gateway is asked to create for ``charge``."""
    if charge.due_date is not None:
        due = charge.due_date
    elif charge.expires_at is not None:
        due = charge.expires_at.astimezone(clinic.zone).date()
    else:
        due = (charge.created_at + DEFAULT_DUE).astimezone(clinic.zone).date()
    return ChargeRequest(
        charge_id=charge.id,
        clinic_id=charge.clinic_id,
        amount_cents=charge.amount_cents,
        description=charge.description,
        due_date=due,
        payer_name=customer.name or "Paciente",
        payer_email=charge.payer_email,
        payer_phone=customer.phone,
        payer_document=charge.payer_document,
        as_link=charge.as_link,
        max_installments=charge.max_installments,
    )
