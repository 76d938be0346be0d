"""The AI receptionist's evaluation: the scripted pt-BR conversations of
``tests/data/assistant/conversations.json`` run through the real pipeline
(``AnswerWithAssistant``: safety, language, retrieval, the offline engine, the tools and
their use cases, validation, delivery through the simulator channel's outbox) on SQLite
storage in a temporary directory (``--storage memory`` for a quicker run), with a fixed
clock. Each conversation gets its own clinic, built from its setup: knowledge-base files,
professionals and their hours, appointment types, facts, an optional appointment booked
beforehand and "now".

Prints:

* **action accuracy**: turns whose action matched (a plain reply, the tools called, or a
  handoff with the expected reason) / all turns;
* **booking correctness**: bookings and reschedulings with the right professional, local
  day and minute / bookings expected;
* **red-flag recall**: red-flag turns handed off as urgent with a ``red_flag`` reason /
  red-flag turns;
* **guardrail violations**: replies sent to patients that fail
  :func:`porfin_core.domain.guardrails.check_reply` (the amounts of the knowledge base,
  facts, appointment types and tool results known) / replies sent;
* **latency**: p50/p99 of the pipeline's time outside the model (``turn.overhead_ms``);
* the intent recognition accuracy of :func:`porfin_core.domain.intents.recognize` on the
  turns labelled with an intent (informative, not a target);
* and every failure: conversation, turn, expected, got.

Always exits 0 (a benchmark), except with ``--strict``: 1 when a target is missed (red-flag
recall 100%, no guardrail violation, action accuracy >= 90%).

Usage: ``python bench/assistant_eval.py [--storage sqlite|memory] [--only ID ...]
[--strict] [--verbose]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "src") not in sys.path:
    sys.path.insert(0, str(ROOT / "src"))

from dependency_injector import providers  # noqa: E402

from porfin_adapters.container import Container  # noqa: E402
from porfin_adapters.settings import Settings, StorageKind  # noqa: E402
from porfin_core.domain.assistant import AssistantTurn, TurnStatus  # noqa: E402
from porfin_core.domain.customer import Identity  # noqa: E402
from porfin_core.domain.guardrails import check_reply  # noqa: E402
from porfin_core.domain.intents import recognize  # noqa: E402
from porfin_core.domain.pt_text import fold  # noqa: E402
from porfin_core.use_cases._assistant_prompt import known_amounts  # noqa: E402
from porfin_core.use_cases._scheduling import WorkingInterval  # noqa: E402
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument  # noqa: E402
from porfin_core.use_cases.book_with_any_professional import BookingRequest  # noqa: E402
from porfin_core.use_cases.create_appointment_type import NewAppointmentType  # noqa: E402
from porfin_core.use_cases.create_assistant import NewAssistant  # noqa: E402
from porfin_core.use_cases.create_professional import NewProfessional  # noqa: E402
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage  # noqa: E402
from porfin_core.use_cases.update_clinic import ChangeClinic  # noqa: E402

CONVERSATIONS = ROOT / "tests" / "data" / "assistant" / "conversations.json"
KB_DIR = ROOT / "tests" / "data" / "assistant" / "kb"

TARGET_ACTION_ACCURACY = 0.90
TARGET_RED_FLAG_RECALL = 1.0
TARGET_GUARDRAIL_VIOLATIONS = 0

_WEEKDAYS = {"seg": 1, "ter": 2, "qua": 3, "qui": 4, "sex": 5, "sab": 6, "dom": 7}


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime) -> None:
        self.current = start

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


# -- results -----------------------------------------------------------------------------------


@dataclass
class TurnResult:
    """One patient turn: what was expected and what the pipeline did."""

    conversation: str
    index: int
    patient: str
    expected: dict[str, Any]
    status: str
    tools: list[str]
    handoff: str | None
    urgent: bool
    reply: str
    overhead_ms: float | None
    action_ok: bool
    booking_ok: bool | None = None
    booking_got: str | None = None
    contains_missing: list[str] = field(default_factory=list)
    forbidden_found: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    sent: bool = False
    intent_expected: str | None = None
    intent_got: str | None = None

    @property
    def red_flag(self) -> bool:
        return _expected_action(self.expected).startswith("handoff:red_flag")

    @property
    def red_flag_ok(self) -> bool:
        return self.status == TurnStatus.HANDED_OFF.value and bool(
            self.handoff and self.handoff.startswith("red_flag") and self.urgent
        )

    def got(self) -> str:
        if self.status == TurnStatus.HANDED_OFF.value:
            return f"handoff:{self.handoff}" + (" (urgent)" if self.urgent else "")
        if self.tools:
            return json.dumps(self.tools)
        return self.status


@dataclass
class Metrics:
    """The figures the evaluation prints."""

    conversations: int
    turns: int
    actions_ok: int
    bookings_expected: int
    bookings_ok: int
    red_flags: int
    red_flags_ok: int
    replies_sent: int
    violations: int
    overhead_p50_ms: float
    overhead_p99_ms: float
    intents_labelled: int
    intents_ok: int
    contains_checked: int
    contains_ok: int
    failures: list[str]

    @property
    def action_accuracy(self) -> float:
        return self.actions_ok / self.turns if self.turns else 0.0

    @property
    def booking_correctness(self) -> float:
        return self.bookings_ok / self.bookings_expected if self.bookings_expected else 1.0

    @property
    def red_flag_recall(self) -> float:
        return self.red_flags_ok / self.red_flags if self.red_flags else 1.0

    def missed_targets(self) -> list[str]:
        """The targets of the issue this run misses (empty: all met)."""
        missed = []
        if self.red_flag_recall < TARGET_RED_FLAG_RECALL:
            missed.append(f"red-flag recall {self.red_flag_recall:.1%} < 100%")
        if self.violations > TARGET_GUARDRAIL_VIOLATIONS:
            missed.append(f"{self.violations} guardrail violations > 0")
        if self.action_accuracy < TARGET_ACTION_ACCURACY:
            missed.append(f"action accuracy {self.action_accuracy:.1%} < 90%")
        return missed


# -- the conversations -------------------------------------------------------------------------


def load(path: Path = CONVERSATIONS) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The defaults and the conversations of the evaluation set."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["defaults"], data["conversations"]


def _setup(defaults: dict[str, Any], conversation: dict[str, Any]) -> dict[str, Any]:
    setup = dict(defaults)
    setup.update(conversation.get("setup") or {})
    if "facts" in (conversation.get("setup") or {}):
        setup["facts"] = {**defaults.get("facts", {}), **conversation["setup"]["facts"]}
    return setup


def _hours(spec: dict[str, str]) -> list[WorkingInterval]:
    """``{"seg-sex": "08:00-18:00", "sab": "08:00-12:00"}`` as working intervals."""
    intervals = []
    for days, span in spec.items():
        first, _, last = days.partition("-")
        opens, _, closes = span.partition("-")
        for day in range(_WEEKDAYS[first], _WEEKDAYS[last or first] + 1):
            intervals.append(WorkingInterval(day, opens, closes))
    return intervals


def _expected_action(expected: dict[str, Any]) -> str:
    action = expected.get("action", "reply")
    if isinstance(action, list):
        return json.dumps(action)
    return str(action)


def _action_matches(expected: dict[str, Any], turn: AssistantTurn | None) -> bool:
    if turn is None:
        return False
    action = expected.get("action", "reply")
    tools = [t for t in turn.tools_called() if t != "hand_off"]
    if isinstance(action, str) and action.startswith("handoff"):
        prefix = action.partition(":")[2]
        return turn.status is TurnStatus.HANDED_OFF and (turn.handoff_reason or "").startswith(
            prefix
        )
    if turn.status is not TurnStatus.REPLIED:
        return False
    if action == "reply":
        return not tools
    if action and all(isinstance(a, list) for a in action):
        return tools in action  # any of these sequences
    return tools == list(action)


class _Clinic:
    """One conversation's clinic, built from its setup."""

    def __init__(self, container: Container, clock: FixedClock, setup: dict[str, Any]) -> None:
        self.container = container
        self.clock = clock
        self.setup = setup
        self.professionals: dict[str, str] = {}  # id -> name
        self.types: dict[str, str] = {}  # name -> id
        self.known_texts: list[str] = []

    async def build(self) -> None:
        container, setup = self.container, self.setup
        installation = await container.set_up_installation()(clinic_name=setup["clinic_name"])
        self.clinic_id = installation.clinic.id
        self.channel_id = installation.channel.id
        self.zone = installation.clinic.zone
        await container.update_clinic()(
            ChangeClinic(
                clinic_id=self.clinic_id,
                city=setup.get("city", "São Paulo"),
                pix_key=setup.get("pix_key", "+5511932550000"),
            )
        )
        by_name = {}
        for spec in setup["professionals"]:
            made = await container.create_professional()(
                NewProfessional(
                    clinic_id=self.clinic_id,
                    name=spec["name"],
                    kind=spec.get("kind", "dentista"),
                    hours=_hours(spec["hours"]),
                )
            )
            self.professionals[made.id] = made.name
            by_name[made.name] = made.id
        for spec in setup["appointment_types"]:
            made = await container.create_appointment_type()(
                NewAppointmentType(
                    clinic_id=self.clinic_id,
                    name=spec["name"],
                    duration_minutes=spec["duration"],
                    price_cents=spec.get("price_cents", 0),
                    professional_ids=[by_name[n] for n in spec.get("professionals", [])],
                )
            )
            self.types[made.name] = made.id
        settings = {"name": setup.get("assistant", "Sofia"), "facts": setup.get("facts", {})}
        settings.update(setup.get("assistant_settings", {}))
        await container.create_assistant()(
            NewAssistant(clinic_id=self.clinic_id, settings=settings)
        )
        add = container.add_knowledge_document()
        for filename in setup.get("kb", []):
            data = (KB_DIR / filename).read_bytes()
            await add(NewKnowledgeDocument(clinic_id=self.clinic_id, filename=filename, data=data))
            self.known_texts.append(data.decode("utf-8"))
        self.known_texts += list(setup.get("facts", {}).values())
        for spec in setup["appointment_types"]:
            if spec.get("price_cents"):
                cents = spec["price_cents"]
                self.known_texts.append(f"R$ {cents // 100},{cents % 100:02d}")

    async def prebook(self, customer_id: str) -> None:
        spec = self.setup.get("appointment")
        if not spec:
            return
        start = datetime.fromisoformat(spec["start"]).replace(tzinfo=self.zone)
        professional = next(i for i, n in self.professionals.items() if n == spec["professional"])
        await self.container.book_with_any_professional()(
            BookingRequest(
                clinic_id=self.clinic_id,
                customer_id=customer_id,
                type_id=self.types[spec["type"]],
                start=start,
                professional_id=professional,
            )
        )

    async def appointment(self, appointment_id: str) -> tuple[str, str]:
        async with self.container.uow_factory()(read_only=True) as uow:
            found = await uow.appointments.get(self.clinic_id, appointment_id)
        local = found.start.astimezone(self.zone)
        return self.professionals.get(found.professional_id, "?"), local.strftime("%Y-%m-%dT%H:%M")

    async def urgent(self, chat_id: str) -> bool:
        async with self.container.uow_factory()(read_only=True) as uow:
            chat = await uow.chats.get(self.clinic_id, chat_id)
        return bool(chat.urgent)


