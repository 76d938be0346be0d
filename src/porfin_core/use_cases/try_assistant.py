"""Talk to an assistant without WhatsApp: the sandbox conversation (API and CLI).

The same thinking as a real chat (safety, language, knowledge, the model and its tools, the
validation of the reply), for a made-up patient: tools that would change something (book,
cancel, charge...) only say what they would do, and nothing is sent to anyone. Each sandbox
turn is recorded (without a chat) so the next one continues it: the client sends the
transcript so far and the id of its last turn.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import attrs

from porfin_core.domain.assistant import AssistantTurn, TraceStep, TurnStatus
from porfin_core.domain.customer import Customer
from porfin_core.domain.message import Author, DeliveryStatus, Direction, Message, MessageKind
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.chat_model import ModelMessage, TextSink
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._assistant_brain import AssistantBrain
from porfin_core.use_cases._assistant_prompt import tool_exchange
from porfin_core.use_cases._assistants import find
from porfin_core.use_cases._transaction import transact

SANDBOX_PATIENT = "Paciente de teste"
MAX_LINES = 40
MAX_LINE = 2000


@attrs.frozen(kw_only=True)
class SandboxLine:
    """One line of the sandbox transcript.

    Attributes:
        role: ``patient`` or ``assistant``.
        text: What was written.
    """

    role: str
    text: str


@attrs.frozen(kw_only=True)
class SandboxTurn:
    """A sandbox message to answer.

    Attributes:
        clinic_id: The clinic.
        assistant_id: The assistant to talk to.
        transcript: The conversation so far, oldest first, ending with the patient's
            message(s) to answer.
        previous_turn_id: The last sandbox turn of this conversation (its tool calls come
            back to the model), if any.
    """

    clinic_id: str
    assistant_id: str
    transcript: Sequence[SandboxLine]
    previous_turn_id: str | None = None


@attrs.frozen
class SandboxReply:
    """The turn (its trace) and what the patient would read."""

    turn: AssistantTurn
    text: str | None
    handed_off: bool


@attrs.define(kw_only=True)
class TryAssistant:
    """Answer a sandbox message (see the module)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator
    brain: AssistantBrain

    async def check(self, command: SandboxTurn) -> None:
        """Refuse a command that cannot be answered, before anything starts (a streamed
        answer cannot change its status once it has begun).

        Raises:
            NotFound: no such clinic or assistant.
            ValidationError: the transcript is not acceptable.
        """
        _checked(command.transcript)
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(command.clinic_id)
        find(clinic.assistants, command.assistant_id)

    async def __call__(
        self,
        command: SandboxTurn,
        on_text: TextSink | None = None,
        on_step: Callable[[TraceStep], Awaitable[None]] | None = None,
    ) -> SandboxReply:
        """Answer; ``on_step`` receives each step of the trace as it ends and ``on_text``
        the reply's text as it streams.

        Raises:
            NotFound: no such clinic or assistant (or previous turn).
            ValidationError: an empty or over-long transcript, a role that is not
                ``patient``/``assistant``, or a transcript not ending with the patient.
        """
        lines = _checked(command.transcript)
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(command.clinic_id)
            previous = None
            if command.previous_turn_id is not None:
                previous = await uow.assistant_turns.get(clinic.id, command.previous_turn_id)
                if previous.chat_id is not None:
                    raise NotFound("sandbox turn not found", id=command.previous_turn_id)
        assistant = find(clinic.assistants, command.assistant_id)
        now = self.clock.now()
        burst_start = len(lines)
        while burst_start > 0 and lines[burst_start - 1].role == "patient":
            burst_start -= 1
        burst = [_message(line, clinic.id, f"sandbox-{n}", now) for n, line in enumerate(lines)]
        history = _history(lines, previous)
        patient = Customer(
            id=f"sandbox:{assistant.id}",
            clinic_id=clinic.id,
            name=SANDBOX_PATIENT,
            phone=None,
            created_at=now,
        )
        run = self.brain.start(
            AssistantTurn(
                id=self.ids.new_id(),
                clinic_id=clinic.id,
                chat_id=None,
                assistant_id=assistant.id,
                started_at=now,
            ),
            listener=on_step,
        )
        outcome = await self.brain.think(
            run,
            clinic,
            assistant,
            patient,
            burst[burst_start:],
            history,
            chat_id=None,
            sandbox=True,
            on_text=on_text,
        )
        await run.flush()
        turn = run.turn
        turn.finished_at = self.clock.now()
        turn.model_ms = round(run.model_ms, 3)
        turn.overhead_ms = round(run.now_ms() - run.origin - run.model_ms, 3)
        turn.reply = outcome.reply if outcome.handoff is None else outcome.patient_text
        turn.status = TurnStatus.REPLIED if outcome.handoff is None else TurnStatus.HANDED_OFF
        turn.handoff_reason = outcome.handoff

        async def save(uow: UnitOfWork) -> None:
            await uow.assistant_turns.save(turn)
            await uow.commit()

        await transact(self.uow_factory, save)
        return SandboxReply(turn, turn.reply, outcome.handoff is not None)


def _checked(transcript: Sequence[SandboxLine]) -> list[SandboxLine]:
    lines = list(transcript)
    if not lines or len(lines) > MAX_LINES:
        raise ValidationError(f"the transcript holds 1 to {MAX_LINES} lines", field="transcript")
    for line in lines:
        if line.role not in ("patient", "assistant"):
            raise ValidationError("role must be patient or assistant", field="transcript")
        if not line.text.strip() or len(line.text) > MAX_LINE:
            raise ValidationError(f"each line holds 1 to {MAX_LINE} characters", field="transcript")
    if lines[-1].role != "patient":
        raise ValidationError("the transcript must end with the patient", field="transcript")
    return lines


def _message(line: SandboxLine, clinic_id: str, message_id: str, now: datetime) -> Message:
    patient = line.role == "patient"
    return Message(
        id=message_id,
        clinic_id=clinic_id,
        chat_id="sandbox",
        channel_id="sandbox",
        direction=Direction.INBOUND if patient else Direction.OUTBOUND,
        author=Author.PATIENT if patient else Author.AI,
        kind=MessageKind.TEXT,
        body=line.text,
        status=DeliveryStatus.RECEIVED if patient else DeliveryStatus.SENT,
        created_at=now,
    )


def _history(lines: list[SandboxLine], previous: AssistantTurn | None) -> list[ModelMessage]:
    """The transcript as model messages; the previous turn's tool calls go right before the
    assistant's last line."""
    last_said = max((i for i, line in enumerate(lines) if line.role == "assistant"), default=-1)
    history: list[ModelMessage] = []
    for i, line in enumerate(lines):
        if i == last_said:
            history += tool_exchange(previous)
        if line.role == "patient":
            history.append(ModelMessage(role="user", content=line.text))
        else:
            history.append(ModelMessage(role="assistant", content=line.text))
    return history
