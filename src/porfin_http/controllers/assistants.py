"""The clinic's AI assistants (``/api/v1/assistants``): configuration, the sandbox
conversation, and the trace of what the AI did in a chat."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.response import Stream

from porfin_core.domain.assistant import Assistant, AssistantTurn, TraceStep
from porfin_core.permissions import Permission, allows
from porfin_core.use_cases._assistants import find
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.try_assistant import SandboxLine, SandboxTurn
from porfin_core.use_cases.update_assistant import ChangeAssistant
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems

Text = Annotated[str, msgspec.Meta(max_length=4000)]


class AssistantIn(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """An assistant's settings; on `PATCH` only the ones given change. `facts` by topic:
    `address`, `hours`, `prices`, `insurance`, `payment`, `about`, `policies`. `tools`: any of
    `find_slots`, `book_appointment`, `reschedule_appointment`, `cancel_appointment`,
    `create_pix_charge`, `hand_off`, `set_funnel_stage`, `add_tag`. Managers may change only
    `tone` and `facts`."""

    name: Annotated[str, msgspec.Meta(max_length=60)] | msgspec.UnsetType = msgspec.UNSET
    role: Literal["receptionist", "lead_conversion", "sales"] | msgspec.UnsetType = msgspec.UNSET
    tone: Annotated[str, msgspec.Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET
    facts: dict[Annotated[str, msgspec.Meta(max_length=20)], Text] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    tools: list[Annotated[str, msgspec.Meta(max_length=40)]] | msgspec.UnsetType = msgspec.UNSET
    after_hours: Literal["answer", "hand_off"] | msgspec.UnsetType = msgspec.UNSET
    engine: Literal["offline", "openai"] | msgspec.UnsetType = msgspec.UNSET
    model: Annotated[str, msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    fallback_model: Annotated[str, msgspec.Meta(max_length=100)] | msgspec.UnsetType | None = (
        msgspec.UNSET
    )
    temperature: float | msgspec.UnsetType = msgspec.UNSET
    max_output_tokens: int | msgspec.UnsetType = msgspec.UNSET
    monthly_budget_cents: int | msgspec.UnsetType | None = msgspec.UNSET
    debounce_seconds: int | msgspec.UnsetType = msgspec.UNSET
    deposit_cents: int | msgspec.UnsetType | None = msgspec.UNSET
    channel_ids: list[Annotated[str, msgspec.Meta(max_length=64)]] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    stages: list[Annotated[str, msgspec.Meta(max_length=20)]] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET

    def given(self) -> dict[str, Any]:
        """The settings present in the body."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not msgspec.UNSET
        }


class AssistantOut(msgspec.Struct):
    """An assistant."""

    id: str
    name: str
    role: str
    tone: str
    facts: dict[str, str]
    tools: list[str]
    after_hours: str
    engine: str
    model: str
    fallback_model: str | None
    temperature: float
    max_output_tokens: int
    monthly_budget_cents: int | None
    debounce_seconds: int
    deposit_cents: int | None
    channel_ids: list[str]
    stages: list[str]
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, assistant: Assistant) -> AssistantOut:
        """Present ``assistant``."""
        return cls(
            id=assistant.id,
            name=assistant.name,
            role=assistant.role.value,
            tone=assistant.tone,
            facts=dict(assistant.facts),
            tools=list(assistant.tools),
            after_hours=assistant.after_hours.value,
            engine=assistant.engine.value,
            model=assistant.model,
            fallback_model=assistant.fallback_model,
            temperature=assistant.temperature,
            max_output_tokens=assistant.max_output_tokens,
            monthly_budget_cents=assistant.monthly_budget_cents,
            debounce_seconds=assistant.debounce_seconds,
            deposit_cents=assistant.deposit_cents,
            channel_ids=list(assistant.channel_ids),
            stages=list(assistant.stages),
            active=assistant.active,
            created_at=assistant.created_at.astimezone(UTC),
        )


class StepOut(msgspec.Struct):
    """One step of a turn: `safety`, `language`, `transcription`, `retrieval`, `context`,
    `model`, `tool`, `validation`, `delivery`; `detail` says what it saw and decided."""

    kind: str
    started_ms: float
    duration_ms: float
    detail: dict[str, Any]

    @classmethod
    def of(cls, step: TraceStep) -> StepOut:
        """Present ``step``."""
        return cls(step.kind, step.started_ms, step.duration_ms, dict(step.detail))


