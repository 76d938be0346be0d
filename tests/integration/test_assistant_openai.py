"""The AI receptionist on the OpenAI engine, against the fake OpenAI server: a tool call then a
reply (with the tools, the clinic's facts and the patient's message sent, cost recorded), and
a model that keeps failing (429, 500, timeouts): retried, the fallback tried, and finally the
chat handed to a person, the patient's message kept and the patient told."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers

from porfin_adapters.container import Container
from porfin_adapters.openai.chat_model import OpenAIChatModel
from porfin_adapters.openai.client import RetryPolicy
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.assistant import TurnStatus
from porfin_core.domain.chat import ChatMode
from porfin_core.domain.customer import Identity
from porfin_core.domain.message import Author
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from tests.fakes.openai_api import (
    API_KEY,
    TRANSCRIPTIONS,
    OpenAIApiFake,
    completion_answer,
    delayed,
    failure,
)
from tests.support import FixedClock, SequentialIds


@pytest.fixture
def container(tmp_path) -> Container:
    built = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    built.clock.override(providers.Object(FixedClock()))
    built.ids.override(providers.Object(SequentialIds()))
    return built


@pytest.fixture
async def installation(container):
    return await container.set_up_installation()()


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIApiFake]:
    with OpenAIApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(openai_server) -> OpenAIApiFake:
    openai_server.reset()
    return openai_server


@pytest.fixture
async def openai_container(container, fake):
    async def no_wait(_: float) -> None:
        return None

    model = OpenAIChatModel(
        api_key=API_KEY,
        base_url=fake.base_url,
        timeout=0.5,
        policy=RetryPolicy(max_attempts=2),
        sleep=no_wait,
    )
    container.openai_chat_model.override(providers.Object(model))
    yield container
    await model.aclose()


@pytest.fixture
async def patient(openai_container, installation):
    container = openai_container
    clinic_id = installation.clinic.id
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    await container.create_assistant()(
        NewAssistant(
            clinic_id=clinic_id,
            settings={
                "name": "Sofia",
                "engine": "openai",
                "model": "gpt-4.1-mini",
                "fallback_model": "gpt-4.1-nano",
                "facts": {"address": "Rua das Flores, 100"},
            },
        )
    )
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.1",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Souza",
            body="Oi, tem horário pra limpeza amanhã?",
        )
    )


async def _answer(container, received):
    return await container.answer_with_assistant()(
        received.clinic_id, received.chat_id, received.message_id
    )


async def _chat_and_messages(container, received):
    async with container.uow_factory()(read_only=True) as uow:
        chat = await uow.chats.get(received.clinic_id, received.chat_id)
        page = await uow.messages.list_for_chat(received.clinic_id, received.chat_id, limit=20)
    return chat, page.items[::-1]


async def test_a_tool_call_then_a_reply(openai_container, patient, fake):
    fake.script(
        completion_answer(tool_calls=(("call_1", "find_slots", '{"procedure": "limpeza"}'),)),
        completion_answer(content="Tenho amanhã às 8h com a Dra. Ana. Pode ser?"),
    )
    turn = await _answer(openai_container, patient)
    assert turn.status is TurnStatus.REPLIED
    assert turn.tools_called() == ["find_slots"]
    [tool_step] = [s for s in turn.steps if s.kind == "tool"]
    assert tool_step.detail["result"]["ok"] is True and tool_step.detail["result"]["slots"]
    first, second = fake.calls()
    names = {t["function"]["name"] for t in first.json["tools"]}
    assert {"find_slots", "book_appointment", "hand_off"} <= names
    system = first.json["messages"][0]["content"]
    assert "Rua das Flores" in system and "Sofia" in system
    assert first.json["messages"][-1] == {
        "role": "user",
        "content": "Oi, tem horário pra limpeza amanhã?",
    }
    assert second.json["messages"][-1]["role"] == "tool"
    assert turn.input_tokens == 200 and turn.cost_millicents > 0
    _, messages = await _chat_and_messages(openai_container, patient)
    assert messages[-1].author is Author.AI and "Dra. Ana" in messages[-1].body
    async with openai_container.uow_factory()(read_only=True) as uow:
        usage = await uow.assistant_turns.usage(patient.clinic_id, "2026-11")
    assert usage.input_tokens == 200 and usage.turns == 1


async def test_rate_limits_are_retried_then_the_fallback_answers(openai_container, patient, fake):
    fake.script(
        failure(429, retry_after="0"),
        failure(429, retry_after="0"),
        completion_answer(content="Olá! Temos horário amanhã às 8h. Quer marcar?"),
    )
    turn = await _answer(openai_container, patient)
    assert turn.status is TurnStatus.REPLIED
    assert fake.models_asked() == ["gpt-4.1-mini", "gpt-4.1-mini", "gpt-4.1-nano"]
    assert turn.model == "gpt-4.1-nano"


@pytest.mark.parametrize(
    "failing",
    [
        pytest.param(lambda: failure(500), id="server-errors"),
        pytest.param(lambda: delayed(2.0), id="timeouts"),
    ],
)
async def test_a_model_that_keeps_failing_hands_the_chat_to_a_person(
    openai_container, patient, fake, failing
):
    fake.script(*(failing() for _ in range(4)))
    turn = await _answer(openai_container, patient)
    assert turn.status is TurnStatus.HANDED_OFF
    assert turn.handoff_reason.startswith("ai_unavailable:")
    assert len(fake.calls()) == 4  # two attempts on the model, two on the fallback
    chat, messages = await _chat_and_messages(openai_container, patient)
    assert chat.mode is ChatMode.HUMAN and chat.assignee_id is None
    assert messages[0].body == "Oi, tem horário pra limpeza amanhã?"  # never lost
    assert messages[-1].author is Author.AI and "equipe" in messages[-1].body


async def test_a_voice_note_is_transcribed_and_answered(container, installation, fake):
    import hashlib

    from porfin_adapters.openai.transcriber import OpenAITranscriber
    from porfin_core.domain.media import MediaKind, StoredMedia
    from porfin_core.domain.message import MediaRef, MessageKind

    async def no_wait(_: float) -> None:
        return None

    transcriber = OpenAITranscriber(api_key=API_KEY, base_url=fake.base_url, sleep=no_wait)
    container.openai_transcriber.override(providers.Object(transcriber))
    clinic_id = installation.clinic.id
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    await container.create_assistant()(
        NewAssistant(clinic_id=clinic_id, settings={"name": "Sofia"})
    )
    audio = b"OggS" + b"\0" * 200
    stored = StoredMedia(
        id="voice1",
        clinic_id=clinic_id,
        kind=MediaKind.AUDIO,
        mime_type="audio/ogg",
        size=len(audio),
        sha256=hashlib.sha256(audio).hexdigest(),
        created_at=container.clock().now(),
    )
    await container.media_store().put(stored, audio)
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.voice",
            sender=[Identity.of_phone("+5511987654321")],
            kind=MessageKind.AUDIO,
            media=MediaRef(mime_type="audio/ogg", stored_path="voice1", size=len(audio)),
        )
    )
    try:
        turn = await _answer(container, received)
    finally:
        await transcriber.aclose()
    [heard] = [s for s in turn.steps if s.kind == "transcription"]
    assert heard.detail["ok"] is True and "limpeza" in heard.detail["text"]
    assert turn.status is TurnStatus.REPLIED, turn.handoff_reason
    assert turn.tools_called() == ["find_slots"]
    [call] = fake.calls(TRANSCRIPTIONS)
    assert call.form["model"] == "gpt-4o-mini-transcribe" and call.form["language"] == "pt"
