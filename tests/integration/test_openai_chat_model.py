"""The OpenAI chat model against a fake OpenAI-compatible API on 127.0.0.1: every recorded
answer read the same streamed or not, tool calls assembled from their deltas, refusals, the
request OpenAI expects, retries with backoff (no real sleeping), the fallback model, and every
failure as ``ModelUnavailable`` with the right reason.

Set PORFIN_TEST_OPENAI_API_KEY (and optionally PORFIN_TEST_OPENAI_BASE_URL,
PORFIN_TEST_OPENAI_MODEL) to also run one real call against OpenAI.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from porfin_adapters.openai import OpenAIChatModel, RetryPolicy
from porfin_adapters.openai.failures import retry_after_seconds
from porfin_core.errors import ModelUnavailable
from porfin_core.ports.chat_model import (
    ModelMessage,
    ModelReply,
    ModelRequest,
    ModelSettings,
    TokenUsage,
    ToolCall,
    ToolSpec,
)
from tests.fakes.openai_api import (
    API_KEY,
    CHAT,
    OpenAIApiFake,
    completion_answer,
    delayed,
    dropped,
    events_answer,
    failure,
    fixed_temperature,
    fixture_answer,
    fixture_text,
    insufficient_quota,
    json_answer,
    malformed,
    sse_chunks,
    truncated_stream,
)

MODEL = "gpt-4.1-mini"
FALLBACK = "gpt-4.1-nano"

FIND_SLOTS = ToolSpec(
    name="find_slots",
    description="Horários livres de um procedimento num dia.",
    parameters={
        "type": "object",
        "properties": {
            "procedure": {"type": "string", "description": "limpeza, canal, clareamento..."},
            "day": {"type": "string", "format": "date"},
        },
        "required": ["procedure", "day"],
        "additionalProperties": False,
    },
)
HAND_OFF = ToolSpec(
    name="hand_off",
    description="Passa a conversa para uma pessoa da clínica.",
    parameters={
        "type": "object",
        "properties": {"reason": {"type": "string"}},
        "required": ["reason"],
    },
)


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


def make_model(fake: OpenAIApiFake, sleeps: list[float], **options) -> OpenAIChatModel:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    options.setdefault("timeout", 5.0)
    return OpenAIChatModel(
        api_key=options.pop("api_key", API_KEY),
        base_url=options.pop("base_url", fake.base_url),
        sleep=sleep,
        jitter=lambda: 0.5,
        **options,
    )


@pytest.fixture
async def model(fake, sleeps):
    model = make_model(fake, sleeps)
    yield model
    await model.aclose()


def request(*, fallback: str | None = FALLBACK, tools=(FIND_SLOTS, HAND_OFF), **settings):
    return ModelRequest(
        settings=ModelSettings(model=MODEL, fallback_model=fallback, **settings),
        messages=(
            ModelMessage(role="system", content="Você é a Bia, recepcionista da Clínica Sorriso."),
            ModelMessage(role="user", content="Oi! Tem horário pra limpeza amanhã à tarde?"),
        ),
        tools=tools,
    )


class Collected:
    """An ``on_text`` sink that keeps the pieces."""

    def __init__(self) -> None:
        self.pieces: list[str] = []

    async def __call__(self, piece: str) -> None:
        self.pieces.append(piece)


async def ask(model: OpenAIChatModel, streaming: bool, req: ModelRequest | None = None):
    sink = Collected()
    reply = await model.complete(req or request(), sink if streaming else None)
    return reply, sink.pieces


def recorded_text(name: str) -> str:
    return "".join(
        c["choices"][0]["delta"].get("content") or ""
        for c in sse_chunks(fixture_text(name))
        if c["choices"]
    )


WEATHER = '{"city": "Edinburgh", "country": "GB", "units": "c"}'
STOCK = '{"ticker": "AAPL", "exchange": "NASDAQ"}'
SAN_FRANCISCO = '{"city":"San Francisco","state":"CA"}'

EXPECTED = {
    "chat_completion_parallel_tool_calls.json": ModelReply(
        tool_calls=(
            ToolCall(
                id="call_fdNz3vOBKYgOIpMdWotB9MjY",
                name="GetWeatherArgs",
                arguments={"city": "Edinburgh", "country": "GB", "units": "c"},
                raw_arguments=WEATHER,
            ),
            ToolCall(
                id="call_h1DWI1POMJLb0KwIyQHWXD4p",
                name="get_stock_price",
                arguments={"ticker": "AAPL", "exchange": "NASDAQ"},
                raw_arguments=STOCK,
            ),
        ),
        model=MODEL,
        usage=TokenUsage(input_tokens=149, output_tokens=60),
        finish_reason="tool_calls",
    ),
    "chat_stream_parallel_tool_calls.sse": ModelReply(
        tool_calls=(
            ToolCall(
                id="call_JMW1whyEaYG438VE1OIflxA2",
                name="GetWeatherArgs",
                arguments={"city": "Edinburgh", "country": "GB", "units": "c"},
                raw_arguments=WEATHER,
            ),
            ToolCall(
                id="call_DNYTawLBoN8fj3KN6qU9N1Ou",
                name="get_stock_price",
                arguments={"ticker": "AAPL", "exchange": "NASDAQ"},
                raw_arguments=STOCK,
            ),
        ),
        model=MODEL,
        usage=TokenUsage(input_tokens=149, output_tokens=60),
        finish_reason="tool_calls",
    ),
    "chat_completion_strict_tool_call.json": ModelReply(
        tool_calls=(
            ToolCall(
                id="call_CUdUoJpsWWVdxXntucvnol1M",
                name="get_weather",
                arguments={"city": "San Francisco", "state": "CA"},
                raw_arguments=SAN_FRANCISCO,
            ),
        ),
        model=MODEL,
        usage=TokenUsage(input_tokens=48, output_tokens=19),
        finish_reason="tool_calls",
    ),
    "chat_stream_strict_tool_call.sse": ModelReply(
        tool_calls=(
            ToolCall(
                id="call_CTf1nWJLqSeRgDqaCG27xZ74",
                name="get_weather",
                arguments={"city": "San Francisco", "state": "CA"},
                raw_arguments=SAN_FRANCISCO,
            ),
        ),
        model=MODEL,
        usage=TokenUsage(input_tokens=48, output_tokens=19),
        finish_reason="tool_calls",
    ),
    "chat_response_tool_calls_apiref.json": ModelReply(
        tool_calls=(
            ToolCall(
                id="call_abc123",
                name="get_current_weather",
                arguments={"location": "Boston, MA"},
                raw_arguments='{\n"location": "Boston, MA"\n}',
            ),
        ),
        model=MODEL,
        usage=TokenUsage(input_tokens=82, output_tokens=17),
        finish_reason="tool_calls",
    ),
    "chat_completion_refusal.json": ModelReply(
        refusal="I'm very sorry, but I can't assist with that.",
        model=MODEL,
        usage=TokenUsage(input_tokens=79, output_tokens=12),
    ),
    "chat_stream_text_with_usage.sse": ModelReply(
        text=recorded_text("chat_stream_text_with_usage.sse"),
        model=MODEL,
        usage=TokenUsage(input_tokens=14, output_tokens=30),
    ),
}


# -- every recording, streamed and not ----------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_every_recorded_answer_reads_the_same_streamed_or_not(model, fake, name, streaming):
    fake.script(name)

    reply, pieces = await ask(model, streaming)

    assert reply == EXPECTED[name]
    assert "".join(pieces) == (reply.text if streaming else "")
    [call] = fake.calls()
    assert call.json.get("stream", False) is streaming


async def test_streamed_text_pieces_reach_on_text_in_order_as_recorded(model, fake):
    fake.script("chat_stream_text_with_usage.sse")

    reply, pieces = await ask(model, streaming=True)

    recorded = [
        c["choices"][0]["delta"]["content"]
        for c in sse_chunks(fixture_text("chat_stream_text_with_usage.sse"))
        if c["choices"] and c["choices"][0]["delta"].get("content")
    ]
    assert pieces == recorded
    assert pieces[:3] == ["I'm", " unable", " to"]
    assert reply.text.startswith("I'm unable to provide real-time weather updates.")
    assert reply.usage == TokenUsage(input_tokens=14, output_tokens=30)


async def test_tool_call_deltas_are_assembled_by_index_with_arguments_concatenated(model, fake):
    # The recording's first call comes in 11 argument fragments after an empty one.
    fragments = [
        tc["function"]["arguments"]
        for c in sse_chunks(fixture_text("chat_stream_parallel_tool_calls.sse"))
        if c["choices"]
        for tc in c["choices"][0]["delta"].get("tool_calls") or []
        if tc["index"] == 0
    ]
    assert len(fragments) > 10 and "".join(fragments) == WEATHER
    fake.script("chat_stream_parallel_tool_calls.sse")

    reply, pieces = await ask(model, streaming=True)

    assert [c.raw_arguments for c in reply.tool_calls] == [WEATHER, STOCK]
    assert [c.name for c in reply.tool_calls] == ["GetWeatherArgs", "get_stock_price"]
    assert pieces == []
    assert reply.text == ""


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_a_made_up_answer_with_text_and_parallel_tool_calls_in_portuguese(
    model, fake, streaming
):
    fake.script(
        completion_answer(
            content="Claro! Vou ver os horários de amanhã à tarde.",
            tool_calls=(
                ("call_1", "find_slots", '{"procedure": "limpeza", "day": "2026-11-27"}'),
                ("call_2", "find_slots", '{"procedure": "avaliação", "day": "2026-11-27"}'),
            ),
            usage=(812, 64),
        )
    )

    reply, pieces = await ask(model, streaming)

    assert reply.text == "Claro! Vou ver os horários de amanhã à tarde."
    assert [(c.id, c.name, dict(c.arguments)) for c in reply.tool_calls] == [
        ("call_1", "find_slots", {"procedure": "limpeza", "day": "2026-11-27"}),
        ("call_2", "find_slots", {"procedure": "avaliação", "day": "2026-11-27"}),
    ]
    assert reply.finish_reason == "tool_calls"
    assert reply.usage == TokenUsage(input_tokens=812, output_tokens=64)
    if streaming:
        assert len(pieces) > 1 and "".join(pieces) == reply.text


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    "raw", ['{"procedure": "limpeza", "day": "amanh', '["limpeza"]', "", "null"]
)
async def test_arguments_that_are_not_a_json_object_become_empty_and_are_kept_raw(
    model, fake, streaming, raw
):
    fake.script(completion_answer(tool_calls=(("call_1", "find_slots", raw),)))

    reply, _ = await ask(model, streaming)

    [call] = reply.tool_calls
    assert call.arguments == {}
    assert call.raw_arguments == raw


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_a_length_cut_answer_keeps_its_finish_reason(model, fake, streaming):
    fake.script(completion_answer(content="Nossa clínica fica na Rua", finish_reason="length"))

    reply, _ = await ask(model, streaming)

    assert (reply.text, reply.finish_reason) == ("Nossa clínica fica na Rua", "length")


# -- what is sent -------------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_the_request_is_what_chat_completions_expects(model, fake, streaming):
    conversation = ModelRequest(
        settings=ModelSettings(model=MODEL, temperature=0.2, max_output_tokens=300),
        messages=(
            ModelMessage(role="system", content="Você é a Bia."),
            ModelMessage(role="user", content="Quero marcar limpeza amanhã"),
            ModelMessage(
                role="assistant",
                tool_calls=(
                    ToolCall(
                        id="call_a",
                        name="find_slots",
                        arguments={"procedure": "limpeza", "day": "2026-11-27"},
                    ),
                    ToolCall(id="call_b", name="hand_off", arguments={}, raw_arguments="{"),
                ),
            ),
            ModelMessage(role="tool", tool_call_id="call_a", content='{"slots": ["14:00"]}'),
            ModelMessage(role="tool", tool_call_id="call_b", content='{"error": "bad json"}'),
        ),
        tools=(FIND_SLOTS,),
    )
    fake.script(completion_answer(content="Tenho 14h amanhã. Pode ser?"))

    reply, _ = await ask(model, streaming, conversation)

    assert reply.text == "Tenho 14h amanhã. Pode ser?"
    [call] = fake.calls()
    assert call.headers["authorization"] == f"Bearer {API_KEY}"
    body = call.json
    assert body["model"] == MODEL
    assert body["temperature"] == 0.2
    assert body["max_completion_tokens"] == 300
    assert body["messages"] == [
        {"role": "system", "content": "Você é a Bia."},
        {"role": "user", "content": "Quero marcar limpeza amanhã"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_a",
                    "type": "function",
                    "function": {
                        "name": "find_slots",
                        "arguments": '{"procedure": "limpeza", "day": "2026-11-27"}',
                    },
                },
                {
                    "id": "call_b",
                    "type": "function",
                    "function": {"name": "hand_off", "arguments": "{"},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_a", "content": '{"slots": ["14:00"]}'},
        {"role": "tool", "tool_call_id": "call_b", "content": '{"error": "bad json"}'},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "find_slots",
                "description": FIND_SLOTS.description,
                "parameters": dict(FIND_SLOTS.parameters),
            },
        }
    ]
    if streaming:
        assert body["stream"] is True
        assert body["stream_options"] == {"include_usage": True}
    else:
        assert "stream" not in body and "stream_options" not in body


async def test_no_tools_sends_no_tools_key(model, fake):
    fake.script(completion_answer(content="Oi!"))

    await model.complete(request(tools=()))

    assert "tools" not in fake.calls()[0].json


async def test_extra_headers_are_sent_and_a_trailing_slash_in_base_url_is_fine(fake, sleeps):
    model = make_model(
        fake, sleeps, base_url=fake.base_url + "/", default_headers={"api-key": "azure-key"}
    )
    try:
        fake.script(completion_answer(content="Oi!"))
        reply = await model.complete(request())
    finally:
        await model.aclose()

    assert reply.text == "Oi!"
    [call] = fake.calls()
    assert call.path == CHAT
    assert call.headers["api-key"] == "azure-key"


# -- retries and fallback -----------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_429_then_success_waits_what_retry_after_says(model, fake, sleeps, streaming):
    fake.script(failure(429, retry_after="2"), "chat_stream_text_with_usage.sse")

    reply, _ = await ask(model, streaming)

    assert reply.model == MODEL
    assert reply.text == EXPECTED["chat_stream_text_with_usage.sse"].text
    assert sleeps == [2.0]
    assert fake.models_asked() == [MODEL, MODEL]
    # Only the attempt that got an answer consumed tokens.
    assert reply.usage == TokenUsage(input_tokens=14, output_tokens=30)


async def test_retry_after_in_milliseconds_and_as_a_date():
    headers = __import__("httpx2").Headers
    assert retry_after_seconds(headers({"retry-after-ms": "1500"}), time.time) == 1.5
    assert retry_after_seconds(headers({"retry-after": "3"}), time.time) == 3.0
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds(headers({"retry-after": date}), now.timestamp) == 7.0
    assert retry_after_seconds(headers({"retry-after": "soon"}), time.time) is None
    assert retry_after_seconds(headers({}), time.time) is None


async def test_without_retry_after_the_backoff_doubles_with_jitter(model, fake, sleeps):
    fake.script(failure(503), failure(502), completion_answer(content="Oi!"))

    reply = await model.complete(request())

    assert reply.text == "Oi!"
    # base 0.5 s doubling; equal jitter: half fixed, half random (jitter() = 0.5 here).
    assert sleeps == [0.375, 0.75]


async def test_a_retry_after_longer_than_the_patient_can_wait_goes_to_the_fallback_at_once(
    model, fake, sleeps
):
    fake.script(failure(429, retry_after="600"), completion_answer(content="Oi!"))

    reply = await model.complete(request())

    assert (reply.model, reply.text) == (FALLBACK, "Oi!")
    assert sleeps == []
    assert fake.models_asked() == [MODEL, FALLBACK]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_500_on_every_attempt_then_the_fallback_model_answers(model, fake, sleeps, streaming):
    fake.script(failure(500), failure(500), failure(500), "chat_stream_strict_tool_call.sse")

    reply, _ = await ask(model, streaming)

    assert fake.models_asked() == [MODEL, MODEL, MODEL, FALLBACK]
    assert reply.model == FALLBACK
    assert [c.name for c in reply.tool_calls] == ["get_weather"]
    assert reply.usage == TokenUsage(input_tokens=48, output_tokens=19)
    assert len(sleeps) == 2  # between the model's attempts, none before the fallback
    # The fallback gets the same conversation and tools.
    first, *_, last = fake.calls()
    assert {k: v for k, v in first.json.items() if k != "model"} == {
        k: v for k, v in last.json.items() if k != "model"
    }


async def test_both_models_failing_is_model_unavailable_server_error(model, fake, sleeps):
    fake.script(*[failure(503)] * 6)

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request())

    assert caught.value.reason == "server_error"
    assert caught.value.code == "model_unavailable"
    assert caught.value.fields["attempts"] == 6
    assert caught.value.fields["models"] == [MODEL, FALLBACK]
    assert caught.value.fields["http_status"] == 503
    assert fake.models_asked() == [MODEL] * 3 + [FALLBACK] * 3
    assert len(sleeps) == 4


async def test_attempts_per_model_are_configurable(fake, sleeps):
    model = make_model(fake, sleeps, policy=RetryPolicy(max_attempts=1))
    try:
        fake.script(failure(500), failure(500))
        with pytest.raises(ModelUnavailable) as caught:
            await model.complete(request())
    finally:
        await model.aclose()

    assert fake.models_asked() == [MODEL, FALLBACK]
    assert caught.value.reason == "server_error"
    assert sleeps == []


async def test_rate_limited_everywhere_is_reason_rate_limited(model, fake):
    fake.script(*[failure(429, retry_after="1")] * 3)

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request(fallback=None))

    assert caught.value.reason == "rate_limited"
    assert caught.value.fields["provider_code"] == "rate_limit_exceeded"
    assert fake.models_asked() == [MODEL] * 3


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_timeouts_on_every_attempt_are_reason_timeout(fake, sleeps, streaming):
    model = make_model(fake, sleeps, timeout=0.2)
    fake.script(*[delayed(1.0)] * 3)
    started = time.monotonic()
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await ask(model, streaming, request(fallback=None))
    finally:
        await model.aclose()

    assert caught.value.reason == "timeout"
    assert caught.value.fields["attempts"] == 3
    assert len(fake.calls()) == 3
    assert len(sleeps) == 2
    assert time.monotonic() - started < 3


async def test_a_stream_that_stalls_mid_answer_times_out_and_is_asked_again(fake, sleeps):
    model = make_model(fake, sleeps, timeout=0.2)
    stalled = fixture_answer("chat_stream_text_with_usage.sse", delay=1.0, stall_after=4)
    fake.script(stalled, "chat_stream_text_with_usage.sse")
    sink = Collected()
    try:
        reply = await model.complete(request(), sink)
    finally:
        await model.aclose()

    text = EXPECTED["chat_stream_text_with_usage.sse"].text
    assert reply.text == text
    # on_text is a live preview: the stalled attempt's first pieces, then the whole answer.
    assert "".join(sink.pieces) == "I'm unable to" + text
    assert fake.models_asked() == [MODEL, MODEL]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize(
    "broken", [dropped, malformed, truncated_stream], ids=["dropped", "malformed", "truncated"]
)
async def test_a_broken_answer_is_retried(model, fake, sleeps, streaming, broken):
    fake.script(broken(), completion_answer(content="Oi, tudo bem?"))

    reply, _ = await ask(model, streaming)

    assert reply.text == "Oi, tudo bem?"
    assert fake.models_asked() == [MODEL, MODEL]
    assert len(sleeps) == 1


@pytest.mark.parametrize(
    ("broken", "reason"),
    [(dropped, "unreachable"), (malformed, "server_error"), (truncated_stream, "server_error")],
    ids=["dropped", "malformed", "truncated"],
)
async def test_answers_broken_every_time_give_their_reason(model, fake, broken, reason):
    fake.script(*[broken() for _ in range(6)])

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request(), Collected())

    assert caught.value.reason == reason


async def test_a_server_that_is_not_there_is_unreachable(sleeps):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed when the block ends: connections are refused
    model = OpenAIChatModel(
        api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v1", sleep=_recorder(sleeps)
    )
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await model.complete(request())
    finally:
        await model.aclose()

    assert caught.value.reason == "unreachable"
    assert caught.value.fields["attempts"] == 6


def _recorder(sleeps: list[float]):
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    return sleep


# -- failures that retrying cannot fix ----------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_a_wrong_key_is_unauthorized_without_retry_or_fallback(fake, sleeps, streaming):
    model = make_model(fake, sleeps, api_key="sk-wrong")
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await ask(model, streaming)
    finally:
        await model.aclose()

    assert caught.value.reason == "unauthorized"
    assert caught.value.fields["http_status"] == 401
    assert caught.value.fields["provider_code"] == "invalid_api_key"
    assert len(fake.calls()) == 1
    assert sleeps == []


async def test_403_is_unauthorized_too(model, fake, sleeps):
    fake.script(failure(403))

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request())

    assert caught.value.reason == "unauthorized"
    assert fake.models_asked() == [MODEL]


async def test_400_is_bad_request_without_retry_or_fallback(model, fake, sleeps):
    fake.script(failure(400))

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request())

    assert caught.value.reason == "bad_request"
    assert caught.value.fields["http_status"] == 400
    assert fake.models_asked() == [MODEL]
    assert sleeps == []


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_a_model_that_refuses_a_temperature_is_asked_again_without_one(
    model, fake, sleeps, streaming
):
    fake.script(
        fixed_temperature(), completion_answer(content="Oi!"), completion_answer(content="De novo")
    )

    reply, _ = await ask(model, streaming)
    again, _ = await ask(model, streaming)

    assert (reply.text, reply.model, again.text) == ("Oi!", MODEL, "De novo")
    first, second, third = fake.calls()
    assert first.json["temperature"] == 0.3
    assert "temperature" not in second.json and "temperature" not in third.json
    assert sleeps == []


async def test_an_unknown_model_goes_to_the_fallback_without_retry(model, fake, sleeps):
    fake.script(failure(404), completion_answer(content="Oi!"))

    reply = await model.complete(request())

    assert (reply.model, reply.text) == (FALLBACK, "Oi!")
    assert fake.models_asked() == [MODEL, FALLBACK]
    assert sleeps == []


async def test_no_credit_left_is_not_retried(model, fake, sleeps):
    fake.script(insufficient_quota())

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(request())

    assert caught.value.reason == "rate_limited"
    assert caught.value.fields["provider_code"] == "insufficient_quota"
    assert fake.models_asked() == [MODEL]


async def test_a_request_the_server_finds_invalid_is_bad_request(model, fake):
    # A tool message answering no call: the fake refuses it as OpenAI does.
    broken = ModelRequest(
        settings=ModelSettings(model=MODEL),
        messages=(ModelMessage(role="tool", tool_call_id="call_x", content="{}"),),
    )

    with pytest.raises(ModelUnavailable) as caught:
        await model.complete(broken)

    assert caught.value.reason == "bad_request"
    assert "tool" in caught.value.message


async def test_an_answer_without_choices_is_a_server_error_and_retried(model, fake):
    empty = json.loads(fixture_text("chat_completion_refusal.json"))
    empty["choices"] = []
    fake.script(json_answer(empty), completion_answer(content="Oi!"))

    reply = await model.complete(request())

    assert reply.text == "Oi!"
    assert fake.models_asked() == [MODEL, MODEL]


WRONG_SHAPES = [
    {},
    {"choices": None},
    {"choices": [{"index": 0, "message": None, "finish_reason": "stop"}]},
    {"choices": [{"index": 0, "message": {"tool_calls": [{"type": "function"}]}}]},
    [],
    "Olá",
]


@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
@pytest.mark.parametrize("body", WRONG_SHAPES, ids=[str(i) for i in range(len(WRONG_SHAPES))])
async def test_an_answer_of_the_wrong_shape_is_a_server_error(fake, sleeps, streaming, body):
    model = make_model(fake, sleeps, policy=RetryPolicy(max_attempts=1))
    fake.script(events_answer(body) if streaming else json_answer(body))
    try:
        with pytest.raises(ModelUnavailable) as caught:
            await ask(model, streaming, request(fallback=None))
    finally:
        await model.aclose()

    assert caught.value.reason == "server_error"


# -- the caller's side --------------------------------------------------------------------


async def test_cancelling_the_call_is_not_swallowed(fake, sleeps):
    model = make_model(fake, sleeps)
    fake.script(delayed(5.0))
    try:
        task = asyncio.create_task(model.complete(request(), Collected()))
        # The fake records from its own thread: nothing to await but time.
        while not fake.calls():  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await model.aclose()

    assert len(fake.calls()) == 1


async def test_an_error_of_on_text_reaches_the_caller_and_is_not_retried(model, fake):
    class SinkBroke(ValueError):
        pass

    async def broken_sink(piece: str) -> None:
        raise SinkBroke(piece)

    fake.script("chat_stream_text_with_usage.sse")

    with pytest.raises(SinkBroke):
        await model.complete(request(), broken_sink)

    assert len(fake.calls()) == 1


def test_one_model_serves_several_event_loops(fake, sleeps):
    # A CLI command runs one loop after another; each opens (and closes) its own connections.
    model = make_model(fake, sleeps)
    fake.script(completion_answer(content="um"), completion_answer(content="dois"))

    async def once() -> ModelReply:
        try:
            return await model.complete(request())
        finally:
            await model.aclose()

    first = asyncio.run(once())
    second = asyncio.run(once())

    assert (first.text, second.text) == ("um", "dois")


# -- the real thing (opt-in) --------------------------------------------------------------


@pytest.mark.skipif(
    not os.environ.get("PORFIN_TEST_OPENAI_API_KEY"),
    reason="set PORFIN_TEST_OPENAI_API_KEY to call the real OpenAI API",
)
@pytest.mark.parametrize("streaming", [False, True], ids=["json", "stream"])
async def test_real_openai_answers_and_calls_tools(streaming):
    model = OpenAIChatModel(
        api_key=os.environ["PORFIN_TEST_OPENAI_API_KEY"],
        base_url=os.environ.get("PORFIN_TEST_OPENAI_BASE_URL", "https://api.openai.com/v1"),
        timeout=30,
    )
    real_model = os.environ.get("PORFIN_TEST_OPENAI_MODEL", MODEL)
    req = ModelRequest(
        settings=ModelSettings(model=real_model, temperature=0, max_output_tokens=200),
        messages=(
            ModelMessage(
                role="system",
                content="Você é a recepcionista da Clínica Sorriso. Use find_slots para ver "
                "horários; nunca invente horários.",
            ),
            ModelMessage(role="user", content="Tem horário pra limpeza dia 2026-12-01?"),
        ),
        tools=(FIND_SLOTS,),
    )
    try:
        reply, _ = await ask(model, streaming, req)
    finally:
        await model.aclose()

    assert reply.model == real_model
    assert reply.usage.input_tokens > 0 and reply.usage.output_tokens > 0
    assert [c.name for c in reply.tool_calls] == ["find_slots"]
    assert reply.tool_calls[0].arguments.get("day") == "2026-12-01"