class TurnOut(msgspec.Struct):
    """What the assistant did for one burst of patient messages."""

    id: str
    assistant_id: str
    chat_id: str | None
    message_ids: list[str]
    started_at: datetime
    finished_at: datetime | None
    status: str
    intent: str | None
    reply: str | None
    reply_message_ids: list[str]
    handoff_reason: str | None
    model: str | None
    input_tokens: int
    output_tokens: int
    cost_millicents: int
    model_ms: float
    overhead_ms: float
    steps: list[StepOut]

    @classmethod
    def of(cls, turn: AssistantTurn) -> TurnOut:
        """Present ``turn``."""
        return cls(
            id=turn.id,
            assistant_id=turn.assistant_id,
            chat_id=turn.chat_id,
            message_ids=list(turn.message_ids),
            started_at=turn.started_at.astimezone(UTC),
            finished_at=None if turn.finished_at is None else turn.finished_at.astimezone(UTC),
            status=turn.status.value,
            intent=turn.intent,
            reply=turn.reply,
            reply_message_ids=list(turn.reply_message_ids),
            handoff_reason=turn.handoff_reason,
            model=turn.model,
            input_tokens=turn.input_tokens,
            output_tokens=turn.output_tokens,
            cost_millicents=turn.cost_millicents,
            model_ms=turn.model_ms,
            overhead_ms=turn.overhead_ms,
            steps=[StepOut.of(s) for s in turn.steps],
        )


class SandboxLineIn(msgspec.Struct, forbid_unknown_fields=True):
    """One line of the sandbox transcript."""

    role: Literal["patient", "assistant"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]


class SandboxIn(msgspec.Struct, forbid_unknown_fields=True):
    """The sandbox conversation so far (ending with the patient), and the id of its last
    turn (so the assistant remembers the slots it offered)."""

    transcript: Annotated[list[SandboxLineIn], msgspec.Meta(min_length=1, max_length=40)]
    previous_turn_id: Annotated[str, msgspec.Meta(max_length=64)] | None = None


class SandboxOut(msgspec.Struct):
    """What the patient would read, whether a person would take over, and the trace."""

    text: str | None
    handed_off: bool
    turn: TurnOut


_encode = msgspec.json.Encoder().encode
NDJSON = "application/x-ndjson"


