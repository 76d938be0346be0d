"""A reminder answered through each channel adapter: a Cloud API reply button, a Cloud API
template quick reply, and the numbered menu of the Evolution bridge. Runs the real container
(SQLite, event dispatcher, job worker, outbound sender) against the fake Graph and Evolution
servers; the reminder job scheduled before a restart fires once after it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.customer import Identity
from porfin_core.domain.jobs import JobStatus
from porfin_core.domain.message import Direction, MessageKind
from porfin_core.domain.reminders import ReplyIntent, button_payload
from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.plan_appointment_reminders import reminder_subject
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from tests.fakes.evolution_api import FakeEvolution, serve
from tests.fakes.graph_api import TOKEN, GraphApiFake
from tests.scheduling_builders import local
from tests.support import FixedClock

PATIENT = "+5511987654321"
START = local(datetime(2026, 12, 2).date(), 14, 30)
EVE = local(datetime(2026, 12, 1).date(), 10, 0)


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphApiFake]:
    with GraphApiFake.serving() as fake:
        yield fake


@pytest.fixture
def evolution():
    yield from serve(FakeEvolution(instances={"clinica": "open"}))


def _container(tmp_path, graph, clock):
    settings = Settings(storage=StorageKind.SQLITE, data_dir=tmp_path, whatsapp_graph_url=graph.url)
    container = composition.create_container(settings)
    container.clock.override(providers.Object(clock))
    return container


async def _clinic(container, provider: str, evolution) -> tuple[str, str]:
    installation = await container.set_up_installation()()
    if provider == "cloud_api":
        settings = {
            "phone_number_id": "106540352242922",
            "waba_id": "102290129340398",
            "access_token": TOKEN,
            "app_secret": "segredo",
            "reminder_template": "lembrete_consulta",
        }
    else:
        settings = {
            "base_url": evolution.url,
            "instance": "clinica",
            "api_key": evolution.fake.api_key,
        }
    channel = await container.create_channel()(
        NewChannel(
            clinic_id=installation.clinic.id,
            name="Recepção",
            provider=provider,
            phone="+55 11 3333-4444",
            settings=settings,
        )
    )
    return installation.clinic.id, channel.id


async def _book(container, clinic_id: str, channel_id: str, provider: str):
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=channel_id,
            provider_message_id="wamid.first",
            sender=[Identity.of_phone(PATIENT)],
            sender_name="Maria",
            body="Oi! Quero marcar uma limpeza",
        )
    )
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    ana = await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    return await container.book_appointment()(
        NewAppointment(
            clinic_id=clinic_id,
            customer_id=received.customer_id,
            professional_id=ana.id,
            type_id=cleaning.id,
            start=START,
            chat_id=received.chat_id,
        )
    )


def _cloud_webhook(message: dict) -> dict:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Maria"}, "wa_id": PATIENT[1:]}],
        "messages": [
            {"from": PATIENT[1:], "id": "wamid.answer", "timestamp": "1796050000", **message}
        ],
    }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def _evolution_text(text: str) -> dict:
    return {
        "event": "messages.upsert",
        "instance": "clinica",
        "data": {
            "key": {"remoteJid": f"{PATIENT[1:]}@s.whatsapp.net", "fromMe": False, "id": "3EB0A1"},
            "pushName": "Maria",
            "message": {"conversation": text},
            "messageType": "conversation",
            "messageTimestamp": 1796050000,
        },
    }


async def _settle(container):
    await container.dispatcher().settled()


async def _remind_then_answer(tmp_path, graph, evolution, provider, answer):
    """Book (first run), restart after the reminder's time, let the job worker send the
    reminder, then deliver the patient's answer through the channel's adapter."""
    clock = FixedClock(datetime(2026, 11, 25, 13, 0).astimezone())
    first = _container(tmp_path, graph, clock)
    await composition.start(first)
    try:
        clinic_id, channel_id = await _clinic(first, provider, evolution)
        appointment = await _book(first, clinic_id, channel_id, provider)
        await _settle(first)  # the booking's event planned the reminders
    finally:
        await composition.stop(first)

    clock.current = EVE  # the day before at 10:00; the window (24 h) closed long ago
    second = _container(tmp_path, graph, clock)
    await composition.start(second)
    try:
        worker = second.job_worker()
        await worker.stop()  # run due jobs here, deterministically
        assert await worker.drain() == 1  # the day-before reminder, once
        assert await worker.drain() == 0
        channel = await second.get_channel()(clinic_id, channel_id)
        if provider == "cloud_api":
            await second.cloud_api_inbound()(channel, _cloud_webhook(answer(appointment.id)))
        else:
            await second.evolution_inbound()(channel, _evolution_text(answer(appointment.id)))
        await _settle(second)
        await second.outbound_sender().drain()
        stored = await second.get_appointment()(clinic_id, appointment.id)
        async with second.uow_factory()(read_only=True) as uow:
            jobs = await uow.jobs.for_subject(clinic_id, reminder_subject(appointment.id))
            chat_id = appointment.chat_id
            page = await uow.messages.list_for_chat(clinic_id, chat_id, limit=20)
    finally:
        await composition.stop(second)
    return stored, jobs, page.items


async def test_a_cloud_api_reply_button_confirms(tmp_path, graph, evolution):
    graph.reset()

    def button(appointment_id):
        payload = button_payload(appointment_id, ReplyIntent.CONFIRM)
        return {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": payload, "title": "Confirmar"},
            },
        }

    stored, jobs, messages = await _remind_then_answer(
        tmp_path, graph, evolution, "cloud_api", button
    )
    assert stored.status is AppointmentStatus.CONFIRMED
    reminder = next(m for m in messages if "reminder" in m.extra)
    assert reminder.kind is MessageKind.TEMPLATE  # outside the window: the approved template
    sent = [s for s in graph.sent() if s["type"] == "template"]
    assert sent[0]["template"]["name"] == "lembrete_consulta"
    assert "confirmada" in messages[0].body and messages[0].direction is Direction.OUTBOUND
    assert sorted(job.status for job in jobs) == [JobStatus.DONE, JobStatus.SCHEDULED]


async def test_a_template_quick_reply_confirms(tmp_path, graph, evolution):
    graph.reset()

    def quick_reply(appointment_id):
        payload = button_payload(appointment_id, ReplyIntent.CONFIRM)
        return {"type": "button", "button": {"payload": payload, "text": "Confirmar"}}

    stored, _, _ = await _remind_then_answer(tmp_path, graph, evolution, "cloud_api", quick_reply)
    assert stored.status is AppointmentStatus.CONFIRMED


async def test_the_evolution_numbered_menu_confirms_with_1(tmp_path, graph, evolution):
    stored, _, _ = await _remind_then_answer(tmp_path, graph, evolution, "evolution", lambda _: "1")
    assert stored.status is AppointmentStatus.CONFIRMED
    texts = [r.body.get("text", "") for r in evolution.fake.sent() if isinstance(r.body, dict)]
    assert any("1." in text and "Confirmar" in text for text in texts)  # the numbered menu


async def test_cancelling_cancels_the_reminders_before_they_fire(tmp_path, graph, evolution):
    clock = FixedClock(datetime(2026, 11, 25, 13, 0).astimezone())
    container = _container(tmp_path, graph, clock)
    await composition.start(container)
    try:
        clinic_id, channel_id = await _clinic(container, "cloud_api", evolution)
        appointment = await _book(container, clinic_id, channel_id, "cloud_api")
        await _settle(container)
        await container.cancel_appointment()(
            Cancellation(clinic_id=clinic_id, appointment_id=appointment.id)
        )
        await _settle(container)
        clock.current = START - timedelta(hours=1)
        worker = container.job_worker()
        await worker.stop()
        assert await worker.drain() == 0
        async with container.uow_factory()(read_only=True) as uow:
            jobs = await uow.jobs.for_subject(clinic_id, reminder_subject(appointment.id))
    finally:
        await composition.stop(container)
    assert len(jobs) == 2 and {job.status for job in jobs} == {JobStatus.CANCELLED}
