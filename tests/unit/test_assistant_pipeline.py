"""The AI receptionist's pipeline on the offline engine (memory container): booking in two
turns, bursts answered once, staff messages and newer messages superseding a reply, red
flags and other languages handed off before any model call, prices only from the knowledge
base, and the trace of every step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from porfin_core.domain.assistant import TurnStatus
from porfin_core.domain.chat import ChatMode
from porfin_core.domain.customer import Identity
from porfin_core.domain.knowledge import KnowledgeChunk, KnowledgeDocument
from porfin_core.domain.message import Author
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_chat import ChangeChat

PHONE = "+5511987654321"
PRICES = "Limpeza (profilaxia): R$ 180,00\nClareamento a laser: R$ 1.200,00"


@pytest.fixture
async def clinic(container, installation):
    clinic_id = installation.clinic.id
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    ana = await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    assistant = await container.create_assistant()(
        NewAssistant(
            clinic_id=clinic_id,
            settings={
                "name": "Sofia",
                "facts": {"address": "Rua das Flores, 100 - Centro", "insurance": "Amil Dental"},
            },
        )
    )
    document = KnowledgeDocument(
        id="doc1",
        clinic_id=clinic_id,
        title="Tabela de preços",
        filename="precos.txt",
        media_type="text/plain",
        size_bytes=len(PRICES),
        sha256="0" * 64,
        chunk_count=1,
        created_at=container.clock().now(),
        created_by="admin",
    )
    await container.knowledge_base().add(
        document,
        [KnowledgeChunk(id="c1", document_id="doc1", clinic_id=clinic_id, ordinal=0, text=PRICES)],
    )
    return {"id": clinic_id, "ana": ana, "cleaning": cleaning, "assistant": assistant}


async def _write(container, installation, text, n):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id=f"wamid.{n}",
            sender=[Identity.of_phone(PHONE)],
            sender_name="Maria Souza",
            body=text,
        )
    )


async def _answer(container, received):
    return await container.answer_with_assistant()(
        received.clinic_id, received.chat_id, received.message_id
    )


async def _ai_messages(container, received):
    async with container.uow_factory()(read_only=True) as uow:
        page = await uow.messages.list_for_chat(received.clinic_id, received.chat_id, limit=50)
    return [m for m in page.items[::-1] if m.author is Author.AI]


async def test_a_booking_in_two_turns(container, installation, clinic, clock):
    first = await _write(container, installation, "oi, queria marcar uma limpeza amanhã à tarde", 1)
    turn = await _answer(container, first)
    assert turn.status is TurnStatus.REPLIED
    assert turn.tools_called() == ["find_slots"]
    [offer] = await _ai_messages(container, first)
    assert "1)" in offer.body and "Dra. Ana" in offer.body
    second = await _write(container, installation, "2", 2)
    turn = await _answer(container, second)
    assert turn.tools_called() == ["book_appointment"], turn.steps
    booked = await _ai_messages(container, second)
    assert "marcada" in booked[-1].body
    async with container.uow_factory()(read_only=True) as uow:
        found = await uow.appointments.list(AppointmentQuery(clinic_id=clinic["id"]))
    [appointment] = found
    local = appointment.start.astimezone(installation.clinic.zone)
    tomorrow = (clock.now().astimezone(installation.clinic.zone) + timedelta(days=1)).date()
    assert local.date() >= tomorrow and local.hour >= 12
    assert appointment.source.value == "ai"


async def test_a_red_flag_hands_off_at_once_and_urgently(container, installation, clinic):
    received = await _write(container, installation, "to com o rosto muito inchado e febre", 1)
    turn = await _answer(container, received)
    assert turn.status is TurnStatus.HANDED_OFF
    assert turn.handoff_reason.startswith("red_flag")
    assert not [s for s in turn.steps if s.kind == "model"]
    async with container.uow_factory()(read_only=True) as uow:
        chat = await uow.chats.get(received.clinic_id, received.chat_id)
    assert chat.mode is ChatMode.HUMAN and chat.urgent and chat.assignee_id is None
    [message] = await _ai_messages(container, received)
    assert "192" in message.body


async def test_a_burst_gets_one_reply_and_a_staff_message_supersedes(
    container, installation, clinic
):
    first = await _write(container, installation, "oi", 1)
    second = await _write(container, installation, "quanto custa a limpeza?", 2)
    assert await _answer(container, first) is None  # a newer message answers the burst
    turn = await _answer(container, second)
    assert turn.status is TurnStatus.REPLIED, [(s.kind, s.detail) for s in turn.steps]
    assert turn.message_ids == [
        first.message_id,
        second.message_id,
    ]
    [reply] = await _ai_messages(container, second)
    assert "180,00" in reply.body
    third = await _write(container, installation, "e clareamento?", 3)
    await container.send_staff_message()(
        SendText(clinic_id=third.clinic_id, chat_id=third.chat_id, author_id="u1", text="Oi!")
    )
    assert await _answer(container, third) is None  # a person answered: the AI stays quiet
    assert len(await _ai_messages(container, third)) == 1


async def test_other_languages_and_asking_for_a_person_are_handed_off(
    container, installation, clinic
):
    received = await _write(container, installation, "Hello, I need an appointment please", 1)
    turn = await _answer(container, received)
    assert turn.status is TurnStatus.HANDED_OFF and turn.handoff_reason == "language:en"


async def test_a_burst_of_three_within_the_debounce_gets_one_reply_for_all_three(
    container, installation, clinic, clock
):
    dispatcher, worker = container.dispatcher(), container.job_worker()
    container.assistant_reactions().attach(dispatcher, worker)
    burst = ["oi", "queria marcar uma limpeza", "amanha a tarde"]
    for n, text in enumerate(burst, start=1):
        received = await _write(container, installation, text, n)
        await dispatcher.drain()
        clock.advance(seconds=2)
    await worker.drain()
    assert await _ai_messages(container, received) == []  # still within the debounce
    clock.advance(seconds=10)
    await worker.drain()
    [reply] = await _ai_messages(container, received)
    async with container.uow_factory()(read_only=True) as uow:
        [turn] = await uow.assistant_turns.for_chat(received.clinic_id, received.chat_id)
    assert len(turn.message_ids) == 3
    [find] = [s for s in turn.steps if s.kind == "tool"]
    tomorrow = (clock.now().astimezone(installation.clinic.zone) + timedelta(days=1)).date()
    assert find.detail["arguments"]["procedure"] == "limpeza"
    assert find.detail["arguments"]["first_day"] == tomorrow.isoformat()
    assert find.detail["arguments"]["after"] == "12:00"
    assert "1)" in reply.body


async def test_a_staff_message_during_generation_cancels_the_ai_reply(
    container, installation, clinic
):
    from dependency_injector import providers

    from porfin_adapters.offline_engine import OfflineEngine

    received = await _write(container, installation, "quanto custa a limpeza?", 1)
    engine = OfflineEngine()

    class StaffInterrupts:
        async def complete(self, request, on_text=None):
            await container.send_staff_message()(
                SendText(
                    clinic_id=received.clinic_id,
                    chat_id=received.chat_id,
                    author_id="u1",
                    text="Oi Maria, eu te ajudo!",
                )
            )
            return await engine.complete(request, on_text)

    container.offline_engine.override(providers.Object(StaffInterrupts()))
    turn = await _answer(container, received)
    assert turn.status is TurnStatus.SUPERSEDED and turn.reply
    assert await _ai_messages(container, received) == []


async def test_a_voice_note_without_transcription_goes_to_a_person(container, installation, clinic):
    from porfin_core.domain.message import MediaRef, MessageKind

    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.voice",
            sender=[Identity.of_phone(PHONE)],
            kind=MessageKind.AUDIO,
            media=MediaRef(mime_type="audio/ogg; codecs=opus", provider_media_id="m1"),
        )
    )
    turn = await _answer(container, received)
    assert (turn.status, turn.handoff_reason) == (TurnStatus.HANDED_OFF, "voice_note")
    [message] = await _ai_messages(container, received)
    assert "áudio" in message.body


async def test_a_closed_chat_goes_back_to_the_ai_under_the_clinic_s_policy(
    container, installation, clinic, clock
):
    from porfin_core.use_cases.update_clinic import ChangeClinic

    first = await _write(container, installation, "quero falar com uma pessoa", 1)
    assert (await _answer(container, first)).status is TurnStatus.HANDED_OFF
    close = ChangeChat(clinic_id=first.clinic_id, chat_id=first.chat_id, status="closed")
    await container.update_chat()(close)
    clock.advance(hours=30)
    again = await _write(container, installation, "oi de novo", 2)
    async with container.uow_factory()(read_only=True) as uow:
        chat = await uow.chats.get(first.clinic_id, first.chat_id)
    assert chat.mode is ChatMode.HUMAN  # no policy: only staff give the chat back
    assert await _answer(container, again) is None
    await container.update_clinic()(
        ChangeClinic(clinic_id=first.clinic_id, ai_resume_after_hours=24)
    )
    await container.update_chat()(close)
    clock.advance(hours=25)
    third = await _write(container, installation, "oi, quanto custa a limpeza?", 3)
    async with container.uow_factory()(read_only=True) as uow:
        chat = await uow.chats.get(first.clinic_id, first.chat_id)
    assert chat.mode is ChatMode.AI and chat.handoff_reason is None
    assert (await _answer(container, third)).status is TurnStatus.REPLIED


async def test_a_spent_budget_an_unconfigured_engine_and_after_hours_hand_off(
    container, installation, clinic, clock
):
    from porfin_core.domain.assistant import AssistantUsage
    from porfin_core.use_cases.update_assistant import ChangeAssistant

    update = container.update_assistant()
    change = ChangeAssistant(
        clinic_id=clinic["id"],
        assistant_id=clinic["assistant"].id,
        settings={"engine": "openai", "monthly_budget_cents": 1000},
    )
    await update(change)
    first = await _write(container, installation, "oi, tudo bem?", 1)
    turn = await _answer(container, first)
    assert turn.handoff_reason == "ai_unavailable:not_configured"  # no OpenAI key here

    await container.update_chat()(
        ChangeChat(clinic_id=first.clinic_id, chat_id=first.chat_id, mode="ai")
    )
    async with container.uow_factory()() as uow:
        await uow.assistant_turns.save_usage(
            AssistantUsage(clinic_id=clinic["id"], month="2026-11", cost_millicents=1_000_000)
        )
        await uow.commit()
    second = await _write(container, installation, "oi de novo", 2)
    assert (await _answer(container, second)).handoff_reason == "budget_exhausted"

    await update(
        ChangeAssistant(
            clinic_id=clinic["id"],
            assistant_id=clinic["assistant"].id,
            settings={"engine": "offline", "after_hours": "hand_off"},
        )
    )
    await container.update_chat()(
        ChangeChat(clinic_id=first.clinic_id, chat_id=first.chat_id, mode="ai")
    )
    clock.advance(hours=12)  # 01:00 in São Paulo
    third = await _write(container, installation, "oi, vcs estao abertos?", 3)
    late = await _answer(container, third)
    assert late.handoff_reason == "after_hours"
    assert "assim que a clínica abrir" in late.reply


async def test_a_red_flag_is_not_kept_waiting_for_the_debounce(container, installation, clinic):
    dispatcher, worker = container.dispatcher(), container.job_worker()
    container.assistant_reactions().attach(dispatcher, worker)
    received = await _write(container, installation, "o sangue nao para de sair", 1)
    await dispatcher.drain()
    await worker.drain()  # no time passed
    [message] = await _ai_messages(container, received)
    assert "192" in message.body
    async with container.uow_factory()(read_only=True) as uow:
        [turn] = await uow.assistant_turns.for_chat(received.clinic_id, received.chat_id)
    assert turn.intent is not None and turn.handoff_reason.startswith("red_flag")


async def test_the_options_offered_are_remembered_across_a_question_in_between(
    container, installation, clinic
):
    first = await _write(container, installation, "quero marcar uma limpeza amanha a tarde", 1)
    assert (await _answer(container, first)).tools_called() == ["find_slots"]
    price = await _write(container, installation, "quanto custa a limpeza?", 2)
    assert (await _answer(container, price)).status is TurnStatus.REPLIED
    pick = await _write(container, installation, "1", 3)
    assert (await _answer(container, pick)).tools_called() == ["book_appointment"]
