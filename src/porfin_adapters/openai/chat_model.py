"""The AI receptionist's language model through the ``openai`` SDK: OpenAI, Azure OpenAI (v1
API) or any OpenAI-compatible server (Ollama, vLLM, llama.cpp) by ``base_url``.

Chat Completions with function tools; streamed (``stream=True`` with usage) when the caller
wants the text as it comes, one JSON answer otherwise. Retries, the fallback model and the
error mapping are described in docs/openai.md and :mod:`porfin_adapters.openai.failures`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import attrs

from porfin_adapters.openai.client import LoopClient, RetryPolicy, Sleep, with_retries
from porfin_adapters.openai.config import DEFAULT_BASE_URL
from porfin_adapters.openai.failures import TRANSLATED, Failure, classify
from porfin_core.ports.chat_model import (
    ModelMessage,
    ModelReply,
    ModelRequest,
    TextSink,
    TokenUsage,
    ToolCall,
    ToolSpec,
)

SHAPE_ERRORS = (AttributeError, TypeError, KeyError, IndexError)
"""What reading an answer of the wrong shape raises (``on_text``'s errors are kept apart)."""


class _SinkFailed(Exception):
    """The caller's ``on_text`` raised: its error, not the model's, goes back to the caller."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def parse_arguments(raw: str) -> dict[str, Any]:
    """A tool call's arguments: the JSON object the model wrote, or ``{}`` when it is not
    one (models do not always write valid JSON; the raw text is kept beside it)."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def tool_param(tool: ToolSpec) -> dict[str, Any]:
    """A :class:`ToolSpec` as a Chat Completions function tool."""
    return {
        "type": "function",
        "function": {
            "name": tool.name,
            "description": tool.description,
            "parameters": dict(tool.parameters),
        },
    }


def message_param(message: ModelMessage) -> dict[str, Any]:
    """A :class:`ModelMessage` as a Chat Completions message."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        return {
            "role": "assistant",
            "content": message.content or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": call.raw_arguments
                        or json.dumps(dict(call.arguments), ensure_ascii=False),
                    },
                }
                for call in message.tool_calls
            ],
        }
    return {"role": message.role, "content": message.content}


def request_params(request: ModelRequest, model: str) -> dict[str, Any]:
    """The body of ``POST /chat/completions`` for ``request`` on ``model``."""
    params: dict[str, Any] = {
        "model": model,
        "messages": [message_param(m) for m in request.messages],
        "temperature": request.settings.temperature,
        "max_completion_tokens": request.settings.max_output_tokens,
    }
    if request.tools:
        params["tools"] = [tool_param(t) for t in request.tools]
    return params


@attrs.define
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


def _tool_call(index: int, call_id: str | None, name: str | None, raw: str | None) -> ToolCall:
    raw = raw or ""
    return ToolCall(
        id=call_id or f"call_{index}",
        name=name or "",
        arguments=parse_arguments(raw),
        raw_arguments=raw,
    )


def _usage(usage: Any) -> TokenUsage:
    if usage is None:
        return TokenUsage()
    return TokenUsage(
        input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
    )


def _add(a: TokenUsage, b: TokenUsage) -> TokenUsage:
    return TokenUsage(
        input_tokens=a.input_tokens + b.input_tokens,
        output_tokens=a.output_tokens + b.output_tokens,
    )


class OpenAIChatModel:
    """:class:`~porfin_core.ports.chat_model.ChatModel` on an OpenAI-compatible server.

    Each model in ``(settings.model, settings.fallback_model)`` gets up to
    ``policy.max_attempts`` attempts; 429, 5xx, timeouts, dropped connections and malformed
    answers are retried with exponential backoff and jitter (or the server's
    ``retry-after``); then :class:`~porfin_core.errors.ModelUnavailable`.

    With ``on_text``, the answer is streamed and each text piece goes to ``on_text`` as it
    arrives. It is a live preview: when an attempt fails after some text went out, the next
    attempt streams again from the start; the reply's ``text`` is what counts.

    Args:
        api_key: The server's key (``Authorization: Bearer``); any non-empty string for
            local servers.
        base_url: The API's root, e.g. ``http://localhost:11434/v1`` for Ollama.
        timeout: Seconds for connecting and for each read of an answer (per call).
        policy: Attempts per model and backoff.
        default_headers: Extra headers on every request.
        sleep: Waits between attempts (injected in tests).
        jitter: Random numbers in [0, 1) for the backoff's jitter.
        now: Wall-clock seconds (for ``retry-after`` given as a date).
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 20.0,
        policy: RetryPolicy | None = None,
        default_headers: Mapping[str, str] | None = None,
        sleep: Sleep = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._client = LoopClient(
            api_key=api_key, base_url=base_url, timeout=timeout, default_headers=default_headers
        )
        self.policy = policy or RetryPolicy()
        self._fixed_temperature: set[str] = set()
        self._sleep = sleep
        self._jitter = jitter
        self._now = now

    @property
    def base_url(self) -> str:
        """The server's API root."""
        return self._client.base_url

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._client.aclose()

    async def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        """Answer the conversation (see :class:`~porfin_core.ports.chat_model.ChatModel`).

        Raises:
            ModelUnavailable: Every attempt on the model and its fallback failed, or the
                server refused the request or the key (``reason`` says which).
        """
        settings = request.settings
        models = [settings.model]
        if settings.fallback_model and settings.fallback_model != settings.model:
            models.append(settings.fallback_model)
        spent: list[TokenUsage] = []

        async def attempt(model: str) -> ModelReply:
            params = request_params(request, model)
            if model in self._fixed_temperature:
                del params["temperature"]
            try:
                return await self._once(params, model, on_text, spent)
            except Failure as failure:
                # Reasoning models (o-series, gpt-5...) accept only their default
                # temperature: ask again without one, and remember.
                if failure.param != "temperature" or "temperature" not in params:
                    raise
                self._fixed_temperature.add(model)
                del params["temperature"]
                return await self._once(params, model, on_text, spent)

        try:
            outcome = await with_retries(
                attempt,
                models,
                policy=self.policy,
                sleep=self._sleep,
                jitter=self._jitter,
                now=self._now,
                fields={"base_url": self.base_url},
            )
        except _SinkFailed as sink:
            raise sink.error from None
        total = TokenUsage()
        for usage in spent:
            total = _add(total, usage)
        return attrs.evolve(outcome.value, usage=total)

    async def _once(
        self,
        params: dict[str, Any],
        model: str,
        on_text: TextSink | None,
        spent: list[TokenUsage],
    ) -> ModelReply:
        try:
            if on_text is None:
                return await self._answer(params, model, spent)
            return await self._stream(params, model, on_text, spent)
        except (Failure, _SinkFailed):
            raise
        except TRANSLATED as exc:
            raise classify(exc, now=self._now) from exc
        except SHAPE_ERRORS as exc:
            # The SDK does not validate answers: a body of the wrong shape (no choices, a
            # null message...) surfaces here, while it is read.
            raise Failure(
                reason="server_error",
                message="the model's server sent an answer of the wrong shape "
                f"({type(exc).__name__})",
                retryable=True,
            ) from exc

    async def _answer(
        self, params: dict[str, Any], model: str, spent: list[TokenUsage]
    ) -> ModelReply:
        completion = await self._client.get().chat.completions.create(**params)
        spent.append(_usage(completion.usage))
        if not completion.choices:
            raise Failure(
                reason="server_error", message="the model answered no choice", retryable=True
            )
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            _tool_call(
                index,
                call.id,
                call.function.name,
                call.function.arguments,
            )
            for index, call in enumerate(message.tool_calls or ())
            if call.type == "function"
        )
        refusal = message.refusal or None
        return ModelReply(
            text="" if refusal else message.content or "",
            tool_calls=calls,
            refusal=refusal,
            model=model,
            finish_reason=choice.finish_reason or "stop",
        )

    async def _stream(
        self,
        params: dict[str, Any],
        model: str,
        on_text: TextSink,
        spent: list[TokenUsage],
    ) -> ModelReply:
        stream = await self._client.get().chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        refusal: list[str] = []
        calls: dict[int, _PartialCall] = {}
        finish_reason: str | None = None
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    spent.append(_usage(chunk.usage))
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        await _forward(on_text, delta.content)
                    if delta.refusal:
                        refusal.append(delta.refusal)
                    for piece in delta.tool_calls or ():
                        call = calls.setdefault(piece.index, _PartialCall())
                        if piece.id:
                            call.id = piece.id
                        if piece.function is not None:
                            if piece.function.name and not call.name:
                                call.name = piece.function.name
                            if piece.function.arguments:
                                call.arguments += piece.function.arguments
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        finally:
            await _close(stream)
        if finish_reason is None:
            raise Failure(
                reason="server_error",
                message="the model's answer stopped before it was complete",
                retryable=True,
            )
        refused = "".join(refusal) or None
        return ModelReply(
            text="" if refused else "".join(text),
            tool_calls=tuple(
                _tool_call(index, call.id, call.name, call.arguments)
                for index, call in sorted(calls.items())
            ),
            refusal=refused,
            model=model,
            finish_reason=finish_reason,
        )


async def _forward(on_text: Callable[[str], Awaitable[None]], piece: str) -> None:
    try:
        await on_text(piece)
    except Exception as exc:
        raise _SinkFailed(exc) from exc


async def _close(stream: Any) -> None:
    # Closing a broken or cancelled stream may fail in turn; the first error is the one
    # that matters.
    with contextlib.suppress(*TRANSLATED):
        await stream.close()
