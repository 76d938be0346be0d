"""Language models that the AI receptionist talks through: OpenAI (or any compatible server)
and the offline engine, behind one port.

A request carries the conversation as messages plus the tools the model may call; the reply is
text, tool calls, or both. The pipeline executes tool calls itself (through the same use cases
staff use) and sends their results back as ``tool`` messages.

The offline engine cannot read a prompt the way a language model does, so a request also
carries its ``grounding``: the same facts as the system prompt, structured.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Literal, Protocol

import attrs

Role = Literal["system", "user", "assistant", "tool"]


@attrs.frozen(kw_only=True)
class ToolSpec:
    """A tool the model may call.

    Attributes:
        name: The tool's name (``find_slots``, ``book_appointment``...).
        description: What it does, for the model.
        parameters: JSON Schema of its arguments (an ``object`` schema).
    """

    name: str
    description: str
    parameters: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class ToolCall:
    """The model asks for a tool to be run.

    Attributes:
        id: The call's id, echoed in the ``tool`` message that answers it.
        name: The tool's name.
        arguments: The arguments, parsed from JSON; empty when they did not parse.
        raw_arguments: The arguments exactly as the model wrote them.
    """

    id: str
    name: str
    arguments: Mapping[str, Any]
    raw_arguments: str = ""


@attrs.frozen(kw_only=True)
class ModelMessage:
    """One message of the conversation sent to the model.

    Attributes:
        role: ``system`` (instructions), ``user`` (the patient), ``assistant`` (the AI's
            earlier turns, with their tool calls) or ``tool`` (a tool's result).
        content: The text.
        tool_calls: The tool calls an ``assistant`` message made.
        tool_call_id: The call a ``tool`` message answers.
    """

    role: Role
    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None


@attrs.frozen(kw_only=True)
class ModelSettings:
    """Which model answers and how.

    Attributes:
        model: The model's name (``gpt-4.1-mini``...); ignored by the offline engine.
        fallback_model: Tried when ``model`` keeps failing; None for none.
        temperature: Sampling temperature.
        max_output_tokens: Cap on the reply's length in tokens.
    """

    model: str
    fallback_model: str | None = None
    temperature: float = 0.3
    max_output_tokens: int = 600


@attrs.frozen(kw_only=True)
class GroundingChunk:
    """A passage of the clinic's knowledge base retrieved for this turn.

    Attributes:
        document: The document's title.
        text: The passage.
        score: Retrieval score (higher is better).
        snippet: The passage's line that matches best (a short answer).
    """

    document: str
    text: str
    score: float
    snippet: str = ""


@attrs.frozen(kw_only=True)
class Grounding:
    """What the assistant knows for this turn, structured (the system prompt says the same).

    Attributes:
        now: The current time in the clinic's timezone.
        clinic_name: The clinic's name.
        assistant_name: The assistant's name.
        facts: The clinic's facts by topic (``address``, ``hours``, ``prices``, ``insurance``,
            ``payment``...), as the clinic wrote them.
        knowledge: Retrieved passages, best first.
        customer_name: The patient's first name, when known.
        stage: The patient's funnel stage.
        upcoming_appointments: One line per upcoming appointment (id, when, with whom).
        open_charges: One line per open charge.
        assistant_role: ``receptionist``, ``lead_conversion`` or ``sales``.
        deposit_cents: The deposit charged when booking, if any.
    """

    now: datetime
    clinic_name: str
    assistant_name: str
    facts: Mapping[str, str] = attrs.field(factory=dict)
    knowledge: tuple[GroundingChunk, ...] = ()
    customer_name: str | None = None
    stage: str | None = None
    upcoming_appointments: tuple[str, ...] = ()
    open_charges: tuple[str, ...] = ()
    assistant_role: str = "receptionist"
    deposit_cents: int | None = None


@attrs.frozen(kw_only=True)
class ModelRequest:
    """One call to a model.

    Attributes:
        settings: Which model and how.
        messages: The conversation, system prompt first.
        tools: The tools the model may call.
        grounding: The turn's facts, structured (used by the offline engine).
    """

    settings: ModelSettings
    messages: tuple[ModelMessage, ...]
    tools: tuple[ToolSpec, ...] = ()
    grounding: Grounding | None = None


@attrs.frozen(kw_only=True)
class TokenUsage:
    """Tokens a call consumed.

    Attributes:
        input_tokens: Prompt tokens.
        output_tokens: Completion tokens.
    """

    input_tokens: int = 0
    output_tokens: int = 0


@attrs.frozen(kw_only=True)
class ModelReply:
    """What the model answered.

    Attributes:
        text: The reply's text (may be empty when it only calls tools).
        tool_calls: The tools it asks to run, in order.
        refusal: The model's refusal, when it refused (then ``text`` is empty).
        model: The model that actually answered (the fallback, when it was used).
        usage: Tokens consumed, summed over retries that reached the model.
        finish_reason: ``stop``, ``tool_calls``, ``length``, ``content_filter``...
    """

    text: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    refusal: str | None = None
    model: str
    usage: TokenUsage = TokenUsage()
    finish_reason: str = "stop"


TextSink = Callable[[str], Awaitable[None]]
"""Receives the reply's text as it streams, piece by piece."""


class ChatModel(Protocol):
    """A language model with tool calling."""

    async def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        """Answer the conversation; stream text pieces to ``on_text`` when given.

        Retries transient failures (429, 5xx, timeouts) with backoff and then tries
        ``settings.fallback_model``.

        Raises:
            ModelUnavailable: The model (and its fallback) could not answer: the pipeline
                hands the chat to a person.
        """
        ...


class Transcriber(Protocol):
    """Turns a voice note into text."""

    async def transcribe(self, audio: bytes, *, media_type: str, language: str = "pt") -> str:
        """The voice note's text.

        Raises:
            ModelUnavailable: No transcription could be made (not configured, provider down).
        """
        ...


class ChatModels(Protocol):
    """The engines an assistant may use, and what their tokens cost."""

    def for_engine(self, engine: str) -> ChatModel:
        """The model of ``engine`` (``offline``, ``openai``).

        Raises:
            ModelUnavailable: the engine is not configured (reason ``not_configured``).
        """
        ...

    def cost_millicents(self, model: str, usage: TokenUsage) -> int:
        """What ``usage`` of ``model`` cost, in thousandths of a centavo (0 when unpriced or
        offline)."""
        ...
