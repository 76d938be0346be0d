"""The sending outbox against the fake Graph API: Meta's rate limit makes the sender back off
and finish; a closed window fails at once with Meta's reason.

Kill the sender mid-batch, restart it: every message reaches the (fake) Graph API exactly
once. What the dead process had sent but not recorded is recognised by its status webhook
(``biz_opaque_callback_data`` = Porfin's id); what it had claimed but not sent goes after the
lease."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import attrs
import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.whatsapp_cloud.webhook import StatusUpdate, parse_webhook
from porfin_core.domain.customer import Identity
from porfin_core.domain.message import Author, DeliveryStatus, Direction
from porfin_core.domain.outbound import LEASE, Delivery
from porfin_core.ports.storage import ChatQuery
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.record_delivery_status import DeliveryReport
from porfin_core.use_cases.send_staff_message import SendText
from tests.fakes.graph_api import TOKEN, GraphApiFake
from tests.support import FixedClock

MESSAGES = 300
RATE = 100  # messages per second: the batch takes about 3 s, the kill lands in the middle


@pytest.fixture(scope="module")
def graph() -> Iterator[GraphApiFake]:
    with GraphApiFake.serving() as fake:
        yield fake


def _settings(tmp_path, graph: GraphApiFake) -> Settings:
    return Settings(storage=StorageKind.SQLITE, data_dir=tmp_path, whatsapp_graph_url=graph.url)


async def _queue(container, count: int) -> tuple[str, str, list[str]]:
    """A Cloud API channel, a patient who wrote, and ``count`` outbound messages queued."""
    installation = await container.set_up_installation()()
    channel = await container.create_channel()(
        NewChannel(
            clinic_id=installation.clinic.id,
            name="Recepção",
            provider="cloud_api",
            phone="+55 11 3333-4444",
            settings={
                "phone_number_id": "106540352242922",
                "waba_id": "102290129340398",
                "access_token": TOKEN,
                "app_secret": "segredo",
                "messages_per_second": str(RATE),
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
    async with container.uow_factory()() as uow:
        inbound = await uow.messages.get(received.clinic_id, received.message_id)
        for n in range(count):
            message = attrs.evolve(
                inbound,
                id=f"out{n:05d}",
                direction=Direction.OUTBOUND,
                author=Author.STAFF,
                body=f"Lembrete {n}",
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
                    # Patients of their own: Meta's pair rate would space one patient's messages.
                    recipient=f"+55119{n:08d}",
                    due_at=now,
                    created_at=now,
                )
            )
            ids.append(message.id)
        await uow.commit()
    return received.clinic_id, channel.id, ids


def _status_webhook(callback: str | None, wamid: str) -> dict:
    """The ``sent`` status webhook Meta posts for an accepted message."""
    status = {
        "id": wamid,
        "status": "sent",
        "timestamp": str(int(time.time())),
        "recipient_id": "5511987654321",
        "biz_opaque_callback_data": callback,
    }
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "106540352242922"},
        "statuses": [status],
    }
    change = {"field": "messages", "value": value}
    return {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [change]}]}


def _run_and_kill(data_dir, graph: GraphApiFake) -> None:
    """Run a sender process on ``data_dir``; SIGKILL it once a third of the batch went out."""
    env = {
        **os.environ,
        "PORFIN_STORAGE": "sqlite",
        "PORFIN_DATA_DIR": str(data_dir),
        "PORFIN_WHATSAPP_GRAPH_URL": graph.url,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.outbound_process"],
        env=env,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while len(graph.accepted) < MESSAGES // 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
async def test_a_sender_killed_mid_batch_resumes_without_losing_or_repeating(tmp_path, graph):
    graph.reset()
    settings = _settings(tmp_path, graph)
    setup = composition.create_container(settings)
    await composition.start(setup)
    try:
        clinic_id, channel_id, ids = await _queue(setup, MESSAGES)
    finally:
        await composition.stop(setup)

    await asyncio.to_thread(_run_and_kill, tmp_path, graph)
    sent_before_kill = len(graph.accepted)
    assert MESSAGES // 3 <= sent_before_kill < MESSAGES  # killed in the middle

    # Restarted later than the lease: the dead process's claims have run out.
    clock = FixedClock(datetime.now(UTC) + LEASE * 1.5)
    restarted = composition.create_container(settings)
    restarted.clock.override(providers.Object(clock))
    await restarted.storage().open()
    try:
        # Meta's status webhooks for what it accepted before the kill arrive.
        for callback, wamid in list(graph.accepted):
            (update,) = parse_webhook(_status_webhook(callback, wamid))
            assert isinstance(update, StatusUpdate) and update.callback_data == callback
            await restarted.record_delivery_status()(
                DeliveryReport(
                    channel_id=channel_id,
                    provider_message_id=update.provider_message_id,
                    status=update.status,
                    at=clock.now(),
                    message_id=update.callback_data,
                )
            )
        # Then the sender runs (drained here rather than in the background: deterministic).
        await restarted.outbound_sender().drain()
        async with restarted.uow_factory()(read_only=True) as uow:
            messages = [await uow.messages.get(clinic_id, i) for i in ids]
            assert await uow.deliveries.due(clock.now() + LEASE * 10, 10) == []
    finally:
        await restarted.storage().close()
        await restarted.graph_client().aclose()

    sends = Counter(callback for callback, _ in graph.accepted)
    assert sorted(sends) == ids  # none lost
    assert set(sends.values()) == {1}  # none sent twice
    assert {m.status for m in messages} == {DeliveryStatus.SENT}
    assert len({m.provider_message_id for m in messages}) == MESSAGES


@pytest.fixture
async def started(tmp_path, graph):
    graph.reset()
    container = composition.create_container(_settings(tmp_path, graph))
    clock = FixedClock(datetime.now(UTC))
    container.clock.override(providers.Object(clock))
    await container.storage().open()
    yield container, clock
    await container.storage().close()
    await container.graph_client().aclose()


async def _staff_reply(container, text: str):
    clinic_id, _, _ = await _queue(container, 0)
    async with container.uow_factory()(read_only=True) as uow:
        (chat,) = (await uow.chats.list(ChatQuery(clinic_id=clinic_id))).items
    return await container.send_staff_message()(
        SendText(clinic_id=clinic_id, chat_id=chat.id, author_id="ana", text=text)
    )


async def test_metas_rate_limit_makes_the_sender_back_off_and_finish(started, graph):
    container, clock = started
    graph.fail_next("130429", times=2)
    message = await _staff_reply(container, "Confirmado!")
    assert message.status is DeliveryStatus.PENDING  # the outbox retries it

    sender = container.outbound_sender()
    assert await sender.drain() == 0  # its backoff has not passed
    clock.advance(seconds=2)
    assert await sender.drain() == 1  # rate limited again: 4 s more
    clock.advance(seconds=4)
    assert await sender.drain() == 1
    async with container.uow_factory()(read_only=True) as uow:
        sent = await uow.messages.get(message.clinic_id, message.id)
    assert sent.status is DeliveryStatus.SENT
    assert sent.provider_message_id is not None
    assert sent.provider_message_id.startswith("wamid.FAKE")
    assert [s["biz_opaque_callback_data"] for s in graph.sent()] == [message.id]


async def test_a_closed_window_fails_at_once_with_metas_reason(started, graph):
    container, clock = started
    graph.fail_next("131047")
    message = await _staff_reply(container, "Olá?")
    assert message.status is DeliveryStatus.FAILED
    assert message.failure is not None and message.failure.error_code == "131047"
    assert "24-hour window is closed" in (message.failure.error_detail or "")
    clock.advance(minutes=30)
    assert await container.outbound_sender().drain() == 0
    assert graph.sent() == []
