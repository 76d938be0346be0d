"""A booking made by the AI receptionist over WhatsApp (the simulator channel) lands in the
agenda and in the professional's Google Calendar (the fake Google), and the clinic's PIX
deposit is sent in the chat. SQLite, the real dispatcher and job worker (drained here), the
offline engine."""

from __future__ import annotations

from porfin_core.domain.customer import Identity
from porfin_core.domain.message import Author
from porfin_core.domain.pix import parse_br_code
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.update_clinic import ChangeClinic
from tests.integration.test_calendar_sync import _connect


async def _patient_writes(world, text: str, n: int):
    container = world.container
    clinic = await container.get_clinic()(world.clinic_id)
    channel = (await container.list_channels()(clinic.id))[0]
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=channel.id,
            provider_message_id=f"sim-ai-{n}",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Silva",
            body=text,
        )
    )
    await container.dispatcher().settled()
    world.clock.advance(seconds=9)  # past the assistant's debounce
    await world.drain()
    return received


async def _ai_messages(world, received):
    async with world.container.uow_factory()(read_only=True) as uow:
        page = await uow.messages.list_for_chat(received.clinic_id, received.chat_id, limit=50)
    return [m for m in page.items[::-1] if m.author is Author.AI]


async def test_an_ai_booking_reaches_the_agenda_google_calendar_and_sends_the_deposit(world):
    container = world.container
    await _connect(world)
    await container.update_clinic()(
        ChangeClinic(clinic_id=world.clinic_id, pix_key="123.456.789-09", city="São Paulo")
    )
    await container.create_assistant()(
        NewAssistant(clinic_id=world.clinic_id, settings={"name": "Sofia", "deposit_cents": 5000})
    )
    asked = await _patient_writes(world, "quero marcar uma limpeza amanha a tarde", 1)
    [offer] = await _ai_messages(world, asked)
    assert "1)" in offer.body and "Dra. Ana Souza" in offer.body

    picked = await _patient_writes(world, "1", 2)
    confirmation = (await _ai_messages(world, picked))[-1]
    assert "marcada" in confirmation.body and "R$ 50,00" in confirmation.body
    async with container.uow_factory()(read_only=True) as uow:
        [appointment] = await uow.appointments.list(AppointmentQuery(clinic_id=world.clinic_id))
        [charge] = await uow.charges.list(world.clinic_id)
        page = await uow.messages.list_for_chat(world.clinic_id, picked.chat_id, limit=50)
    assert appointment.source.value == "ai" and appointment.chat_id == picked.chat_id
    assert (
        appointment.start.astimezone(world.container.clock().now().tzinfo).hour >= 15
    )  # 12h local
    assert (charge.appointment_id, charge.amount_cents) == (appointment.id, 5000)
    assert parse_br_code(charge.br_code).amount_cents == 5000
    delivered = [m for m in page.items if m.extra.get("charge_id") == charge.id]
    assert len(delivered) == 2  # the copia e cola text and the QR image
    await world.drain()  # the calendar.push job
    event = world.link_event(appointment.id)
    assert event["start"]["dateTime"].startswith(
        appointment.start.astimezone().date().isoformat()[:4]
    )
    assert "Maria" in event["summary"] or "Limpeza" in event["summary"]