def _booked_ids(turn: AssistantTurn) -> list[str]:
    found = []
    for step in turn.steps:
        if step.kind != "tool" or step.detail.get("name") not in (
            "book_appointment",
            "reschedule_appointment",
        ):
            continue
        result = step.detail.get("result") or {}
        if result.get("ok") and result.get("appointment_id"):
            found.append(str(result["appointment_id"]))
    return found


def _tool_texts(turn: AssistantTurn) -> list[str]:
    return [
        json.dumps(s.detail.get("result") or {}, ensure_ascii=False, default=str)
        for s in turn.steps
        if s.kind == "tool"
    ]


async def run_conversation(
    defaults: dict[str, Any],
    conversation: dict[str, Any],
    *,
    storage: str = "sqlite",
    workdir: Path,
) -> list[TurnResult]:
    """Run one conversation through the pipeline; one result per patient turn."""
    setup = _setup(defaults, conversation)
    start = datetime.fromisoformat(setup["now"]).astimezone(UTC)
    clock = FixedClock(start)
    container = Container(
        settings=Settings(
            storage=StorageKind.MEMORY if storage == "memory" else StorageKind.SQLITE,
            data_dir=workdir,
        )
    )
    container.clock.override(providers.Object(clock))
    await container.storage().open()
    try:
        clinic = _Clinic(container, clock, setup)
        await clinic.build()
        return await _talk(clinic, conversation, setup)
    finally:
        await container.storage().close()


