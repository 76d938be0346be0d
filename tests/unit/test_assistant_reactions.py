"""A patient's message asks whether the clinic has an active assistant: the events of one commit,
delivered in one turn of the event loop, share one read of the clinic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace

from porfin_adapters.assistant import AssistantReactions
from porfin_core.domain.events import MessageCreated

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class CountingClinics:
    def __init__(self) -> None:
        self.reads = 0

    async def get(self, clinic_id: str):
        self.reads += 1
        return SimpleNamespace(id=clinic_id, assistants=[])  # no assistant: nothing to do


class ReadOnlyUnitOfWork:
    def __init__(self, clinics: CountingClinics) -> None:
        self.clinics = clinics

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc) -> None:
        return None


def _reactions(clinics: CountingClinics) -> AssistantReactions:
    factory = lambda read_only=False: ReadOnlyUnitOfWork(clinics)  # noqa: E731
    return AssistantReactions(
        answer=SimpleNamespace(uow_factory=factory),  # type: ignore[arg-type]
        schedule=None,  # type: ignore[arg-type]
        clock=None,  # type: ignore[arg-type]
        ids=None,  # type: ignore[arg-type]
    )


def _patient_wrote(n: int, clinic_id: str = "clinic-1") -> MessageCreated:
    return MessageCreated(
        clinic_id=clinic_id,
        occurred_at=NOW,
        chat_id=f"chat-{n}",
        message_id=f"message-{n}",
        direction="inbound",
        author="patient",
        kind="text",
        short_text="Olá",
    )


async def test_the_messages_of_one_turn_share_one_read_of_the_clinic():
    clinics = CountingClinics()
    reactions = _reactions(clinics)
    for n in range(15):
        await reactions._patient_wrote(_patient_wrote(n))
    assert clinics.reads == 1
    await reactions._patient_wrote(_patient_wrote(99, clinic_id="clinic-2"))
    assert clinics.reads == 2  # another clinic is read on its own


async def test_the_next_turn_reads_the_clinic_again():
    clinics = CountingClinics()
    reactions = _reactions(clinics)
    await reactions._patient_wrote(_patient_wrote(1))
    await asyncio.sleep(0)  # the loop turns: an assistant switched on meanwhile is seen
    await reactions._patient_wrote(_patient_wrote(2))
    assert clinics.reads == 2
