"""The AI receptionist: assistants a clinic configures, and the record of each turn.

An :class:`Assistant` is configuration: who it is (name, role, tone), what it knows besides
the knowledge base (the clinic's facts: address, hours, prices, insurance, payment), which
tools it may use, how it behaves after hours, which engine answers (the offline engine, or
OpenAI) and with which limits. A clinic may have several; which one serves a chat is decided
by channel and funnel-stage rules (:func:`choose_assistant`).

An :class:`AssistantTurn` is what happened when the assistant answered a burst of patient
messages: every step (safety check, language, retrieval, each model call, each tool with its
arguments and result, the validation of the reply, the delivery or the handoff), with times,
tokens and cost, so staff can see why the AI said what it said.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from porfin_core.errors import ValidationError

TOOLS = (
    "find_slots",
    "book_appointment",
    "reschedule_appointment",
    "cancel_appointment",
    "create_pix_charge",
    "hand_off",
    "set_funnel_stage",
    "add_tag",
)
"""Every tool an assistant may be allowed (each runs the core use case staff use)."""

FACT_TOPICS = ("address", "hours", "prices", "insurance", "payment", "about", "policies")
"""The clinic facts an assistant is told, by topic (free text each, as the clinic writes it)."""

MAX_FACT_LENGTH = 4000
MAX_NAME_LENGTH = 60
DEFAULT_DEBOUNCE_SECONDS = 8


class AssistantRole(enum.StrEnum):
    """What the assistant is for (it shapes the instructions and the offline engine)."""

    RECEPTIONIST = "receptionist"
    LEAD_CONVERSION = "lead_conversion"
    SALES = "sales"


class Engine(enum.StrEnum):
    """Which engine answers: the offline engine (no key, no network) or OpenAI."""

    OFFLINE = "offline"
    OPENAI = "openai"


class AfterHours(enum.StrEnum):
    """What the assistant does outside the clinic's opening hours.

    ``answer``: answer as usual (booking and questions work at night). ``hand_off``: tell the
    patient the team answers when the clinic opens, and hand the chat to a person.
    """

    ANSWER = "answer"
    HAND_OFF = "hand_off"


def _name(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip() or len(value) > MAX_NAME_LENGTH:
        raise ValidationError(
            f"{attribute.name} must be 1 to {MAX_NAME_LENGTH} characters", field=attribute.name
        )


@attrs.define(kw_only=True)
class Assistant:
    """One AI assistant of a clinic.

    Attributes:
        id: Stable identifier.
        name: How it introduces itself ("Sofia").
        role: Receptionist, lead conversion or sales.
        tone: How it writes ("cordial e objetivo"), for the model's instructions.
        facts: The clinic's facts by topic (:data:`FACT_TOPICS`).
        tools: The tools it may use (a subset of :data:`TOOLS`).
        after_hours: What it does outside opening hours.
        engine: Which engine answers.
        model: The model (OpenAI engine).
        fallback_model: Tried when ``model`` keeps failing.
        temperature: Sampling temperature.
        max_output_tokens: Cap on a reply's tokens.
        monthly_budget_cents: The clinic's model spending cap per month, in centavos (None:
            no cap); once spent, chats are handed to people.
        debounce_seconds: How long to wait for the patient to finish a burst of messages.
        deposit_cents: A deposit charged by PIX when it books an appointment (None: none).
        channel_ids: The channels it serves (empty: all).
        stages: The funnel stages it serves (empty: all).
        active: Whether it answers at all.
        created_at: When it was created.
    """

    id: str
    name: str = attrs.field(validator=_name)
    role: AssistantRole = AssistantRole.RECEPTIONIST
    tone: str = "cordial, acolhedor e objetivo"
    facts: dict[str, str] = attrs.field(factory=dict)
    tools: list[str] = attrs.field(factory=lambda: list(TOOLS))
    after_hours: AfterHours = AfterHours.ANSWER
    engine: Engine = Engine.OFFLINE
    model: str = "gpt-4.1-mini"
    fallback_model: str | None = None
    temperature: float = 0.3
    max_output_tokens: int = 600
    monthly_budget_cents: int | None = None
    debounce_seconds: int = DEFAULT_DEBOUNCE_SECONDS
    deposit_cents: int | None = None
    channel_ids: list[str] = attrs.field(factory=list)
    stages: list[str] = attrs.field(factory=list)
    active: bool = True
    created_at: datetime

    def __attrs_post_init__(self) -> None:
        check_assistant(self)

    def serves(self, channel_id: str, stage: str) -> bool:
        """True when it answers chats of ``channel_id`` for patients at ``stage``."""
        return (
            self.active
            and (not self.channel_ids or channel_id in self.channel_ids)
            and (not self.stages or stage in self.stages)
        )

    def may_use(self, tool: str) -> bool:
        """True when ``tool`` is enabled."""
        return tool in self.tools


def check_assistant(assistant: Assistant) -> None:
    """Check every setting of ``assistant``.

    Raises:
        ValidationError: a field out of its range (``field`` names it).
    """
    unknown = sorted(set(assistant.tools) - set(TOOLS))
    if unknown:
        raise ValidationError(f"unknown tools: {', '.join(unknown)}", field="tools")
    for topic, text in assistant.facts.items():
        if topic not in FACT_TOPICS:
            raise ValidationError(
                f"unknown fact topic {topic!r} (known: {', '.join(FACT_TOPICS)})", field="facts"
            )
        if len(text) > MAX_FACT_LENGTH:
            raise ValidationError(
                f"facts.{topic} is longer than {MAX_FACT_LENGTH} characters", field="facts"
            )
    if not 0 <= assistant.temperature <= 2:
        raise ValidationError("temperature must be between 0 and 2", field="temperature")
    if not 50 <= assistant.max_output_tokens <= 4000:
        raise ValidationError(
            "max_output_tokens must be between 50 and 4000", field="max_output_tokens"
        )
    if not 0 <= assistant.debounce_seconds <= 120:
        raise ValidationError("debounce_seconds must be 0 to 120", field="debounce_seconds")
    for field in ("monthly_budget_cents", "deposit_cents"):
        value = getattr(assistant, field)
        if value is not None and not 0 < value <= 10_000_000_00:
            raise ValidationError(f"{field} must be positive centavos", field=field)
    if len(assistant.tone) > 200:
        raise ValidationError("tone is longer than 200 characters", field="tone")


def choose_assistant(
    assistants: Iterable[Assistant], channel_id: str, stage: str
) -> Assistant | None:
    """The assistant that serves a chat: among the active ones that serve its channel and
    the patient's stage, the most specific (channel and stage rules beat catch-alls), then
    the oldest."""
    fitting = [a for a in assistants if a.serves(channel_id, stage)]
    if not fitting:
        return None
    return min(
        fitting,
        key=lambda a: (not a.channel_ids, not a.stages, a.created_at, a.id),
    )


# -- turns -------------------------------------------------------------------------------------


class TurnStatus(enum.StrEnum):
    """How a turn ended."""

    REPLIED = "replied"
    """The reply was queued in the chat."""
    HANDED_OFF = "handed_off"
    """A person takes over (red flag, language, the patient asked, unsure, failures...)."""
    SUPERSEDED = "superseded"
    """A newer patient message or a staff action arrived first: the reply was discarded."""
    SKIPPED = "skipped"
    """Nothing to do: the chat is not the AI's, or there was no patient message to answer."""