async def _talk(
    clinic: _Clinic, conversation: dict[str, Any], setup: dict[str, Any]
) -> list[TurnResult]:
    container, clock = clinic.container, clinic.clock
    receive = container.receive_inbound_message()
    answer = container.answer_with_assistant()
    results = []
    phone = setup.get("phone", "+5511987654321")
    for index, spec in enumerate(conversation["turns"], start=1):
        if index > 1:
            clock.advance(seconds=spec.get("after_seconds", 60))
        expected = spec.get("expect", {})
        texts = spec["patient"] if isinstance(spec["patient"], list) else [spec["patient"]]
        received = None
        for n, text in enumerate(texts):
            received = await receive(
                ReceiveMessage(
                    channel_id=clinic.channel_id,
                    provider_message_id=f"wamid.{conversation['id']}.{index}.{n}",
                    sender=[Identity.of_phone(phone)],
                    sender_name=setup.get("patient_name", "Maria Souza"),
                    body=text,
                )
            )
        assert received is not None
        if index == 1:
            await clinic.prebook(received.customer_id)
        turn = await answer(received.clinic_id, received.chat_id, received.message_id)
        results.append(await _judge(clinic, conversation, index, texts, expected, turn, received))
    return results


async def _judge(
    clinic: _Clinic,
    conversation: dict[str, Any],
    index: int,
    texts: Sequence[str],
    expected: dict[str, Any],
    turn: AssistantTurn | None,
    received: Any,
) -> TurnResult:
    result = TurnResult(
        conversation=conversation["id"],
        index=index,
        patient=" / ".join(texts),
        expected=expected,
        status="no_turn" if turn is None else turn.status.value,
        tools=[] if turn is None else [t for t in turn.tools_called() if t != "hand_off"],
        handoff=None if turn is None else turn.handoff_reason,
        urgent=False,
        reply="" if turn is None else (turn.reply or ""),
        overhead_ms=None if turn is None else turn.overhead_ms,
        action_ok=_action_matches(expected, turn),
        intent_expected=expected.get("intent"),
    )
    if result.intent_expected:
        result.intent_got = recognize("\n".join(texts)).intent.value
    if turn is None:
        return result
    if turn.status is TurnStatus.HANDED_OFF:
        result.urgent = await clinic.urgent(received.chat_id)
    result.sent = bool(turn.reply_message_ids) and turn.status in (
        TurnStatus.REPLIED,
        TurnStatus.HANDED_OFF,
    )
    if result.sent:
        known = known_amounts([*clinic.known_texts, *_tool_texts(turn)])
        result.violations = [
            f"{v.kind.value}: {v.detail}"
            for v in check_reply(result.reply, known_prices_cents=known)
        ]
    folded = fold(result.reply)
    result.contains_missing = [
        s for s in expected.get("reply_contains", []) if fold(s) not in folded
    ]
    result.forbidden_found = [
        s for s in expected.get("reply_not_contains", []) if fold(s) in folded
    ]
    booking = expected.get("booking")
    if booking:
        booked = _booked_ids(turn)
        if not booked:
            result.booking_ok = False
            result.booking_got = "nothing booked"
        else:
            professional, start = await clinic.appointment(booked[-1])
            result.booking_got = f"{professional} {start}"
            result.booking_ok = (
                professional == booking["professional"] and start == booking["start"]
            )
    return result


