"""The AI receptionist's thinking, shared by the chat pipeline (``AnswerWithAssistant``) and
the sandbox (``TryAssistant``): voice notes, the safety check, the language, hours and budget,
the context, the model with its tools, and the validation of the reply (see
:mod:`porfin_core.use_cases.answer_with_assistant` for the whole pipeline)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

import attrs

from porfin_core.domain.assistant import (
    AfterHours,
    Assistant,
    AssistantTurn,
    AssistantUsage,
    Engine,
    TraceStep,
    burst_text,
)
from porfin_core.domain.charges import ChargeStatus
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, first_name
from porfin_core.domain.guardrails import Violation, check_reply
from porfin_core.domain.intents import recognize
from porfin_core.domain.message import Message, MessageKind
from porfin_core.domain.pt_text import detect_language
from porfin_core.domain.red_flags import find_red_flag, safe_reply, staff_note
from porfin_core.errors import ModelUnavailable, PorfinError
from porfin_core.ports.chat_model import (
    ChatModels,
    Grounding,
    GroundingChunk,
    ModelMessage,
    ModelReply,
    ModelRequest,
    ModelSettings,
    TextSink,
    Transcriber,
)
from porfin_core.ports.clock import Timer
from porfin_core.ports.formats import Formats
from porfin_core.ports.knowledge import KnowledgeBase
from porfin_core.ports.media import MediaStore
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._assistant_prompt import (
    known_amounts,
    system_prompt,
    tool_result_text,
)
from porfin_core.use_cases._assistant_tools import AssistantTools, ToolContext

MAX_ROUNDS = 4
KNOWLEDGE_CHUNKS = 4

HANDOFF_MESSAGE = (
    "Vou chamar uma pessoa da nossa equipe para continuar o seu atendimento. "
    "Ela responde por aqui em instantes."
)
AFTER_HOURS_MESSAGE = (
    "Recebemos sua mensagem! Nossa equipe responde assim que a clínica abrir. "
    "Obrigado pela paciência."
)
VOICE_MESSAGE = (
    "Recebi seu áudio! Vou passar para uma pessoa da equipe ouvir e te responder por aqui."
)
LANGUAGE_MESSAGE = (
    "Olá! Vou chamar uma pessoa da equipe para te atender. / Hello! A team member will "
    "answer you shortly. / ¡Hola! Una persona del equipo te responderá en breve."
)


@attrs.define
class Run:
    """One turn in progress: the record and what the steps need."""

    turn: AssistantTurn
    timer: Timer
    origin: float
    model_ms: float = 0.0
    listener: Callable[[TraceStep], Awaitable[None]] | None = None
    pending: list[TraceStep] = attrs.field(factory=list)

    def step(self, kind: str, started: float, **detail: Any) -> None:
        """Record a step that started at ``started`` (timer ms) and ends now."""
        now = self.timer.monotonic_ms()
        step = TraceStep(
            kind=kind,
            started_ms=round(started - self.origin, 3),
            duration_ms=round(now - started, 3),
            detail=detail,
        )
        self.turn.steps.append(step)
        if self.listener is not None:
            self.pending.append(step)

    async def flush(self) -> None:
        """Hand the steps recorded since the last flush to the listener (streaming)."""
        steps, self.pending = self.pending, []
        if self.listener is not None:
            for step in steps:
                await self.listener(step)

    def now_ms(self) -> float:
        """The timer's reading now."""
        return self.timer.monotonic_ms()


@attrs.frozen(kw_only=True)
class Outcome:
    """How the turn should end: a reply, or a handoff (with what the patient is told)."""

    reply: str | None = None
    handoff: str | None = None
    summary: str | None = None
    urgent: bool = False
    patient_text: str | None = None


