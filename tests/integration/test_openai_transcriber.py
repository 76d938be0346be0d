"""Voice notes transcribed through the fake OpenAI API: the multipart upload OpenAI expects
(a file name whose extension tells the format, the model, Portuguese), retries, and every
failure as ``ModelUnavailable``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from porfin_adapters.openai import OpenAITranscriber, RetryPolicy
from porfin_adapters.openai.transcriber import file_name
from porfin_core.errors import ModelUnavailable
from tests.fakes.openai_api import (
    API_KEY,
    DEFAULT_TRANSCRIPT,
    TRANSCRIPTIONS,
    OpenAIApiFake,
    delayed,
    dropped,
    failure,
    json_answer,
    malformed,
)

VOICE_NOTE = b"OggS\x00\x02" + bytes(range(256)) * 20


@pytest.fixture(scope="module")
def openai_server() -> Iterator[OpenAIApiFake]:
    with OpenAIApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(openai_server) -> OpenAIApiFake:
    openai_server.reset()
    return openai_server


@pytest.fixture
def sleeps() -> list[float]:
    return []


def make(fake: OpenAIApiFake, sleeps: list[float], **options) -> OpenAITranscriber:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    options.setdefault("timeout", 5.0)
    return OpenAITranscriber(
        api_key=options.pop("api_key", API_KEY),
        base_url=fake.base_url,
        sleep=sleep,
        jitter=lambda: 0.0,
        **options,
    )


@pytest.fixture
async def transcriber(fake, sleeps):
    transcriber = make(fake, sleeps)
    yield transcriber
    await transcriber.aclose()


async def test_a_whatsapp_voice_note_is_uploaded_as_ogg_in_portuguese(transcriber, fake):
    text = await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg; codecs=opus")

    assert text == DEFAULT_TRANSCRIPT
    [call] = fake.calls(TRANSCRIPTIONS)
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    assert call.form == {"model": "gpt-4o-mini-transcribe", "language": "pt"}
    assert call.files["file"] == ("voice.ogg", "audio/ogg", VOICE_NOTE)


async def test_model_prompt_and_language_are_configurable(fake, sleeps):
    transcriber = make(fake, sleeps, model="whisper-1", prompt="Clínica Sorriso, clareamento")
    try:
        await transcriber.transcribe(VOICE_NOTE, media_type="audio/mpeg", language="es")
    finally:
        await transcriber.aclose()

    [call] = fake.calls(TRANSCRIPTIONS)
    assert call.form == {
        "model": "whisper-1",
        "language": "es",
        "prompt": "Clínica Sorriso, clareamento",
    }
    assert call.files["file"][0] == "voice.mp3"


@pytest.mark.parametrize(
    ("media_type", "name"),
    [
        ("audio/ogg; codecs=opus", "voice.ogg"),
        ("audio/mp4", "voice.m4a"),
        ("audio/aac", "voice.m4a"),
        ("audio/wav", "voice.wav"),
        ("audio/webm", "voice.webm"),
        ("audio/amr", "voice.amr"),
    ],
)
def test_the_file_name_tells_the_format(media_type, name):
    assert file_name(media_type) == name


async def test_the_text_is_stripped(transcriber, fake):
    fake.transcript = "  Oi, tudo bem?\n"

    assert await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg") == "Oi, tudo bem?"


async def test_failures_are_retried_with_backoff(transcriber, fake, sleeps):
    fake.script(failure(500), failure(429, retry_after="1"), path=TRANSCRIPTIONS)

    assert await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg") == DEFAULT_TRANSCRIPT
    assert len(fake.calls(TRANSCRIPTIONS)) == 3
    assert sleeps == [0.25, 1.0]


@pytest.mark.parametrize("broken", [dropped, malformed], ids=["dropped", "malformed"])
async def test_a_broken_answer_is_retried(transcriber, fake, broken):
    fake.script(broken(), path=TRANSCRIPTIONS)

    assert await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg") == DEFAULT_TRANSCRIPT


async def test_an_answer_without_text_is_retried(transcriber, fake):
    fake.script(json_answer({"usage": {"type": "tokens"}}), path=TRANSCRIPTIONS)

    assert await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg") == DEFAULT_TRANSCRIPT
    assert len(fake.calls(TRANSCRIPTIONS)) == 2


async def test_server_errors_every_time_are_model_unavailable(transcriber, fake):
    fake.script(*[failure(503)] * 3, path=TRANSCRIPTIONS)

    with pytest.raises(ModelUnavailable) as caught:
        await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg")

    assert caught.value.reason == "server_error"
    assert caught.value.fields["operation"] == "transcribe"
    assert caught.value.fields["attempts"] == 3


async def test_timeouts_are_reason_timeout(fake, sleeps):
    transcriber = make(fake, sleeps, timeout=0.2, policy=RetryPolicy(max_attempts=2))
    fake.script(delayed(1.0), delayed(1.0), path=TRANSCRIPTIONS)
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg")
    finally:
        await transcriber.aclose()

    assert caught.value.reason == "timeout"
    assert len(fake.calls(TRANSCRIPTIONS)) == 2


async def test_a_wrong_key_is_unauthorized_without_retry(fake, sleeps):
    transcriber = make(fake, sleeps, api_key="sk-wrong")
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await transcriber.transcribe(VOICE_NOTE, media_type="audio/ogg")
    finally:
        await transcriber.aclose()

    assert caught.value.reason == "unauthorized"
    assert len(fake.calls(TRANSCRIPTIONS)) == 1
    assert sleeps == []


async def test_a_format_the_server_refuses_is_bad_request(transcriber, fake, sleeps):
    fake.script(failure(400), path=TRANSCRIPTIONS)

    with pytest.raises(ModelUnavailable) as caught:
        await transcriber.transcribe(VOICE_NOTE, media_type="audio/amr")

    assert caught.value.reason == "bad_request"
    assert sleeps == []


async def test_empty_audio_is_refused_without_a_call(transcriber, fake):
    with pytest.raises(ModelUnavailable) as caught:
        await transcriber.transcribe(b"", media_type="audio/ogg")

    assert caught.value.reason == "bad_request"
    assert fake.calls(TRANSCRIPTIONS) == []