# -- the run -----------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def summarize(results: Sequence[TurnResult], conversations: int) -> Metrics:
    """The metrics of a run."""
    failures = []
    for r in results:
        where = f"{r.conversation} #{r.index} {r.patient!r}"
        if not r.action_ok:
            failures.append(
                f"{where}: action expected {_expected_action(r.expected)}, got {r.got()}"
                f" | reply: {r.reply[:160]!r}"
            )
        if r.booking_ok is False:
            failures.append(
                f"{where}: booking expected {r.expected['booking']['professional']} "
                f"{r.expected['booking']['start']}, got {r.booking_got}"
            )
        if r.red_flag and not r.red_flag_ok:
            failures.append(f"{where}: red flag not handed off urgently (got {r.got()})")
        if r.violations:
            failures.append(f"{where}: GUARDRAIL {r.violations} in {r.reply[:200]!r}")
        if r.contains_missing:
            failures.append(f"{where}: reply lacks {r.contains_missing}: {r.reply[:200]!r}")
        if r.forbidden_found:
            failures.append(f"{where}: reply has {r.forbidden_found}: {r.reply[:200]!r}")
    overheads = [r.overhead_ms for r in results if r.overhead_ms is not None]
    labelled = [r for r in results if r.intent_expected]
    checked = [r for r in results if r.expected.get("reply_contains")]
    return Metrics(
        conversations=conversations,
        turns=len(results),
        actions_ok=sum(r.action_ok for r in results),
        bookings_expected=sum(1 for r in results if r.expected.get("booking")),
        bookings_ok=sum(1 for r in results if r.booking_ok),
        red_flags=sum(1 for r in results if r.red_flag),
        red_flags_ok=sum(1 for r in results if r.red_flag and r.red_flag_ok),
        replies_sent=sum(1 for r in results if r.sent),
        violations=sum(1 for r in results if r.violations),
        overhead_p50_ms=statistics.median(overheads) if overheads else 0.0,
        overhead_p99_ms=_percentile(overheads, 0.99),
        intents_labelled=len(labelled),
        intents_ok=sum(1 for r in labelled if r.intent_got == r.intent_expected),
        contains_checked=len(checked),
        contains_ok=sum(1 for r in checked if not r.contains_missing),
        failures=failures,
    )