@attrs.define(kw_only=True)
class AssistantBrain:
    """Thinks one turn (see the module)."""

    uow_factory: UnitOfWorkFactory
    timer: Timer
    models: ChatModels
    tools: AssistantTools
    knowledge: KnowledgeBase
    formats: Formats
    media: MediaStore
    transcriber: Transcriber | None = None

    def start(
        self,
        turn: AssistantTurn,
        listener: Callable[[TraceStep], Awaitable[None]] | None = None,
        origin: float | None = None,
    ) -> Run:
        """Begin timing ``turn``, from ``origin`` (a timer reading; default now);
        ``listener`` receives each step as it ends."""
        start = self.timer.monotonic_ms() if origin is None else origin
        return Run(turn, self.timer, start, listener=listener)

    async def think(
        self,
        run: Run,
        clinic: Clinic,
        assistant: Assistant,
        customer: Customer,
        burst: Sequence[Message],
        history: list[ModelMessage],
        *,
        chat_id: str | None,
        sandbox: bool = False,
        on_text: TextSink | None = None,
    ) -> Outcome:
        """Decide what to do with ``burst`` (the patient's messages, oldest first), given
        the conversation so far as model messages (``history``)."""
        started = run.now_ms()
        text = await self._listen(run, clinic, burst, history)
        if text is None:
            return Outcome(handoff="voice_note", patient_text=VOICE_MESSAGE)
        flag = find_red_flag(text)
        run.step("safety", started, red_flag=None if flag is None else flag.category.value)
        run.turn.intent = recognize(text).intent.value  # for the trace, whatever the engine
        if flag is not None:
            run.turn.intent = "red_flag"
            return Outcome(
                handoff=f"red_flag:{flag.category.value}",
                summary=staff_note(flag),
                urgent=True,
                patient_text=safe_reply(flag),
            )
        started = run.now_ms()
        language = detect_language(text)
        run.step("language", started, language=language)
        if language in ("en", "es"):
            return Outcome(
                handoff=f"language:{language}",
                summary=f"O paciente escreveu em outro idioma ({language}): {text[:200]}",
                patient_text=LANGUAGE_MESSAGE,
            )
        if assistant.after_hours is AfterHours.HAND_OFF and not clinic.is_open_at(
            run.turn.started_at
        ):
            return Outcome(
                handoff="after_hours",
                summary=f"Mensagem fora do horário: {text[:300]}",
                patient_text=AFTER_HOURS_MESSAGE,
            )
        if assistant.engine is not Engine.OFFLINE and assistant.monthly_budget_cents is not None:
            usage = await self._usage(clinic, run.turn.started_at)
            if usage.exhausted(assistant.monthly_budget_cents):
                return Outcome(handoff="budget_exhausted", patient_text=HANDOFF_MESSAGE)
        ctx = ToolContext(
            clinic=clinic,
            assistant=assistant,
            customer_id=customer.id,
            chat_id=chat_id,
            sandbox=sandbox,
        )
        return await self._converse(run, clinic, assistant, customer, history, ctx, text, on_text)

    async def _listen(
        self, run: Run, clinic: Clinic, burst: Sequence[Message], history: list[ModelMessage]
    ) -> str | None:
        """The burst's text, voice notes transcribed (the history then says what they said
        instead of "[mensagem de voz]"); None when a voice note cannot be transcribed."""
        parts: list[str] = []
        heard_by_position: dict[int, str] = {}
        for message in burst:
            if message.kind is not MessageKind.AUDIO:
                parts.append(message.body or "")
                continue
            started = run.now_ms()
            stored = message.media.stored_path if message.media else None
            if self.transcriber is None or stored is None:
                run.step("transcription", started, ok=False, message_id=message.id)
                return None
            try:
                audio = await self.media.read(clinic.id, stored)
                media_type = message.media.mime_type if message.media else None
                heard = await self.transcriber.transcribe(
                    audio, media_type=media_type or "audio/ogg"
                )
            except PorfinError as exc:
                run.step("transcription", started, ok=False, error=exc.code)
                return None
            run.step("transcription", started, ok=True, text=heard[:500])
            parts.append(heard)
            heard_by_position[len(parts) - 1] = heard
        if heard_by_position:
            _put_transcripts(history, len(parts), heard_by_position)
        return burst_text(parts)

    async def _usage(self, clinic: Clinic, at: datetime) -> AssistantUsage:
        month = at.astimezone(clinic.zone).strftime("%Y-%m")
        async with self.uow_factory(read_only=True) as uow:
            return await uow.assistant_turns.usage(clinic.id, month)

    async def _converse(
        self,
        run: Run,
        clinic: Clinic,
        assistant: Assistant,
        customer: Customer,
        history: list[ModelMessage],
        ctx: ToolContext,
        text: str,
        on_text: TextSink | None,
    ) -> Outcome:
        started = run.now_ms()
        found = await self.knowledge.search(clinic.id, text, KNOWLEDGE_CHUNKS)
        run.step(
            "retrieval",
            started,
            query=text[:300],
            chunks=[
                {
                    "document": c.document_title,
                    "score": round(c.score, 3),
                    "text": c.chunk.text[:300],
                }
                for c in found
            ],
        )
        started = run.now_ms()
        grounding = await self._grounding(run, clinic, assistant, customer, found)
        messages = [
            ModelMessage(role="system", content=system_prompt(assistant, grounding)),
            *history,
        ]
        run.step("context", started, messages=len(messages), stage=grounding.stage)
        await run.flush()
        amounts = [*assistant.facts.values(), *(c.chunk.text for c in found)]
        return await self._generate(run, assistant, grounding, messages, ctx, amounts, on_text)

    async def _grounding(
        self,
        run: Run,
        clinic: Clinic,
        assistant: Assistant,
        customer: Customer,
        found: Sequence[Any],
    ) -> Grounding:
        now = run.turn.started_at
        upcoming = await self.tools.upcoming(clinic, customer.id, now)
        async with self.uow_factory(read_only=True) as uow:
            charges = await uow.charges.list(
                clinic.id, customer_id=customer.id, status=ChargeStatus.PENDING
            )
        return Grounding(
            now=now.astimezone(clinic.zone),
            clinic_name=clinic.name,
            assistant_name=assistant.name,
            facts=dict(assistant.facts),
            knowledge=tuple(
                GroundingChunk(
                    document=c.document_title, text=c.chunk.text, score=c.score, snippet=c.snippet
                )
                for c in found
            ),
            customer_name=first_name(customer.name) or None,
            stage=customer.stage.value,
            upcoming_appointments=tuple(upcoming),
            open_charges=tuple(
                f"{c.id}: {self.formats.money(c.due_cents)} ({c.description})" for c in charges
            ),
            assistant_role=assistant.role.value,
            deposit_cents=assistant.deposit_cents,
        )

    async def _generate(
        self,
        run: Run,
        assistant: Assistant,
        grounding: Grounding,
        messages: list[ModelMessage],
        ctx: ToolContext,
        amounts: list[str],
        on_text: TextSink | None,
    ) -> Outcome:
        try:
            model = self.models.for_engine(assistant.engine.value)
        except ModelUnavailable as exc:
            return Outcome(handoff=f"ai_unavailable:{exc.reason}", patient_text=HANDOFF_MESSAGE)
        settings = ModelSettings(
            model=assistant.model,
            fallback_model=assistant.fallback_model,
            temperature=assistant.temperature,
            max_output_tokens=assistant.max_output_tokens,
        )
        specs = self.tools.specs(assistant)
        conversation_ = list(messages)
        regenerated = False
        for _ in range(MAX_ROUNDS + 1):
            request = ModelRequest(
                settings=settings,
                messages=tuple(conversation_),
                tools=specs,
                grounding=grounding,
            )
            try:
                reply = await self._call(run, model, request, on_text)
            except ModelUnavailable as exc:
                return Outcome(handoff=f"ai_unavailable:{exc.reason}", patient_text=HANDOFF_MESSAGE)
            if reply.refusal:
                return Outcome(handoff="model_refused", patient_text=HANDOFF_MESSAGE)
            if reply.tool_calls:
                conversation_.append(
                    ModelMessage(role="assistant", content=reply.text, tool_calls=reply.tool_calls)
                )
                for call in reply.tool_calls:
                    if call.name == "hand_off" and assistant.may_use("hand_off"):
                        run.step(
                            "tool",
                            run.now_ms(),
                            name=call.name,
                            call_id=call.id,
                            arguments=dict(call.arguments),
                            result={"ok": True},
                        )
                        reason = str(call.arguments.get("reason") or "ai_hand_off")
                        summary = str(call.arguments.get("summary") or "") or None
                        return Outcome(
                            handoff=reason[:200],
                            summary=summary,
                            patient_text=reply.text.strip() or HANDOFF_MESSAGE,
                        )
                    started = run.now_ms()
                    result = await self.tools.run(call, ctx)
                    run.step(
                        "tool",
                        started,
                        name=call.name,
                        call_id=call.id,
                        arguments=dict(call.arguments),
                        result=result,
                    )
                    await run.flush()
                    amounts.append(tool_result_text(result))
                    conversation_.append(
                        ModelMessage(
                            role="tool", tool_call_id=call.id, content=tool_result_text(result)
                        )
                    )
                continue
            violations = self._validate(run, reply.text, amounts)
            if not violations:
                return Outcome(reply=reply.text.strip())
            if regenerated:
                return Outcome(
                    handoff="invalid_reply",
                    summary="A resposta da IA não passou na verificação: "
                    + "; ".join(f"{v.kind.value} ({v.detail})" for v in violations),
                    patient_text=HANDOFF_MESSAGE,
                )
            regenerated = True
            conversation_.append(ModelMessage(role="assistant", content=reply.text))
            conversation_.append(
                ModelMessage(
                    role="system",
                    content="A resposta anterior não pode ser enviada: "
                    + "; ".join(f"{v.kind.value}: {v.detail}" for v in violations)
                    + ". Escreva outra, seguindo as regras.",
                )
            )
        return Outcome(handoff="too_many_steps", patient_text=HANDOFF_MESSAGE)

    async def _call(
        self, run: Run, model: Any, request: ModelRequest, on_text: TextSink | None
    ) -> ModelReply:
        started = run.now_ms()
        try:
            reply: ModelReply = await model.complete(request, on_text)
        except ModelUnavailable as exc:
            elapsed = run.now_ms() - started
            run.model_ms += elapsed
            run.step("model", started, ok=False, error=exc.reason)
            await run.flush()
            raise
        elapsed = run.now_ms() - started
        run.model_ms += elapsed
        turn = run.turn
        turn.model = reply.model
        turn.input_tokens += reply.usage.input_tokens
        turn.output_tokens += reply.usage.output_tokens
        turn.cost_millicents += self.models.cost_millicents(reply.model, reply.usage)
        run.step(
            "model",
            started,
            model=reply.model,
            input_tokens=reply.usage.input_tokens,
            output_tokens=reply.usage.output_tokens,
            finish_reason=reply.finish_reason,
            tool_calls=[c.name for c in reply.tool_calls],
            text=reply.text[:1000],
        )
        await run.flush()
        return reply

    def _validate(self, run: Run, text: str, amounts: list[str]) -> tuple[Violation, ...]:
        started = run.now_ms()
        violations = check_reply(text, known_prices_cents=known_amounts(amounts))
        run.step(
            "validation",
            started,
            violations=[{"kind": v.kind.value, "detail": v.detail} for v in violations],
        )
        return violations


def _put_transcripts(history: list[ModelMessage], count: int, heard: dict[int, str]) -> None:
    """Replace the last ``count`` patient messages of ``history`` (the burst, oldest first)
    by what their voice notes said, where ``heard`` has it (by position in the burst)."""
    positions = [i for i, m in enumerate(history) if m.role == "user"][-count:]
    for n, index in enumerate(positions[-count:]):
        if n in heard:
            history[index] = ModelMessage(role="user", content=heard[n])
