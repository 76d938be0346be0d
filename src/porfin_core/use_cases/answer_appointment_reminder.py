"""Act on a patient's answer to an appointment reminder: confirm, cancel or reschedule."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.chat import Chat
from porfin_core.domain.customer import Customer
from porfin_core.domain.message import Direction, Message, MessageKind
from porfin_core.domain.reminders import ReplyIntent, read_payload, read_reply
from porfin_core.domain.scheduling import Appointment
from porfin_core.errors import InvalidStateTransition, NotFound, SlotTaken, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._outbound import queue_message
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.cancel_appointment import CancelAppointment, Cancellation
from porfin_core.use_cases.confirm_appointment import ConfirmAppointment, Confirmation
from porfin_core.use_cases.find_free_slots import FindFreeSlots, SlotRequest
from porfin_core.use_cases.reschedule_appointment import NewTime, RescheduleAppointment

LOOKBACK = 20
"""How many of the chat's latest messages are searched for the reminder being answered."""
OFFERED_SLOTS = 8
"""Free times offered to a patient who asked to reschedule (a WhatsApp list holds 10 rows)."""

_SLOT = re.compile(r"slot:(?P<id>[A-Za-z0-9_-]{1,64}):(?P<epoch>[0-9]{9,11})")


class Answer(enum.StrEnum):
    """What Porfin did with the patient's message."""

    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"
    SLOTS_OFFERED = "slots_offered"
    NO_SLOTS = "no_slots"
    RESCHEDULED = "rescheduled"
    SLOT_TAKEN = "slot_taken"
    TOO_LATE = "too_late"


@attrs.frozen
class ReminderAnswer:
    """The answer found in a patient's message and what was done.

    Attributes:
        appointment_id: The appointment answered about.
        answer: What Porfin did.
        reply_id: The message Porfin sent back.
    """

    appointment_id: str
    answer: Answer
    reply_id: str | None = None


def slot_payload(appointment_id: str, start: datetime) -> str:
    """The id of a list row offering ``start`` as the appointment's new time."""
    return f"slot:{appointment_id}:{int(start.timestamp())}"


@attrs.frozen
class _Found:
    appointment_id: str
    intent: ReplyIntent | None = None
    new_start: datetime | None = None


