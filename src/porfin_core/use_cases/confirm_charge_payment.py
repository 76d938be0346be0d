"""What follows a paid charge: the appointment's deposit, the funnel, and a thank-you."""

from __future__ import annotations

import attrs

from porfin_core.domain.charges import Charge
from porfin_core.domain.customer import FunnelStage, first_name, further_along
from porfin_core.domain.message import MessageKind
from porfin_core.domain.scheduling import Appointment
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._charges import may_write
from porfin_core.use_cases._outbound import patient_chat, queue_message
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class ConfirmChargePayment:
    """Run once per paid charge (after ``charge.paid``, whoever recorded the payment), in one
    transaction:

    - the linked appointment's deposit is recorded as paid;
    - the patient moves to the ``paid`` stage of the funnel (never backwards: a returning
      patient stays returning);
    - the patient is told in their chat that the money arrived (and, for a deposit, that
      the appointment is secured) when the chat takes free text.

    A second run for the same charge does nothing (``Charge.confirmed_at``).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats

    async def __call__(self, clinic_id: str, charge_id: str) -> bool:
        """Confirm; False when it was done before or the charge is not paid.

        Raises:
            NotFound: no such charge.
        """

        async def work(uow: UnitOfWork) -> bool:
            now = self.clock.now()
            charge = await uow.charges.get(clinic_id, charge_id)
            if not charge.confirm_to_patient(now):
                return False
            appointment = None
            if charge.appointment_id is not None:
                appointment = await uow.appointments.get(clinic_id, charge.appointment_id)
                if appointment.record_deposit(charge.id, charge.paid_at or now, charge.paid_by):
                    await uow.appointments.save(appointment)
                    uow.record(appointment.pull_events())
            customer = await uow.customers.get(clinic_id, charge.customer_id)
            if customer.move_to(further_along(customer.stage, FunnelStage.PAID)):
                await uow.customers.save(customer)
            chat = await patient_chat(uow, clinic_id, customer.id, charge.chat_id)
            if chat is not None and await may_write(uow, chat, now):
                clinic = await uow.clinics.get(clinic_id)
                await queue_message(
                    uow,
                    chat=chat,
                    customer=customer,
                    kind=MessageKind.TEXT,
                    body=self._thanks(
                        charge, first_name(customer.name), appointment, clinic.timezone
                    ),
                    extra={"charge_id": charge.id, "purpose": "payment_confirmation"},
                    now=now,
                    ids=self.ids,
                )
            await uow.charges.save(charge)
            uow.record(customer.pull_events())
            await uow.commit()
            return True

        return await transact(self.uow_factory, work)

    def _thanks(
        self, charge: Charge, name: str, appointment: Appointment | None, timezone: str
    ) -> str:
        greeting = f"{name}, r" if name else "R"
        text = (
            f"{greeting}ecebemos o seu pagamento de {self.formats.money(charge.paid_cents)} "
            f"({charge.description}). Obrigado!"
        )
        if appointment is not None and appointment.takes_time:
            when = self.formats.date_time(appointment.start, timezone)
            text += f" Sua consulta de {when} está garantida."
        return text
