"""The AI receptionist's storage contract: every storage adapter keeps turns (with every step's
detail) alike, lists a chat's turns newest first, and keeps each clinic's monthly spending
without losing a turn's cost to a concurrent one."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime, timedelta

import pytest

from porfin_core.domain.assistant import AssistantTurn, AssistantUsage, TraceStep, TurnStatus
from porfin_core.errors import NotFound, TransactionConflict
from porfin_core.use_cases._transaction import transact

DETAIL = {
    "name": "find_slots",
    "arguments": {"professional_id": "pro1", "days": [1, 2, 3], "after": None},
    "result": {
        "slots": [{"start": "2026-11-26T13:00:00+00:00", "minutes": 30}],
        "pairs": [[1, 2], ["a", None]],  # arrays in arrays: Firestore refuses them as values
        "empty": {},
        "none": [],
    },
    "score": 0.8125,
    "tokens": 1234,
    "big": 2**53 + 1,
    "ok": True,
    "nothing": None,
    "__reserved__": "a key Firestore reserves",
    "dotted.key": "ç, ã, 😀",
}


def _turn(
    at: datetime,
    turn_id: str,
    *,
    clinic_id: str = "clinic1",
    chat_id: str | None = "chat1",
    steps: list[TraceStep] | None = None,
) -> AssistantTurn:
    return AssistantTurn(
        id=turn_id,
        clinic_id=clinic_id,
        chat_id=chat_id,
        assistant_id="as1",
        message_ids=["m1", "m2"],
        started_at=at,
        finished_at=at + timedelta(seconds=3),
        status=TurnStatus.REPLIED,
        intent="booking",
        reply="Temos horário amanhã às 10h.",
        reply_message_ids=["m3"],
        model="gpt-4.1-mini",
        input_tokens=900,
        output_tokens=120,
        cost_millicents=1375,
        model_ms=2100.5,
        overhead_ms=35.25,
        steps=steps if steps is not None else [],
    )


def _steps() -> list[TraceStep]:
    return [
        TraceStep(kind="safety", started_ms=0.0, duration_ms=0.4, detail={"flags": []}),
        TraceStep(kind="tool", started_ms=12.5, duration_ms=48.75, detail=DETAIL),
        TraceStep(kind="delivery", started_ms=2200.0, duration_ms=1.0),
    ]


async def _save(factory, *turns: AssistantTurn) -> None:
    async with factory() as uow:
        for turn in turns:
            await uow.assistant_turns.save(turn)
        await uow.commit()


async def _second_process(backend):
    """A unit-of-work factory of another process on the same data (the same one for memory,
    whose write units of work run one at a time)."""
    if backend.reopen is None:
        return backend.uow_factory
    factory, _ = await backend.reopen()
    return factory


async def test_a_turn_round_trips_with_every_step_and_detail(backend, clock):
    turn = _turn(clock.now(), "t1", steps=_steps())
    await _save(backend.uow_factory, turn)
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.get("clinic1", "t1")
    assert stored == turn
    assert stored.status is TurnStatus.REPLIED
    assert stored.steps[1].detail == DETAIL
    assert stored.steps[2].detail == {}
    assert stored.tools_called() == ["find_slots"]


async def test_another_clinics_turn_or_an_unknown_one_is_not_found(backend, clock):
    await _save(backend.uow_factory, _turn(clock.now(), "t1"))
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.assistant_turns.get("clinic2", "t1")
        with pytest.raises(NotFound):
            await uow.assistant_turns.get("clinic1", "nope")


async def test_a_turn_saved_again_is_replaced(backend, clock):
    now = clock.now()
    await _save(backend.uow_factory, _turn(now, "t1"))
    async with backend.uow_factory() as uow:
        turn = await uow.assistant_turns.get("clinic1", "t1")
        turn.status = TurnStatus.HANDED_OFF
        turn.handoff_reason = "red_flag"
        turn.steps.append(TraceStep(kind="handoff", started_ms=5.0, duration_ms=1.0))
        await uow.assistant_turns.save(turn)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.get("clinic1", "t1")
        assert [t.id for t in await uow.assistant_turns.for_chat("clinic1", "chat1")] == ["t1"]
    assert (stored.status, stored.handoff_reason) == (TurnStatus.HANDED_OFF, "red_flag")
    assert [s.kind for s in stored.steps] == ["handoff"]


async def test_an_uncommitted_turn_is_not_stored(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.assistant_turns.save(_turn(clock.now(), "t1"))
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.assistant_turns.get("clinic1", "t1")
        assert await uow.assistant_turns.for_chat("clinic1", "chat1") == []


async def test_a_chats_turns_are_listed_newest_first_up_to_the_limit(backend, clock):
    now = clock.now()
    await _save(
        backend.uow_factory,
        _turn(now, "t1"),
        _turn(now + timedelta(minutes=2), "t2"),
        _turn(now + timedelta(minutes=1), "t3"),
        _turn(now + timedelta(minutes=2), "t4"),  # same start as t2: the larger id first
        _turn(now + timedelta(minutes=5), "t5", chat_id="chat2"),
        _turn(now + timedelta(minutes=5), "t6", clinic_id="clinic2"),
        _turn(now + timedelta(minutes=5), "t7", chat_id=None),
    )
    async with backend.uow_factory(read_only=True) as uow:
        every = await uow.assistant_turns.for_chat("clinic1", "chat1")
        first_two = await uow.assistant_turns.for_chat("clinic1", "chat1", limit=2)
        other_chat = await uow.assistant_turns.for_chat("clinic1", "chat2")
        other_clinic = await uow.assistant_turns.for_chat("clinic2", "chat1")
        unknown = await uow.assistant_turns.for_chat("clinic1", "chat9")
    assert [t.id for t in every] == ["t4", "t2", "t3", "t1"]
    assert [t.id for t in first_two] == ["t4", "t2"]
    assert [t.id for t in other_chat] == ["t5"]
    assert [t.id for t in other_clinic] == ["t6"]
    assert unknown == []
    assert every[0] == _turn(now + timedelta(minutes=2), "t4")


async def test_a_sandbox_turn_without_a_chat_is_saved_and_read(backend, clock):
    turn = _turn(clock.now(), "t1", chat_id=None, steps=_steps())
    await _save(backend.uow_factory, turn)
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.get("clinic1", "t1")
        assert await uow.assistant_turns.for_chat("clinic1", "chat1") == []
    assert stored == turn and stored.chat_id is None


async def test_a_months_usage_is_zero_until_saved(backend):
    async with backend.uow_factory(read_only=True) as uow:
        usage = await uow.assistant_turns.usage("clinic1", "2026-11")
    assert usage == AssistantUsage(clinic_id="clinic1", month="2026-11")
    assert (usage.cost_millicents, usage.input_tokens, usage.output_tokens, usage.turns) == (
        0,
        0,
        0,
        0,
    )


async def test_a_months_usage_is_saved_per_clinic_and_month(backend, clock):
    turn = _turn(clock.now(), "t1")
    async with backend.uow_factory() as uow:
        usage = await uow.assistant_turns.usage("clinic1", "2026-11")
        usage.add(turn)
        await uow.assistant_turns.save(turn)
        await uow.assistant_turns.save_usage(usage)
        await uow.commit()
    async with backend.uow_factory() as uow:
        usage = await uow.assistant_turns.usage("clinic1", "2026-11")
        usage.add(turn)
        await uow.assistant_turns.save_usage(usage)
        usage.add(turn)  # saved twice in one unit of work: the last save wins
        await uow.assistant_turns.save_usage(usage)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.usage("clinic1", "2026-11")
        other_month = await uow.assistant_turns.usage("clinic1", "2026-12")
        other_clinic = await uow.assistant_turns.usage("clinic2", "2026-11")
    assert stored == AssistantUsage(
        clinic_id="clinic1",
        month="2026-11",
        cost_millicents=3 * 1375,
        input_tokens=3 * 900,
        output_tokens=3 * 120,
        turns=3,
    )
    assert other_month == AssistantUsage(clinic_id="clinic1", month="2026-12")
    assert other_clinic == AssistantUsage(clinic_id="clinic2", month="2026-11")


@pytest.mark.parametrize("existing", [False, True], ids=["first-of-month", "existing"])
async def test_two_units_of_work_adding_to_one_month_do_not_both_commit(backend, clock, existing):
    """Both read the month's spending and add a turn: at most one commits, the other conflicts
    (and its retry adds to the first's total), so no turn's cost is lost."""
    if backend.reopen is None:
        pytest.skip("write units of work of the memory store run one at a time")
    turn = _turn(clock.now(), "t1")
    if existing:
        async with backend.uow_factory() as uow:
            await uow.assistant_turns.save_usage(
                AssistantUsage(clinic_id="clinic1", month="2026-11", cost_millicents=10)
            )
            await uow.commit()
    other, _ = await backend.reopen()
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(backend.uow_factory())
        second = await stack.enter_async_context(other())
        for uow in (first, second):
            usage = await uow.assistant_turns.usage("clinic1", "2026-11")
            usage.add(turn)
            await uow.assistant_turns.save_usage(usage)
        outcomes = await asyncio.gather(first.commit(), second.commit(), return_exceptions=True)
    committed = [o for o in outcomes if o is None]
    assert all(o is None or isinstance(o, TransactionConflict) for o in outcomes), outcomes
    assert len(committed) <= 1
    if backend.name == "sqlite":
        assert len(committed) == 1
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.usage("clinic1", "2026-11")
    assert stored.cost_millicents == (10 if existing else 0) + len(committed) * 1375


async def test_concurrent_turns_of_two_processes_lose_no_spending(backend, clock):
    """Each turn adds to the month through ``transact`` (retried after a conflict): the total
    counts every turn exactly once."""
    other = await _second_process(backend)
    turn = _turn(clock.now(), "t1")

    async def add(uow) -> None:
        usage = await uow.assistant_turns.usage("clinic1", "2026-11")
        usage.add(turn)
        await uow.assistant_turns.save_usage(usage)
        await uow.commit()

    await asyncio.gather(*(transact(f, add) for f in (backend.uow_factory, other) * 2))
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.assistant_turns.usage("clinic1", "2026-11")
    assert (stored.cost_millicents, stored.turns) == (4 * 1375, 4)
