"""The AI receptionist wired to events and jobs, and the engines it may use.

- a patient's message in a chat the AI serves schedules an ``assistant.reply`` job for the
  assistant's debounce (8 s by default; at once for a message with a clinical red flag), keyed
  by the message: a burst of messages makes one job per message, and only the job of the
  last one answers (the others find a newer message and stop);
- the job runs the pipeline (``AnswerWithAssistant``).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import structlog

from porfin_adapters.events import EventDispatcher
from porfin_adapters.jobs import JobWorker
from porfin_core.domain.assistant import choose_assistant
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.events import DomainEvent, MessageCreated
from porfin_core.domain.jobs import Job
from porfin_core.domain.message import MessageKind
from porfin_core.domain.model_costs import PriceTable, cost_cents
from porfin_core.domain.red_flags import find_red_flag
from porfin_core.errors import JobFailed, ModelUnavailable, NotFound
from porfin_core.ports.chat_model import ChatModel, TokenUsage
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.use_cases.answer_with_assistant import REPLY_JOB, AnswerWithAssistant
from porfin_core.use_cases.schedule_job import NewJob, ScheduleJob

log = structlog.get_logger(__name__)


@attrs.define
class ChatModelsByEngine:
    """:class:`~porfin_core.ports.chat_model.ChatModels`: the offline engine always, OpenAI
    when configured."""

    offline: ChatModel
    openai: ChatModel | None = None
    prices: PriceTable = attrs.field(factory=dict)

    def for_engine(self, engine: str) -> ChatModel:
        if engine == "offline":
            return self.offline
        if engine == "openai" and self.openai is not None:
            return self.openai
        raise ModelUnavailable(f"the {engine} engine is not configured", reason="not_configured")

    def cost_millicents(self, model: str, usage: TokenUsage) -> int:
        cost = cost_cents(model, usage, self.prices)
        return 0 if cost is None else round(cost * 1000)


@attrs.define
class AssistantReactions:
    """Schedules and runs the assistant's replies (see the module)."""

    answer: AnswerWithAssistant
    schedule: ScheduleJob
    clock: Clock
    ids: IdGenerator
    _clinics: dict[str, Clinic] = attrs.field(factory=dict, init=False)

    def attach(self, dispatcher: EventDispatcher, worker: JobWorker) -> None:
        """Subscribe to patient messages; handle ``assistant.reply`` jobs."""
        dispatcher.subscribe(MessageCreated, self._patient_wrote)
        if REPLY_JOB not in worker.kinds:
            worker.register(REPLY_JOB, self._reply)

    async def _patient_wrote(self, event: DomainEvent) -> None:
        assert isinstance(event, MessageCreated)
        if event.direction != "inbound":
            return
        # Every patient message comes through here: the cheapest reads decide first (most
        # clinics have no assistant, most chats are not the AI's), and a short text is read
        # from the event rather than from the message.
        clinic = await self._clinic(event.clinic_id)
        if not any(a.active for a in clinic.assistants):
            return
        async with self.answer.uow_factory(read_only=True) as uow:
            chat = await uow.chats.get(event.clinic_id, event.chat_id)
            if not chat.ai_may_reply(self.clock.now()):
                return
            customer = await uow.customers.get(event.clinic_id, chat.customer_id)
            assistant = choose_assistant(clinic.assistants, chat.channel_id, customer.stage.value)
            if assistant is None:
                return
            if event.kind == MessageKind.TEXT.value and event.short_text is not None:
                body = event.short_text
            else:
                body = (await uow.messages.get(event.clinic_id, event.message_id)).body or ""
        # A clinical red flag is not kept waiting for the rest of the burst.
        urgent = find_red_flag(body) is not None
        delay = timedelta(seconds=0 if urgent else assistant.debounce_seconds)
        await self.schedule(
            NewJob(
                clinic_id=event.clinic_id,
                kind=REPLY_JOB,
                run_at=event.occurred_at + delay,
                idempotency_key=f"{REPLY_JOB}:{event.message_id}",
                payload={"chat_id": event.chat_id, "message_id": event.message_id},
                subject=f"chat:{event.chat_id}",
                max_attempts=3,
            )
        )

    async def _clinic(self, clinic_id: str) -> Clinic:
        """The clinic, read once per turn of the event loop: the events of a commit (a batch of
        patient messages under load) are delivered in one turn and share one read."""
        clinic = self._clinics.get(clinic_id)
        if clinic is None:
            async with self.answer.uow_factory(read_only=True) as uow:
                clinic = await uow.clinics.get(clinic_id)
            if not self._clinics:
                asyncio.get_running_loop().call_soon(self._clinics.clear)
            self._clinics[clinic_id] = clinic
        return clinic

    async def _reply(self, job: Job) -> None:
        chat_id, message_id = job.payload.get("chat_id"), job.payload.get("message_id")
        if not isinstance(chat_id, str) or not isinstance(message_id, str):
            raise JobFailed("the assistant.reply job has no chat_id/message_id", job_id=job.id)
        try:
            turn = await self.answer(job.clinic_id, chat_id, message_id)
        except NotFound as exc:
            raise JobFailed(exc.message, job_id=job.id) from exc
        if turn is not None:
            log.info(
                "assistant.turn",
                chat_id=chat_id,
                status=turn.status.value,
                tools=turn.tools_called(),
                handoff=turn.handoff_reason,
                overhead_ms=turn.overhead_ms,
                model_ms=turn.model_ms,
            )
