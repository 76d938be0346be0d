"""The AI receptionist's pipeline: answer a burst of patient messages in a chat the AI serves.

It runs after the inbound commit, off the webhook path: each patient message schedules an
``assistant.reply`` job ``debounce_seconds`` later (a burst of messages collapses into the job
of its last message: the others find a newer message and stop). Then, for the burst (the
patient messages since the last message to them):

1. **Who answers**: the chat must be the AI's (mode ``ai``, open) and an active assistant must
   serve its channel and the patient's stage; else nothing is done.
2. **Voice notes**: transcribed when a transcriber is configured; else acknowledged and
   handed to a person.
3. **Safety before any model call**: a clinical red flag hands the chat to a person at once,
   marked urgent, with a short safe message to the patient (SAMU 192 / CVV 188) and a note
   for the staff.
4. **Language**: a message in another language is handed to a person.
5. **Budget and hours**: a spent monthly budget, or the after-hours rule, hands off.
6. **Context**: recent messages (with the previous turn's tool calls), the patient's stage,
   upcoming appointments, open charges, knowledge retrieved for the burst, the clinic's
   facts, now in the clinic's time zone.
7. **The model with tools** (at most :data:`MAX_ROUNDS` rounds): each tool runs the core
   use case staff use; ``hand_off`` is a structured action, never a phrase in the text.
8. **Validation** of the reply (pt-BR, WhatsApp-sized, no diagnosis, prescription, dosage,
   treatment advice or promises, no amount the clinic did not set): an invalid reply is
   regenerated once, then the chat is handed off.
9. **Delivery** through the outbox as author ``ai``, in a transaction that first checks that
   nothing newer happened: a newer patient message or a staff message since the burst
   supersedes the reply (the newer message's job answers the whole burst). Never two
   replies to one burst.

Every step is recorded in an :class:`~porfin_core.domain.assistant.AssistantTurn`.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.assistant import AssistantTurn, TurnStatus, choose_assistant
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer
from porfin_core.domain.message import Author, Direction, Message, MessageKind
from porfin_core.ports.chat_model import TextSink
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._assistant_brain import AssistantBrain, Outcome, Run
from porfin_core.use_cases._assistant_prompt import conversation
from porfin_core.use_cases._outbound import queue_message
from porfin_core.use_cases._transaction import transact

REPLY_JOB = "assistant.reply"
"""Job kind: answer the burst ending with the job's message."""

HISTORY = 16
"""Messages of the chat the model sees."""


@attrs.frozen(kw_only=True)
class Burst:
    """The patient messages to answer (oldest first) and the chat's recent history."""

    messages: list[Message]
    history: list[Message]