class AssistantController(Controller):
    """AI assistants: admins configure them; managers tune tone and facts and try them."""

    path = "/assistants"
    tags = ["assistants"]
    security = BEARER

    @get(
        "/",
        summary="List assistants",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(401, 403),
    )
    async def list_assistants(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> list[AssistantOut]:
        clinic = await container.get_clinic()(principal_of(request).clinic_id)
        return [AssistantOut.of(a) for a in clinic.assistants]

    @post(
        "/",
        summary="Create an assistant",
        description="Settings as in `AssistantIn`; `name` is required. Defaults: role "
        "`receptionist`, engine `offline` (no key needed), every tool, debounce 8 s. "
        "Audit `assistant.create`.",
        opt=needs(Permission.ASSISTANT_MANAGE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def create_assistant(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[AssistantIn],
    ) -> AssistantOut:
        assistant = await container.create_assistant()(
            NewAssistant(
                clinic_id=principal_of(request).clinic_id,
                settings=data.given(),
                actor=actor_of(request),
            )
        )
        return AssistantOut.of(assistant)

    @get(
        "/{assistant_id:str}",
        summary="Get an assistant",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(401, 403, 404),
    )
    async def get_assistant(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        assistant_id: FromPath[str],
    ) -> AssistantOut:
        clinic = await container.get_clinic()(principal_of(request).clinic_id)
        return AssistantOut.of(find(clinic.assistants, assistant_id))

    @patch(
        "/{assistant_id:str}",
        summary="Change an assistant",
        description="Only the settings given change. Managers may change `tone` and `facts` "
        "(others: `403`). Audit `assistant.update`.",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def update_assistant(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        assistant_id: FromPath[str],
        data: JSONBody[AssistantIn],
    ) -> AssistantOut:
        principal = principal_of(request)
        assistant = await container.update_assistant()(
            ChangeAssistant(
                clinic_id=principal.clinic_id,
                assistant_id=assistant_id,
                settings=data.given(),
                may_manage=allows(principal.role, Permission.ASSISTANT_MANAGE),
                actor=actor_of(request),
            )
        )
        return AssistantOut.of(assistant)

    @delete(
        "/{assistant_id:str}",
        summary="Remove an assistant",
        description="Its chats are answered by the next assistant that fits, if any. Audit "
        "`assistant.remove`.",
        opt=needs(Permission.ASSISTANT_MANAGE),
        responses=problems(401, 403, 404),
        status_code=204,
    )
    async def remove_assistant(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        assistant_id: FromPath[str],
    ) -> None:
        await container.update_assistant()(
            ChangeAssistant(
                clinic_id=principal_of(request).clinic_id,
                assistant_id=assistant_id,
                remove=True,
                actor=actor_of(request),
            )
        )

    @post(
        "/{assistant_id:str}/sandbox",
        summary="Talk to an assistant (sandbox)",
        description="Answers the transcript's last patient message as the assistant would "
        "in a chat, for a made-up patient: tools that change something only say what they "
        "would do, and nothing is sent. Send the returned `turn.id` as `previous_turn_id` "
        "with the next message. `POST .../sandbox/stream` streams the same as it happens.",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(400, 401, 403, 404, 422),
        status_code=200,
    )
    async def sandbox(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        assistant_id: FromPath[str],
        data: JSONBody[SandboxIn],
    ) -> SandboxOut:
        reply = await container.try_assistant()(_sandbox_turn(request, assistant_id, data))
        return SandboxOut(reply.text, reply.handed_off, TurnOut.of(reply.turn))

    @post(
        "/{assistant_id:str}/sandbox/stream",
        summary="Talk to an assistant (sandbox), streaming the trace",
        description='As `.../sandbox`, answered as NDJSON: one `{"type": "step", ...}` '
        "line per step as it ends (safety, language, retrieval, model calls, tools, "
        'validation), `{"type": "text", "delta": ...}` lines while the reply is '
        'written, then `{"type": "reply", ...}` (a `SandboxOut`), or `{"type": '
        '"error", "code": ..., "message": ...}`.',
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(400, 401, 403, 404, 422),
        status_code=200,
        media_type=NDJSON,
    )
    async def sandbox_stream(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        assistant_id: FromPath[str],
        data: JSONBody[SandboxIn],
    ) -> Stream:
        command = _sandbox_turn(request, assistant_id, data)
        await container.try_assistant().check(command)
        return Stream(
            _ndjson(container.try_assistant(), command), media_type="application/x-ndjson"
        )


@get(
    "/chats/{chat_id:str}/assistant-turns",
    summary="What the AI did in a chat",
    description="The chat's assistant turns, newest first, each with its steps: what was "
    "retrieved, each model call (model, tokens, time), each tool with its arguments and "
    "result, the validation, and how it ended (`replied`, `handed_off`, `superseded`).",
    opt=needs(Permission.CHATS_OWN),
    responses=problems(400, 401, 403, 404),
    tags=["assistants"],
    security=BEARER,
)
async def list_assistant_turns(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    chat_id: FromPath[str],
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
) -> list[TurnOut]:
    """The chat's turns with their traces."""
    principal = principal_of(request)
    turns = await container.list_assistant_turns()(principal.clinic_id, chat_id, principal, limit)
    return [TurnOut.of(t) for t in turns]


def _sandbox_turn(
    request: Request[Any, Any, Any], assistant_id: str, data: SandboxIn
) -> SandboxTurn:
    return SandboxTurn(
        clinic_id=principal_of(request).clinic_id,
        assistant_id=assistant_id,
        transcript=[SandboxLine(role=line.role, text=line.text) for line in data.transcript],
        previous_turn_id=data.previous_turn_id,
    )


async def _ndjson(try_assistant: Any, command: SandboxTurn) -> AsyncIterator[bytes]:
    """The sandbox turn as NDJSON lines, each sent as soon as it is known."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()

    async def on_step(step: TraceStep) -> None:
        await queue.put(_encode({"type": "step", **msgspec.to_builtins(StepOut.of(step))}) + b"\n")

    async def on_text(delta: str) -> None:
        await queue.put(_encode({"type": "text", "delta": delta}) + b"\n")

    async def run() -> None:
        try:
            reply = await try_assistant(command, on_text=on_text, on_step=on_step)
            out = SandboxOut(reply.text, reply.handed_off, TurnOut.of(reply.turn))
            await queue.put(_encode({"type": "reply", **msgspec.to_builtins(out)}) + b"\n")
        except Exception as exc:  # the stream has started: report in-band
            code = getattr(exc, "code", "internal_error")
            message = getattr(exc, "message", "the sandbox turn failed")
            await queue.put(_encode({"type": "error", "code": code, "message": message}) + b"\n")
        finally:
            await queue.put(None)

    task = asyncio.create_task(run())
    try:
        while (line := await queue.get()) is not None:
            yield line
    finally:
        await task
