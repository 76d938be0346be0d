"""The AI receptionist's pipeline overhead (everything but the model) with many chats at once.

Seeds a clinic on SQLite (a dentist, three appointment types, the knowledge base of
``tests/data/assistant/kb``, an offline assistant), makes ``--chats`` patients write one
message each (bookings, prices, insurance, greetings, red flags...), then answers every chat
at once (``asyncio.gather`` of the pipeline) and prints the pipeline overhead per turn
(``AssistantTurn.overhead_ms``: the time not spent waiting for the model), p50 and p99, the
wall time and the turns per second.

    python bench/assistant_overhead.py [--chats 500] [--storage sqlite|memory]

Target (issue 7): p99 <= 200 ms with 500 concurrent chats on the offline engine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.assistant import AssistantTurn
from porfin_core.domain.customer import Identity
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.receive_inbound_message import Received, ReceiveMessage

KB = Path(__file__).resolve().parents[1] / "tests" / "data" / "assistant" / "kb"
MESSAGES = [
    "oi, queria marcar uma limpeza amanha a tarde",
    "quanto custa o clareamento?",
    "vcs aceitam amil?",
    "onde fica a clinica?",
    "bom dia!",
    "tem horario pra avaliacao segunda de manha?",
    "quero falar com uma pessoa",
    "meu rosto ta muito inchado desde a extracao",
    "aceita pix? parcela no cartao?",
    "qual o valor da profilaxia",
]


class Clock:
    """A clock that stands still (a Wednesday morning in São Paulo)."""

    def __init__(self) -> None:
        self.current = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current


async def main(chats: int, storage: str) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            storage=StorageKind(storage),
            data_dir=Path(data_dir),
            inbound_media_downloads=0,
            evolution_health_interval_seconds=0,
            job_worker_concurrency=0,
        )
        container = composition.create_container(settings)
        container.clock.override(providers.Object(Clock()))
        await composition.start(container)
        try:
            await run(container, chats)
        finally:
            await composition.stop(container)


async def run(container: composition.Container, chats: int) -> None:
    installation = await container.set_up_installation()()
    clinic_id = installation.clinic.id
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    for name, minutes in (("Avaliação", 30), ("Limpeza", 45), ("Clareamento", 60)):
        await container.create_appointment_type()(
            NewAppointmentType(clinic_id=clinic_id, name=name, duration_minutes=minutes)
        )
    for path in sorted(KB.iterdir()):
        await container.add_knowledge_document()(
            NewKnowledgeDocument(clinic_id=clinic_id, filename=path.name, data=path.read_bytes())
        )
    await container.create_assistant()(
        NewAssistant(
            clinic_id=clinic_id,
            settings={"name": "Sofia", "facts": {"address": "Rua das Flores, 100"}},
        )
    )
    received = []
    for n in range(chats):
        received.append(
            await container.receive_inbound_message()(
                ReceiveMessage(
                    channel_id=installation.channel.id,
                    provider_message_id=f"bench-{n}",
                    sender=[Identity.of_phone(f"+55119{80000000 + n:08d}")],
                    sender_name=f"Paciente {n}",
                    body=MESSAGES[n % len(MESSAGES)],
                )
            )
        )
    answer = container.answer_with_assistant()
    finished: list[float] = []

    async def one(r: Received) -> AssistantTurn | None:
        turn = await answer(r.clinic_id, r.chat_id, r.message_id)
        finished.append((time.perf_counter() - started) * 1000)
        return turn

    started = time.perf_counter()
    turns = await asyncio.gather(*(one(r) for r in received))
    wall = time.perf_counter() - started
    finished.sort()
    done = [t for t in turns if t is not None]
    overheads = sorted(t.overhead_ms for t in done)
    p50 = statistics.median(overheads)
    p99 = overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))]
    outcomes = Counter(t.status.value for t in done)
    print(
        f"assistant overhead: {len(done)} chats at once, p50 {p50:.1f} ms p99 {p99:.1f} ms "
        f"(max {overheads[-1]:.1f} ms); wall {wall:.2f} s, {len(done) / wall:.0f} turns/s; "
        f"{dict(outcomes)}"
    )
    print(
        f"until answered (queueing behind the other {len(done) - 1} included): "
        f"p50 {statistics.median(finished):.0f} ms "
        f"p99 {finished[min(len(finished) - 1, int(len(finished) * 0.99))]:.0f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--storage", choices=("sqlite", "memory"), default="sqlite")
    arguments = parser.parse_args()
    asyncio.run(main(arguments.chats, arguments.storage))