@attrs.frozen(kw_only=True)
class TraceStep:
    """One step of a turn.

    Attributes:
        kind: ``safety``, ``language``, ``context``, ``retrieval``, ``model``, ``tool``,
            ``validation``, ``delivery``, ``handoff``.
        started_ms: Milliseconds from the turn's start.
        duration_ms: How long it took.
        detail: What it saw and decided (tool arguments and results, chunks retrieved,
            tokens, violations...), plain data.
    """

    kind: str
    started_ms: float
    duration_ms: float
    detail: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.define(kw_only=True)
class AssistantTurn:
    """What the assistant did for one burst of patient messages.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        chat_id: The chat (None in a sandbox conversation).
        assistant_id: The assistant.
        message_ids: The patient messages the turn answered (the burst).
        started_at: When it started.
        finished_at: When it ended.
        status: How it ended.
        intent: What the patient wanted, as the engine read it.
        reply: The text sent (or that would have been sent).
        reply_message_ids: The messages queued.
        handoff_reason: Why a person takes over.
        model: The model that answered last.
        input_tokens: Prompt tokens, all calls.
        output_tokens: Completion tokens, all calls.
        cost_millicents: Cost in thousandths of a centavo (a call costs fractions of one).
        model_ms: Time spent waiting for models.
        overhead_ms: Time spent in the pipeline besides the models.
        steps: Every step, in order.
    """

    id: str
    clinic_id: str
    chat_id: str | None
    assistant_id: str
    message_ids: list[str] = attrs.field(factory=list)
    started_at: datetime
    finished_at: datetime | None = None
    status: TurnStatus = TurnStatus.SKIPPED
    intent: str | None = None
    reply: str | None = None
    reply_message_ids: list[str] = attrs.field(factory=list)
    handoff_reason: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cost_millicents: int = 0
    model_ms: float = 0.0
    overhead_ms: float = 0.0
    steps: list[TraceStep] = attrs.field(factory=list)

    def tools_called(self) -> list[str]:
        """The names of the tools the turn ran, in order."""
        return [str(s.detail.get("name")) for s in self.steps if s.kind == "tool"]


@attrs.define(kw_only=True)
class AssistantUsage:
    """A clinic's model spending in one month (the budget's meter).

    Attributes:
        clinic_id: The clinic.
        month: ``YYYY-MM`` in the clinic's time zone.
        cost_millicents: Spent so far, thousandths of a centavo.
        input_tokens: Prompt tokens so far.
        output_tokens: Completion tokens so far.
        turns: Turns that called a model.
    """

    clinic_id: str
    month: str
    cost_millicents: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    turns: int = 0

    def add(self, turn: AssistantTurn) -> None:
        """Count ``turn``'s tokens and cost."""
        self.cost_millicents += turn.cost_millicents
        self.input_tokens += turn.input_tokens
        self.output_tokens += turn.output_tokens
        if turn.input_tokens or turn.output_tokens:
            self.turns += 1

    def exhausted(self, budget_cents: int | None) -> bool:
        """True when ``budget_cents`` (None: no cap) is spent."""
        return budget_cents is not None and self.cost_millicents >= budget_cents * 1000


def burst_text(bodies: Sequence[str]) -> str:
    """The patient's burst as one text (one message per line)."""
    return "\n".join(b.strip() for b in bodies if b and b.strip())