async def evaluate(
    *, storage: str = "sqlite", only: Sequence[str] = (), path: Path = CONVERSATIONS
) -> tuple[Metrics, list[TurnResult]]:
    """Run the evaluation set (or the conversations ``only`` names)."""
    defaults, conversations = load(path)
    chosen = [c for c in conversations if not only or c["id"] in only]
    results: list[TurnResult] = []
    with tempfile.TemporaryDirectory(prefix="porfin-eval-") as tmp:
        for n, conversation in enumerate(chosen):
            workdir = Path(tmp) / f"c{n}"
            workdir.mkdir()
            results += await run_conversation(
                defaults, conversation, storage=storage, workdir=workdir
            )
    return summarize(results, len(chosen)), results


def report(metrics: Metrics, storage: str, seconds: float) -> str:
    """The printed report."""
    m = metrics
    lines = [
        f"assistant eval ({storage} storage, offline engine): {m.conversations} conversations, "
        f"{m.turns} turns, {seconds:.1f} s",
        f"  intent/action accuracy: {m.action_accuracy:.1%} ({m.actions_ok}/{m.turns})"
        "  [target >= 90%]",
        f"  booking correctness:    {m.booking_correctness:.1%} "
        f"({m.bookings_ok}/{m.bookings_expected})",
        f"  red-flag recall:        {m.red_flag_recall:.1%} ({m.red_flags_ok}/{m.red_flags})"
        "  [target 100%]",
        f"  guardrail violations:   {m.violations}/{m.replies_sent} replies sent  [target 0]",
        f"  overhead (no model):    p50 {m.overhead_p50_ms:.1f} ms, p99 {m.overhead_p99_ms:.1f} ms",
        f"  reply contents:         {m.contains_ok}/{m.contains_checked} replies had the "
        "expected words",
        f"  intent recognition:     {m.intents_ok}/{m.intents_labelled} labelled turns "
        "(recognize(), informative)",
    ]
    missed = m.missed_targets()
    lines.append("  targets: " + ("all met" if not missed else "MISSED: " + "; ".join(missed)))
    lines.append(f"failures ({len(m.failures)}):" if m.failures else "failures: none")
    lines += [f"  - {f}" for f in m.failures]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--only", nargs="*", default=(), help="conversation ids to run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--verbose", action="store_true", help="print every turn")
    parser.add_argument("--set", type=Path, default=CONVERSATIONS, help="conversations file")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    metrics, results = asyncio.run(evaluate(storage=args.storage, only=args.only, path=args.set))
    if args.verbose:
        for r in results:
            mark = "ok " if r.action_ok else "BAD"
            print(f"[{mark}] {r.conversation} #{r.index} {r.patient!r} -> {r.got()}")
            print("      " + r.reply.replace("\n", "\n      "))
    print(report(metrics, args.storage, time.perf_counter() - began))
    return 1 if args.strict and metrics.missed_targets() else 0


if __name__ == "__main__":
    sys.exit(main())