@attrs.define(kw_only=True)
class AnswerAppointmentReminder:
    """Read a patient's message as an answer to a reminder and act on it.

    Understood: a reminder's button (``Confirmar``, ``Remarcar``, ``Cancelar``, or the same
    quick replies of the reminder template), a typed answer right after a reminder
    ("confirmo", "não vou poder", "quero remarcar", or "1"/"2"/"3" of a bridge's numbered
    menu), and a row of the list of free times Porfin offered after "Remarcar". The
    appointment is then confirmed, cancelled (its time goes to the waitlist) or moved, with
    the same rules as a staff change, and the patient gets a short reply in pt-BR. Anything
    else is left alone (for a person or the assistant). Handling the same message twice does
    nothing the second time (the message notes its answer).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats
    confirm: ConfirmAppointment
    cancel: CancelAppointment
    reschedule: RescheduleAppointment
    find_slots: FindFreeSlots

    async def __call__(self, clinic_id: str, message_id: str) -> ReminderAnswer | None:
        """Handle the patient's message ``message_id``; None when it answers no reminder.

        Raises:
            StorageUnavailable: the store failed.
        """
        async with self.uow_factory(read_only=True) as uow:
            try:
                message = await uow.messages.get(clinic_id, message_id)
            except NotFound:
                return None
            if message.direction is not Direction.INBOUND or "reminder_answer" in message.extra:
                return None
            found = await _answered(uow, message)
            if found is None:
                return None
            chat = await uow.chats.get(clinic_id, message.chat_id)
            try:
                appointment = await uow.appointments.get(clinic_id, found.appointment_id)
            except NotFound:
                return None
            if appointment.customer_id != chat.customer_id:
                return None  # a forwarded button of someone else's reminder
        actor = Actor(id=f"patient:{chat.customer_id}", kind=ActorKind.SYSTEM, source="whatsapp")
        if found.new_start is not None:
            return await self._move(message, appointment, found.new_start, actor)
        if appointment.status.final or appointment.start <= self.clock.now():
            return await self._reply(message, appointment, Answer.TOO_LATE, _too_late)
        if found.intent is ReplyIntent.CONFIRM:
            appointment = await self.confirm(
                Confirmation(clinic_id=clinic_id, appointment_id=appointment.id, actor=actor)
            )
            return await self._reply(message, appointment, Answer.CONFIRMED, self._confirmed)
        if found.intent is ReplyIntent.CANCEL:
            cancelled = await self.cancel(
                Cancellation(
                    clinic_id=clinic_id,
                    appointment_id=appointment.id,
                    reason="pedido do paciente pelo WhatsApp",
                    actor=actor,
                )
            )
            return await self._reply(
                message, cancelled.appointment, Answer.CANCELLED, self._cancelled
            )
        return await self._offer_slots(message, appointment, Answer.SLOTS_OFFERED)

    # -- the actions ------------------------------------------------------------------------

    async def _move(
        self, message: Message, appointment: Appointment, start: datetime, actor: Actor
    ) -> ReminderAnswer:
        try:
            moved = await self.reschedule(
                NewTime(
                    clinic_id=appointment.clinic_id,
                    appointment_id=appointment.id,
                    start=start,
                    actor=actor,
                )
            )
        except SlotTaken:
            return await self._offer_slots(message, appointment, Answer.SLOT_TAKEN)
        except (InvalidStateTransition, ValidationError):
            # Final meanwhile, or the chosen time has passed: a person takes it from here.
            return await self._reply(message, appointment, Answer.TOO_LATE, _too_late)
        return await self._reply(message, moved.appointment, Answer.RESCHEDULED, self._moved)

    async def _offer_slots(
        self, message: Message, appointment: Appointment, answer: Answer
    ) -> ReminderAnswer:
        slots = await self.find_slots(
            SlotRequest(
                clinic_id=appointment.clinic_id,
                type_id=appointment.type_id,
                professional_id=appointment.professional_id,
                limit=OFFERED_SLOTS,
            )
        )
        if not slots:
            return await self._reply(
                message,
                appointment,
                Answer.NO_SLOTS,
                _no_slots,
            )
        timezone = await self._timezone(appointment.clinic_id)
        intro = "Esse horário acabou de ser ocupado. " if answer is Answer.SLOT_TAKEN else "Claro! "
        rows = [
            {
                "id": slot_payload(appointment.id, slot.start),
                "title": self.formats.short_date_time(slot.start, timezone)[:24],
            }
            for slot in slots
        ]
        body = f"{intro}Escolha o novo horário da sua consulta:"
        extra = {
            "type": "list",
            "body": body,
            "button": "Ver horários",
            "sections": [{"title": "Horários livres", "rows": rows}],
            "reschedule_offer": {"appointment_id": appointment.id},
        }
        return await self._send(message, appointment, answer, MessageKind.INTERACTIVE, body, extra)

    async def _reply(
        self,
        message: Message,
        appointment: Appointment,
        answer: Answer,
        text_of: Callable[[str], str],
    ) -> ReminderAnswer:
        timezone = await self._timezone(appointment.clinic_id)
        text = text_of(self.formats.date_time(appointment.start, timezone))
        return await self._send(message, appointment, answer, MessageKind.TEXT, text, {})

    async def _send(
        self,
        message: Message,
        appointment: Appointment,
        answer: Answer,
        kind: MessageKind,
        body: str,
        extra: dict[str, Any],
    ) -> ReminderAnswer:
        async def work(uow: UnitOfWork) -> ReminderAnswer:
            now = self.clock.now()
            inbound = await uow.messages.get(message.clinic_id, message.id)
            if "reminder_answer" in inbound.extra:
                return ReminderAnswer(appointment.id, Answer(inbound.extra["reminder_answer"]))
            chat: Chat = await uow.chats.get(message.clinic_id, message.chat_id)
            customer: Customer = await uow.customers.get(message.clinic_id, chat.customer_id)
            reply = await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=kind,
                body=body,
                extra=extra,
                now=now,
                ids=self.ids,
                answers_patient=True,
            )
            inbound.extra["reminder_answer"] = answer.value
            await uow.messages.save(inbound)
            await uow.commit()
            return ReminderAnswer(appointment.id, answer, reply.id)

        return await transact(self.uow_factory, work)

    async def _timezone(self, clinic_id: str) -> str:
        async with self.uow_factory(read_only=True) as uow:
            return (await uow.clinics.get(clinic_id)).timezone

    @staticmethod
    def _confirmed(when: str) -> str:
        return f"Obrigado! Sua consulta está confirmada para {when}. Até lá!"

    @staticmethod
    def _cancelled(when: str) -> str:
        return (
            f"Tudo bem, cancelamos sua consulta de {when}. Quando quiser remarcar, é só "
            "mandar uma mensagem por aqui."
        )

    @staticmethod
    def _moved(when: str) -> str:
        return f"Pronto! Sua consulta foi remarcada para {when}. Até lá!"


def _too_late(_: str) -> str:
    return (
        "Essa consulta não pode mais ser alterada por aqui. Nossa equipe vai falar com você "
        "para ajudar."
    )


def _no_slots(_: str) -> str:
    return (
        "No momento não encontramos outro horário livre. Nossa equipe vai falar com você por "
        "aqui para remarcar."
    )


async def _answered(uow: UnitOfWork, message: Message) -> _Found | None:
    """The appointment and intent ``message`` answers, if it answers a reminder."""
    interactive = message.extra.get("interactive")
    if isinstance(interactive, dict):
        payload = interactive.get("id") or interactive.get("payload")
        if isinstance(payload, str):
            slot = _SLOT.fullmatch(payload)
            if slot is not None:
                start = datetime.fromtimestamp(int(slot["epoch"]), tz=UTC)
                return _Found(slot["id"], new_start=start)
            read = read_payload(payload)
            if read is not None:
                return _Found(read[0], intent=read[1])
    if message.kind is not MessageKind.TEXT or not message.body:
        return None
    intent = read_reply(message.body)
    choice = message.body.strip().rstrip(".)")
    if intent is None and not choice.isdigit():
        return None  # most messages: no read of the chat's history
    # A typed answer counts only right after a reminder or a list of new times: the latest
    # message Porfin or staff sent in the chat is one.
    page = await uow.messages.list_for_chat(message.clinic_id, message.chat_id, limit=LOOKBACK)
    latest = next((m for m in page.items if m.direction is Direction.OUTBOUND), None)
    if latest is None:
        return None
    offer = latest.extra.get("reschedule_offer")
    if isinstance(offer, dict):
        # A bridge shows the list as numbered lines: "3" picks the third time.
        rows = [row for section in latest.extra.get("sections") or () for row in section["rows"]]
        if choice.isdigit() and 1 <= int(choice) <= len(rows):
            slot = _SLOT.fullmatch(str(rows[int(choice) - 1]["id"]))
            if slot is not None:
                start = datetime.fromtimestamp(int(slot["epoch"]), tz=UTC)
                return _Found(slot["id"], new_start=start)
    reminder = latest.extra.get("reminder")
    if intent is None or not isinstance(reminder, dict):
        return None
    appointment_id = reminder.get("appointment_id")
    return _Found(appointment_id, intent=intent) if isinstance(appointment_id, str) else None
