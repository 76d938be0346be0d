"""Tell a waitlisted patient that a time opened up for them."""

from __future__ import annotations

import attrs

from porfin_core.domain.customer import first_name
from porfin_core.domain.message import Message, MessageKind
from porfin_core.domain.scheduling import WaitlistStatus
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._outbound import patient_chat, queue_message
from porfin_core.use_cases._transaction import transact


def offer_payload(entry_id: str, accept: bool) -> str:
    """The id of the offer's "yes" or "no" button."""
    return f"wl:{entry_id}:{'accept' if accept else 'decline'}"


@attrs.define(kw_only=True)
class SendWaitlistOffer:
    """Queue, in the patient's chat, the offer of the slot their waitlist entry holds, with the
    buttons *Quero este horário* and *Não, obrigado* (a bridge shows them numbered).

    Nothing is sent when the entry no longer holds an offer (answered, or offered again), or
    when the patient has no chat on an active channel (staff see the offer in the waitlist).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats

    async def __call__(self, clinic_id: str, entry_id: str) -> Message | None:
        """Queue the offer; returns the message, or None when there is nothing to send."""

        async def work(uow: UnitOfWork) -> Message | None:
            now = self.clock.now()
            try:
                entry = await uow.waitlist.get(clinic_id, entry_id)
            except NotFound:
                return None
            slot = entry.offered_slot
            if entry.status is not WaitlistStatus.OFFERED or slot is None or slot.start <= now:
                return None
            clinic = await uow.clinics.get(clinic_id)
            customer = await uow.customers.get(clinic_id, entry.customer_id)
            chat = await patient_chat(uow, clinic_id, customer.id, None)
            if chat is None:
                return None
            kind = await uow.appointment_types.get(clinic_id, entry.type_id)
            professional = await uow.professionals.get(clinic_id, slot.professional_id)
            when = self.formats.date_time(slot.start, clinic.timezone)
            name = first_name(customer.name)
            text = (
                f"{f'Olá, {name}!' if name else 'Olá!'} Abriu um horário para {kind.name} com "
                f"{professional.name}: {when}. Quer ficar com ele?"
            )
            buttons = [
                {"id": offer_payload(entry.id, True), "title": "Quero este horário"},
                {"id": offer_payload(entry.id, False), "title": "Não, obrigado"},
            ]
            extra = {
                "type": "button",
                "body": text,
                "buttons": buttons,
                "waitlist_offer": {"entry_id": entry.id},
            }
            message = await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=MessageKind.INTERACTIVE,
                body=text,
                extra=extra,
                now=now,
                ids=self.ids,
            )
            await uow.commit()
            return message

        return await transact(self.uow_factory, work)