@attrs.define(kw_only=True)
class AnswerWithAssistant:
    """The pipeline (see the module)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    brain: AssistantBrain

    async def __call__(
        self, clinic_id: str, chat_id: str, message_id: str, on_text: TextSink | None = None
    ) -> AssistantTurn | None:
        """Answer the burst whose last patient message is ``message_id``; None when there
        was nothing to do (not the AI's chat, no assistant, a newer message, already
        answered)."""
        origin = self.brain.timer.monotonic_ms()
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(clinic_id)
            chat = await uow.chats.get(clinic_id, chat_id)
            customer = await uow.customers.get(clinic_id, chat.customer_id)
            burst = await _burst(uow, clinic_id, chat_id)
            previous = await uow.assistant_turns.for_chat(clinic_id, chat_id, limit=3)
        now = self.clock.now()
        if not chat.ai_may_reply(now) or not burst.messages:
            return None
        if burst.messages[-1].id != message_id:
            return None  # a newer patient message: its own job answers the whole burst
        assistant = choose_assistant(clinic.assistants, chat.channel_id, customer.stage.value)
        if assistant is None:
            return None
        run = self.brain.start(
            AssistantTurn(
                id=self.ids.new_id(),
                clinic_id=clinic_id,
                chat_id=chat_id,
                assistant_id=assistant.id,
                message_ids=[m.id for m in burst.messages],
                started_at=now,
            ),
            origin=origin,
        )
        # The last turn that used tools (the slots it offered stay known across a question
        # in between), among the last three.
        with_tools = next((t for t in previous if t.tools_called()), None)
        history = conversation(burst.history, with_tools)
        outcome = await self.brain.think(
            run,
            clinic,
            assistant,
            customer,
            burst.messages,
            history,
            chat_id=chat_id,
            on_text=on_text,
        )
        return await self._finish(run, clinic, chat, burst, outcome)

    # -- delivering ---------------------------------------------------------------------------

    async def _finish(
        self,
        run: Run,
        clinic: Clinic,
        chat: Chat,
        burst: Burst,
        outcome: Outcome,
    ) -> AssistantTurn:
        turn = run.turn
        last_seen = burst.messages[-1]

        async def work(uow: UnitOfWork) -> AssistantTurn:
            now = self.clock.now()
            started = run.now_ms()
            current = await uow.chats.get(clinic.id, chat.id)
            if not current.ai_may_reply(now) or await _interrupted(uow, chat, last_seen.id):
                turn.status = TurnStatus.SUPERSEDED
                turn.reply = outcome.reply or outcome.patient_text
                run.step("delivery", started, superseded=True)
            else:
                await self._deliver(uow, run, clinic, current, outcome, now)
                run.step("delivery", started, status=turn.status.value)
            turn.finished_at = now
            turn.overhead_ms = round(run.now_ms() - run.origin - run.model_ms, 3)
            turn.model_ms = round(run.model_ms, 3)
            await uow.assistant_turns.save(turn)
            if turn.input_tokens or turn.output_tokens:
                month = turn.started_at.astimezone(clinic.zone).strftime("%Y-%m")
                usage = await uow.assistant_turns.usage(clinic.id, month)
                usage.add(turn)
                await uow.assistant_turns.save_usage(usage)
            uow.record(current.pull_events())
            await uow.commit()
            return turn

        return await transact(self.uow_factory, work)

    async def _deliver(
        self,
        uow: UnitOfWork,
        run: Run,
        clinic: Clinic,
        chat: Chat,
        outcome: Outcome,
        now: datetime,
    ) -> None:
        turn = run.turn
        customer = await uow.customers.get(clinic.id, chat.customer_id)
        if outcome.handoff is not None:
            # Handed off before the note to the patient is added: the note is no answer, and
            # the chat waits for a person since the patient's message.
            turn.status = TurnStatus.HANDED_OFF
            turn.handoff_reason = outcome.handoff
            chat.hand_off(
                outcome.handoff,
                now,
                by=f"ai:{turn.assistant_id}",
                summary=outcome.summary or _summary(turn, customer),
                urgent=outcome.urgent,
            )
            chat.assign(None, now)
        text = outcome.reply if outcome.handoff is None else outcome.patient_text
        if text:
            message = await queue_message(
                uow,
                chat=chat,
                customer=customer,
                kind=MessageKind.TEXT,
                body=text,
                extra={"assistant_turn_id": turn.id},
                now=now,
                ids=self.ids,
                author=Author.AI,
            )
            turn.reply = text
            turn.reply_message_ids.append(message.id)
        if outcome.handoff is None:
            turn.status = TurnStatus.REPLIED
            return
        await uow.chats.save(chat)


async def _burst(uow: UnitOfWork, clinic_id: str, chat_id: str) -> Burst:
    """The patient messages after the last message to them, and the recent history."""
    page = await uow.messages.list_for_chat(clinic_id, chat_id, limit=HISTORY)
    newest_first = page.items
    messages: list[Message] = []
    for message in newest_first:
        if message.direction is not Direction.INBOUND:
            break
        messages.append(message)
    return Burst(messages=messages[::-1], history=newest_first[::-1])


async def _interrupted(uow: UnitOfWork, chat: Chat, last_seen_id: str) -> bool:
    """True when, since the burst's last message, the patient wrote again or a person wrote
    to them (the AI's own messages and system messages, such as a charge it sent, do not
    count)."""
    page = await uow.messages.list_for_chat(chat.clinic_id, chat.id, limit=HISTORY)
    for message in page.items:  # newest first
        if message.id == last_seen_id:
            return False
        if message.direction is Direction.INBOUND or message.author in _PEOPLE:
            return True
    return True  # the burst scrolled out of sight: much happened since


_PEOPLE = frozenset({Author.STAFF, Author.CLINIC_PHONE})


def _summary(turn: AssistantTurn, customer: Customer) -> str:
    """A short note for the secretary: who, what they wanted, what the AI did."""
    tools = ", ".join(turn.tools_called()) or "nenhuma ação"
    who = customer.name or customer.phone or "paciente"
    return f"{who}: intenção {turn.intent or 'não identificada'}; a IA fez: {tools}."
