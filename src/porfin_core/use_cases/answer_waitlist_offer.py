"""Act on a waitlisted patient's answer to an offered slot: book it, or keep waiting."""

from __future__ import annotations

import re

import attrs

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.message import Direction, Message, MessageKind
from porfin_core.domain.reminders import ReplyIntent, read_reply
from porfin_core.domain.scheduling import WaitlistStatus
from porfin_core.errors import NotFound, SlotTaken, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._outbound import queue_message
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.book_appointment import BookAppointment, NewAppointment

_OFFER = re.compile(r"wl:(?P<id>[A-Za-z0-9_-]{1,64}):(?P<answer>accept|decline)")
LOOKBACK = 20


@attrs.frozen
class OfferAnswer:
    """What the patient answered (``accepted``: the slot is booked as ``appointment_id``)."""

    entry_id: str
    accepted: bool
    appointment_id: str | None = None


@attrs.define(kw_only=True)
class AnswerWaitlistOffer:
    """Read a patient's message as the answer to a waitlist offer and act on it.

    *Quero este horário* (or "1", "sim", "quero") books the offered slot for them, with the
    same rules as any booking; *Não, obrigado* (or "2", "não") puts the entry back to waiting,
    in its place. A slot taken meanwhile is explained and the entry waits again. The patient
    gets a short reply; a message handled before is not handled again.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats
    book: BookAppointment

    async def __call__(self, clinic_id: str, message_id: str) -> OfferAnswer | None:
        """Handle ``message_id``; None when it answers no offer of the patient's."""
        async with self.uow_factory(read_only=True) as uow:
            try:
                message = await uow.messages.get(clinic_id, message_id)
            except NotFound:
                return None
            if message.direction is not Direction.INBOUND or "offer_answer" in message.extra:
                return None
            found = await _answered(uow, message)
            if found is None:
                return None
            entry_id, accept = found
            chat = await uow.chats.get(clinic_id, message.chat_id)
            try:
                entry = await uow.waitlist.get(clinic_id, entry_id)
            except NotFound:
                return None
        slot = entry.offered_slot
        if entry.customer_id != chat.customer_id or entry.status is not WaitlistStatus.OFFERED:
            return None
        assert slot is not None
        if not accept:
            await self._finish(message, entry_id, decline=True, text=_declined())
            return OfferAnswer(entry_id, accepted=False)
        actor = Actor(id=f"patient:{chat.customer_id}", kind=ActorKind.SYSTEM, source="whatsapp")
        try:
            appointment = await self.book(
                NewAppointment(
                    clinic_id=clinic_id,
                    customer_id=entry.customer_id,
                    professional_id=slot.professional_id,
                    type_id=entry.type_id,
                    start=slot.start,
                    source="patient",
                    chat_id=chat.id,
                    waitlist_entry_id=entry.id,
                    actor=actor,
                )
            )
        except (SlotTaken, ValidationError):
            await self._finish(message, entry_id, decline=True, text=_taken())
            return OfferAnswer(entry_id, accepted=False)
        async with self.uow_factory(read_only=True) as uow:
            timezone = (await uow.clinics.get(clinic_id)).timezone
        when = self.formats.date_time(appointment.start, timezone)
        await self._finish(
            message, entry_id, decline=False, text=f"Pronto! Sua consulta ficou para {when}."
        )
        return OfferAnswer(entry_id, accepted=True, appointment_id=appointment.id)

    async def _finish(self, message: Message, entry_id: str, *, decline: bool, text: str) -> None:
        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            inbound = await uow.messages.get(message.clinic_id, message.id)
            if "offer_answer" in inbound.extra:
                return
            if decline:
                entry = await uow.waitlist.get(message.clinic_id, entry_id)
                if entry.status is WaitlistStatus.OFFERED:
                    entry.decline(now)
                    await uow.waitlist.save(entry)
            chat = await uow.chats.get(message.clinic_id, message.chat_id)
            customer = await uow.customers.get(message.clinic_id, chat.customer_id)
            await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=MessageKind.TEXT,
                body=text,
                extra={},
                now=now,
                ids=self.ids,
                answers_patient=True,
            )
            inbound.extra["offer_answer"] = "declined" if decline else "accepted"
            await uow.messages.save(inbound)
            await uow.commit()

        await transact(self.uow_factory, work)


def _declined() -> str:
    return "Tudo bem! Você continua na nossa lista de espera e avisamos quando abrir outro horário."


def _taken() -> str:
    return (
        "Que pena, esse horário acabou de ser ocupado. Você continua na lista de espera e "
        "avisamos quando abrir outro."
    )


async def _answered(uow: UnitOfWork, message: Message) -> tuple[str, bool] | None:
    interactive = message.extra.get("interactive")
    if isinstance(interactive, dict):
        payload = interactive.get("id") or interactive.get("payload")
        match = _OFFER.fullmatch(payload) if isinstance(payload, str) else None
        if match is not None:
            return match["id"], match["answer"] == "accept"
        return None
    if message.kind is not MessageKind.TEXT or not message.body:
        return None
    text = message.body.strip().rstrip(".)")
    intent = {"1": ReplyIntent.CONFIRM, "2": ReplyIntent.CANCEL}.get(text) or read_reply(text)
    if intent not in (ReplyIntent.CONFIRM, ReplyIntent.CANCEL):
        return None
    page = await uow.messages.list_for_chat(message.clinic_id, message.chat_id, limit=LOOKBACK)
    latest = next((m for m in page.items if m.direction is Direction.OUTBOUND), None)
    offer = latest.extra.get("waitlist_offer") if latest is not None else None
    if not isinstance(offer, dict) or not isinstance(offer.get("entry_id"), str):
        return None
    return offer["entry_id"], intent is ReplyIntent.CONFIRM
