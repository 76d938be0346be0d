"""Outbound benchmark: the sending outbox -> outbound sender -> Cloud API gateway -> a fake
Graph API, at a configured rate.

Queues ``--messages`` outbound messages (each to its own patient, so Meta's per-patient pair
rate does not apply) in a fresh SQLite installation with a Cloud API channel configured for
``--rate`` messages per second, starts the outbound sender and lets it empty the outbox. The
fake Graph API runs in its own process (plain asyncio, answering Meta's documented success
body) and notes when each request arrived. Prints:

    outbound: <N> msg/s (target <R>, <d>% off) p50 <x> ms p99 <y> ms

where the rate is measured between the first and the last request the fake received, and
p50/p99 are the times from a delivery's claim to its outcome being recorded (pacing waits
included). Also checks that every message was sent exactly once and ended ``sent``.

Usage: ``python bench/outbound.py [--rate 1000] [--messages 20000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

SUCCESS = {
    "messaging_product": "whatsapp",
    "contacts": [{"input": "", "wa_id": ""}],
    "messages": [{"id": ""}],
}


# -- the fake Graph API (its own process) ----------------------------------------------------


async def _serve_fake(log_path: Path) -> None:
    arrivals: list[tuple[float, str]] = []
    counter = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal counter
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = json.loads(await reader.readexactly(length)) if length else {}
                if head.startswith(b"GET /stats"):
                    payload = json.dumps(arrivals).encode()
                else:
                    counter += 1
                    arrivals.append((time.time(), body.get("biz_opaque_callback_data", "")))
                    answer = json.loads(json.dumps(SUCCESS))
                    answer["contacts"][0] = {"input": body["to"], "wa_id": body["to"][1:]}
                    answer["messages"][0]["id"] = f"wamid.BENCH{counter:010d}"
                    payload = json.dumps(answer).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    await asyncio.to_thread(log_path.write_text, str(port))
    async with server:
        await server.serve_forever()


# -- the sender (this process) ---------------------------------------------------------------


async def _queue(container, count: int, rate: int) -> tuple[str, list[str]]:
    import attrs

    from porfin_core.domain.customer import Identity
    from porfin_core.domain.message import Author, DeliveryStatus, Direction
    from porfin_core.domain.outbound import Delivery
    from porfin_core.use_cases.create_channel import NewChannel
    from porfin_core.use_cases.receive_inbound_message import ReceiveMessage

    installation = await container.set_up_installation()()
    channel = await container.create_channel()(
        NewChannel(
            clinic_id=installation.clinic.id,
            name="Bench",
            provider="cloud_api",
            phone="+55 11 3333-4444",
            settings={
                "phone_number_id": "106540352242922",
                "waba_id": "102290129340398",
                "access_token": "bench-token",
                "app_secret": "bench-secret",
                "messages_per_second": str(rate),
            },
        )
    )
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=channel.id,
            provider_message_id="wamid.IN",
            sender=[Identity.of_phone("+5511987654321")],
            body="Oi",
        )
    )
    now = datetime.now(UTC)
    ids = []
    for start in range(0, count, 2000):
        async with container.uow_factory()() as uow:
            inbound = await uow.messages.get(received.clinic_id, received.message_id)
            for n in range(start, min(count, start + 2000)):
                message = attrs.evolve(
                    inbound,
                    id=f"out{n:07d}",
                    direction=Direction.OUTBOUND,
                    author=Author.STAFF,
                    body=f"Lembrete da consulta {n}",
                    provider_message_id=None,
                    status=DeliveryStatus.PENDING,
                    history=[],
                    created_at=now,
                )
                await uow.messages.save(message)
                await uow.deliveries.save(
                    Delivery(
                        message_id=message.id,
                        clinic_id=message.clinic_id,
                        channel_id=channel.id,
                        recipient=f"+55119{n:08d}",
                        due_at=now,
                        created_at=now,
                    )
                )
                ids.append(message.id)
            await uow.commit()
    return received.clinic_id, ids


async def _run(args: argparse.Namespace, data_dir: Path, graph_url: str) -> dict[str, object]:
    import porfin_adapters.container as composition
    from porfin_adapters.settings import Settings, StorageKind
    from porfin_core.domain.message import DeliveryStatus

    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=data_dir,
        whatsapp_graph_url=graph_url,
        log_level="warning",
    )
    container = composition.create_container(settings)
    await container.storage().open()
    clinic_id, ids = await _queue(container, args.messages, args.rate)
    await container.storage().close()

    container = composition.create_container(settings)
    latencies: list[float] = []
    sender_record = container.record_send_outcomes()
    claimed_at: dict[str, float] = {}
    claim = container.claim_outbound_messages()

    async def timed_claim(limit: int):
        jobs = await claim(limit)
        now = time.perf_counter()
        for job in jobs:
            claimed_at[job.message.id] = now
        return jobs

    errors: Counter[str] = Counter()

    async def timed_record(outcomes):
        errors.update(o.error.message for o in outcomes if o.error is not None)
        outcomes = [o for o in outcomes]
        stored = await sender_record(outcomes)
        now = time.perf_counter()
        latencies.extend(now - claimed_at.pop(o.message_id) for o in outcomes)
        return stored

    container.claim_outbound_messages.override(timed_claim)
    container.record_send_outcomes.override(timed_record)
    started = time.perf_counter()
    await composition.start(container)
    sender = container.outbound_sender()
    while len(latencies) < len(ids):
        await asyncio.sleep(0.1)
        if time.perf_counter() - started > args.messages / args.rate * 5 + 30:
            raise SystemExit(
                f"outbound: stalled after {len(latencies)} of {len(ids)}; errors: {errors}"
            )
    await composition.stop(container)

    container = composition.create_container(settings)
    await container.storage().open()
    async with container.uow_factory()(read_only=True) as uow:
        statuses = Counter()
        for start in range(0, len(ids), 500):
            for message_id in ids[start : start + 500]:
                statuses[(await uow.messages.get(clinic_id, message_id)).status] += 1
    await container.storage().close()
    latencies.sort()
    return {
        "recorded": sender.sent,
        "statuses": statuses,
        "all_sent": statuses == Counter({DeliveryStatus.SENT: len(ids)}),
        "p50": latencies[len(latencies) // 2] * 1000,
        "p99": latencies[int(len(latencies) * 0.99)] * 1000,
        "ids": ids,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake is not None:
        asyncio.run(_serve_fake(args.serve_fake))
        return

    with tempfile.TemporaryDirectory(prefix="porfin-bench-out-") as tmp:
        port_file = Path(tmp) / "port"
        fake = subprocess.Popen([sys.executable, __file__, "--serve-fake", str(port_file)])
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}"
            result = asyncio.run(_run(args, Path(tmp) / "data", url))
            import urllib.request

            with urllib.request.urlopen(f"{url}/stats", timeout=30) as answer:
                arrivals = json.loads(answer.read())
        finally:
            fake.terminate()
            fake.wait(timeout=10)

    sends = Counter(callback for _, callback in arrivals)
    times = sorted(at for at, _ in arrivals)
    rate = (len(times) - 1) / (times[-1] - times[0])
    off = (rate - args.rate) / args.rate * 100
    print(
        f"outbound: {rate:.0f} msg/s (target {args.rate}, {off:+.1f}% off) "
        f"p50 {result['p50']:.2f} ms p99 {result['p99']:.2f} ms"
    )
    seconds = Counter(int(at - times[0]) for at in times)
    full = [seconds[s] for s in sorted(seconds)[:-1]]  # the last second is partial
    if full:
        print(f"  per second: min {min(full)} max {max(full)} over {len(full)} full seconds")
    duplicates = sum(1 for n in sends.values() if n > 1)
    missing = len(set(result["ids"]) - set(sends))  # type: ignore[arg-type]
    print(
        f"  sent {len(arrivals)}; duplicates {duplicates}; missing {missing}; "
        f"all recorded sent: {result['all_sent']}"
    )
    if duplicates or missing or not result["all_sent"]:
        raise SystemExit(1)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
