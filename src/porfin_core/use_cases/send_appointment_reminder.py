"""Send one appointment reminder in the patient's chat."""

from __future__ import annotations

from typing import Any

import attrs

from porfin_core.domain.channel import Provider
from porfin_core.domain.customer import ConsentPurpose, first_name
from porfin_core.domain.message import Message, MessageKind
from porfin_core.domain.reminders import BUTTON_TITLES, ReplyIntent, button_payload
from porfin_core.domain.scheduling import Appointment
from porfin_core.errors import JobFailed, NotFound
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.formats import Formats
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._outbound import patient_chat, queue_message
from porfin_core.use_cases._transaction import transact

DEFAULT_TEMPLATE_LANGUAGE = "pt_BR"


@attrs.define(kw_only=True)
class SendAppointmentReminder:
    """Queue a reminder for an appointment in the patient's chat (the outbound sender sends
    it), asking them to confirm, reschedule or cancel.

    Inside WhatsApp's 24-hour window (and always on a bridge, which has no window) it is a
    message with three reply buttons (a bridge shows them as a numbered menu); outside it, on
    the Cloud API, the channel's approved ``reminder_template`` with the same three
    quick-replies. Nothing is sent for an appointment that is final or already started, for
    a patient who declined reminders (their ``reminders`` consent is no), or for one with no
    chat on an active channel. Dates are written the Brazilian way
    ("terça-feira, 2 de dezembro, às 14h30").
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    formats: Formats

    async def __call__(self, clinic_id: str, appointment_id: str, rule: str) -> Message | None:
        """Queue the reminder ``rule`` of the appointment; returns the message, or None when
        nothing is to be sent.

        Raises:
            JobFailed: the window is closed and the channel has no reminder template (staff
                must configure one), or the appointment does not exist.
        """

        async def work(uow: UnitOfWork) -> Message | None:
            now = self.clock.now()
            try:
                appointment = await uow.appointments.get(clinic_id, appointment_id)
            except NotFound:
                raise JobFailed("the appointment does not exist", id=appointment_id) from None
            if appointment.status.final or appointment.start <= now:
                return None
            clinic = await uow.clinics.get(clinic_id)
            customer = await uow.customers.get(clinic_id, appointment.customer_id)
            consent = customer.consents.get(ConsentPurpose.REMINDERS)
            if consent is not None and not consent.granted:
                return None  # the patient said no to reminders (LGPD)
            chat = await patient_chat(uow, clinic_id, customer.id, appointment.chat_id)
            if chat is None:
                return None
            channel = await uow.channels.get(chat.channel_id)
            what = await _what(uow, appointment)
            when = self.formats.date_time(appointment.start, clinic.timezone)
            name = first_name(customer.name)
            greeting = f"Olá, {name}!" if name else "Olá!"
            text = (
                f"{greeting} Passando para lembrar da sua consulta: {what}, {when}. "
                "Podemos confirmar sua presença?"
            )
            buttons = [
                {"id": button_payload(appointment.id, intent), "title": BUTTON_TITLES[intent]}
                for intent in ReplyIntent
            ]
            reminder = {"appointment_id": appointment.id, "rule": rule}
            extra: dict[str, Any]
            if channel.provider is not Provider.CLOUD_API or chat.window_open(now):
                kind = MessageKind.INTERACTIVE
                extra = {"type": "button", "body": text, "buttons": buttons, "reminder": reminder}
            else:
                template = channel.settings.get("reminder_template")
                if not template:
                    raise JobFailed(
                        "the patient's 24-hour window is closed and the channel has no "
                        "reminder_template: configure an approved template to send reminders",
                        channel_id=channel.id,
                    )
                kind = MessageKind.TEMPLATE
                extra = {
                    "name": template,
                    "language": channel.settings.get("template_language")
                    or DEFAULT_TEMPLATE_LANGUAGE,
                    "components": _template_components(name or "paciente", when, what, buttons),
                    "reminder": reminder,
                }
            message = await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=kind,
                body=text,
                extra=extra,
                now=now,
                ids=self.ids,
            )
            await uow.commit()
            return message

        return await transact(self.uow_factory, work)


async def _what(uow: UnitOfWork, appointment: Appointment) -> str:
    """ "Limpeza com Dra. Ana" (the type's and the professional's names)."""
    kind = await uow.appointment_types.get(appointment.clinic_id, appointment.type_id)
    professional = await uow.professionals.get(appointment.clinic_id, appointment.professional_id)
    return f"{kind.name} com {professional.name}"


def _template_components(
    name: str, when: str, what: str, buttons: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Body parameters {{1}} name, {{2}} when, {{3}} what; one payload per quick reply."""
    body = {
        "type": "body",
        "parameters": [{"type": "text", "text": value} for value in (name, when, what)],
    }
    replies = [
        {
            "type": "button",
            "sub_type": "quick_reply",
            "index": str(index),
            "parameters": [{"type": "payload", "payload": button["id"]}],
        }
        for index, button in enumerate(buttons)
    ]
    return [body, *replies]
