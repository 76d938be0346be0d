"""The Evolution health monitor against a fake Evolution server: states recorded, silent
sessions flagged as degraded, reconnects (restart + connect) spaced by exponential backoff,
and the background task started and stopped with the container. Time is a fixed clock the
tests move; the monitor's sleep is replaced, so nothing waits."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.container import Container
from porfin_adapters.evolution.health import EvolutionHealthMonitor
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.channel import ReconnectReason
from porfin_core.domain.events import ChannelDegraded, ChannelRecovered
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.record_channel_connection import ConnectionReport
from tests.fakes.evolution_api import FakeEvolution, fixture, serve
from tests.support import FixedClock, SequentialIds

WAIT = 10.0  # seconds: a bound on waiting, never a pause


@pytest.fixture
def evolution():
    yield from serve(FakeEvolution(instances={"clinica": "open"}))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def build(tmp_path, clock, **settings) -> Container:
    container = Container(
        settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path, **settings)
    )
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(SequentialIds()))
    return container


@pytest.fixture
def container(tmp_path, clock) -> Container:
    return build(tmp_path, clock)


async def add_channel(container, evolution) -> str:
    clinic_id = (await container.set_up_installation()()).clinic.id
    channel = await container.create_channel()(
        NewChannel(
            clinic_id=clinic_id,
            name="Celular",
            provider="evolution",
            phone="+55 11 98765-4321",
            settings={
                "base_url": evolution.url,
                "instance": "clinica",
                "api_key": evolution.fake.api_key,
            },
        )
    )
    return channel.id


@pytest.fixture
async def channel_id(container, evolution) -> str:
    return await add_channel(container, evolution)


@pytest.fixture
def monitor(container) -> EvolutionHealthMonitor:
    return container.evolution_health_monitor()


async def health_events(container) -> list:
    outbox = container.storage().outbox
    stored = await outbox.pending(1000)
    await outbox.mark_dispatched([s.id for s in stored])
    return [s.event for s in stored if isinstance(s.event, ChannelDegraded | ChannelRecovered)]


async def connection(container, channel_id):
    async with container.uow_factory()(read_only=True) as uow:
        return (await uow.channels.get(channel_id)).connection


async def webhook(container, channel_id, payload) -> None:
    async with container.uow_factory()(read_only=True) as uow:
        channel = await uow.channels.get(channel_id)
    await container.evolution_inbound()(channel, payload)


async def test_a_healthy_number_is_recorded_and_left_alone(
    container, monitor, clock, evolution, channel_id
):
    [check] = await monitor.check_all()
    assert (check.state, check.error, check.degraded, check.attempt) == ("open", None, False, None)
    conn = await connection(container, channel_id)
    assert (conn.state, conn.checked_at, conn.last_open_at) == ("open", clock.now(), clock.now())
    assert conn.last_activity_at is None

    # Webhooks keep coming: the activity noted in this process is persisted by the next check.
    clock.advance(minutes=29)
    await webhook(container, channel_id, fixture("webhook_messages_upsert_text_inbound_v2_2"))
    seen = clock.now()
    assert (await connection(container, channel_id)).last_activity_at is None  # no write yet
    clock.advance(minutes=20)
    [check] = await monitor.check_all()
    assert not check.degraded and check.attempt is None
    assert (await connection(container, channel_id)).last_activity_at == seen
    assert evolution.fake.calls("restart") == []
    assert await health_events(container) == []


async def test_a_silent_session_is_degraded_restarted_with_backoff_and_recovers(
    container, monitor, clock, evolution, channel_id
):
    await monitor.check_all()
    clock.advance(minutes=31)
    [check] = await monitor.check_all()
    assert (check.state, check.degraded, check.reconnect) == (
        "open",
        True,
        ReconnectReason.DEGRADED,
    )
    assert (check.attempt, check.attempt_error) == (1, None)
    assert evolution.fake.calls("restart") == ["clinica"]
    assert evolution.fake.calls("connect") == ["clinica"]
    [degraded] = await health_events(container)
    assert isinstance(degraded, ChannelDegraded) and degraded.channel_id == channel_id

    # Still silent: attempts 1, 2, 4 minutes apart; checks in between make none.
    made = []
    for _ in range(8):
        clock.advance(minutes=1)
        [check] = await monitor.check_all()
        assert check.degraded
        made.append(check.attempt)
    assert made == [2, None, 3, None, None, None, 4, None]
    conn = await connection(container, channel_id)
    assert conn.reconnect_attempts == 4
    assert conn.next_reconnect_at == conn.last_reconnect_at + timedelta(minutes=8)
    assert len(evolution.fake.calls("restart")) == 4
    assert await health_events(container) == []  # degraded once, not once per check

    # The bridge speaks again (a presence update is enough): recovered, attempts reset.
    presence = {"event": "presence.update", "instance": "clinica", "data": {}}
    await webhook(container, channel_id, presence)
    clock.advance(minutes=1)
    [check] = await monitor.check_all()
    assert (check.degraded, check.reconnect, check.attempt) == (False, None, None)
    [recovered] = await health_events(container)
    assert isinstance(recovered, ChannelRecovered) and recovered.state == "open"
    conn = await connection(container, channel_id)
    assert (conn.degraded, conn.reconnect_attempts, conn.next_reconnect_at) == (False, 0, None)


async def test_a_closed_number_is_reconnected(container, monitor, clock, evolution, channel_id):
    await monitor.check_all()  # seen open once: Porfin may reconnect it
    evolution.fake.instances["clinica"] = "close"
    clock.advance(minutes=5)
    [check] = await monitor.check_all()
    assert (check.state, check.reconnect, check.attempt) == ("close", ReconnectReason.CLOSED, 1)
    # The restart brought the session back; connect answered "open" and it was recorded.
    assert evolution.fake.instances["clinica"] == "open"
    conn = await connection(container, channel_id)
    assert (conn.state, conn.reconnect_attempts) == ("open", 1)

    clock.advance(minutes=1)
    [check] = await monitor.check_all()
    assert (check.state, check.reconnect, check.attempt) == ("open", None, None)
    assert (await connection(container, channel_id)).reconnect_attempts == 0
    assert await health_events(container) == []  # closed is not degraded


async def test_a_logged_out_or_never_paired_number_waits_for_a_person(
    container, monitor, clock, evolution, channel_id
):
    evolution.fake.instances["clinica"] = "close"
    [check] = await monitor.check_all()
    assert (check.state, check.reconnect, check.attempt) == ("close", None, None)  # never open

    await container.record_channel_connection()(
        ConnectionReport(channel_id=channel_id, at=clock.now(), state="open")
    )
    await container.record_channel_connection()(
        ConnectionReport(
            channel_id=channel_id, at=clock.advance(minutes=1), state="close", reason="401"
        )
    )
    clock.advance(minutes=10)
    [check] = await monitor.check_all()
    assert (check.state, check.reconnect, check.attempt) == ("close", None, None)
    assert (await connection(container, channel_id)).reason == "401"
    assert evolution.fake.calls("restart") == []


async def test_a_session_that_lost_its_pairing_keeps_the_qr_code_and_stops(
    container, monitor, clock, evolution, channel_id
):
    await monitor.check_all()
    evolution.fake.instances["clinica"] = "close"
    evolution.fake.after_restart = "close"  # the restart finds no session: connect makes a QR
    clock.advance(minutes=1)
    [check] = await monitor.check_all()
    assert check.attempt == 1
    conn = await connection(container, channel_id)
    assert (conn.state, conn.qr_code) == (
        "connecting",
        fixture("instance_connect_response")["code"],
    )

    for _ in range(3):
        clock.advance(minutes=40)
        [check] = await monitor.check_all()
        assert (check.state, check.reconnect, check.attempt) == ("connecting", None, None)
    assert evolution.fake.calls("restart") == ["clinica"]


async def test_an_unreachable_server_is_recorded_and_not_restarted(
    container, clock, evolution, channel_id
):
    monitor = container.evolution_health_monitor()
    await monitor.check_all()
    evolution.fake.fail_next("connectionState", 500)
    clock.advance(minutes=40)
    [check] = await monitor.check_all()
    assert check.state is None and "500" in check.error
    conn = await connection(container, channel_id)
    assert conn.checked_at == clock.now() and "500" in conn.check_error
    assert not conn.degraded  # no live answer: no verdict
    assert evolution.fake.calls("restart") == []

    # A hung server: the check gives up after its timeout.
    patient = EvolutionHealthMonitor(
        channels=container.list_monitored_channels(),
        record_health=container.record_channel_health(),
        record_attempt=container.record_reconnect_attempt(),
        record_connection=container.record_channel_connection(),
        gateway=container.evolution_gateway(),
        activity=container.evolution_activity(),
        clock=clock,
        interval=60,
        timeout=0.2,
    )
    evolution.fake.fail_next("connectionState", 200, delay=2)
    [check] = await patient.check_all()
    assert check.error == "Evolution did not answer in 0.2 s"


async def test_a_failed_restart_counts_and_is_tried_again_later(
    container, monitor, clock, evolution, channel_id
):
    await monitor.check_all()
    evolution.fake.instances["clinica"] = "close"
    evolution.fake.fail_next("/instance/restart/", 500)
    clock.advance(minutes=1)
    [check] = await monitor.check_all()
    assert check.attempt == 1 and "500" in check.attempt_error
    assert evolution.fake.calls("connect") == []
    clock.advance(minutes=1)
    [check] = await monitor.check_all()
    assert (check.attempt, check.attempt_error) == (2, None)


async def test_two_processes_make_one_attempt(container, monitor, clock, evolution, channel_id):
    other = EvolutionHealthMonitor(
        channels=container.list_monitored_channels(),
        record_health=container.record_channel_health(),
        record_attempt=container.record_reconnect_attempt(),
        record_connection=container.record_channel_connection(),
        gateway=container.evolution_gateway(),
        activity=container.evolution_activity(),
        clock=clock,
        interval=60,
    )
    await monitor.check_all()
    evolution.fake.instances["clinica"] = "close"
    evolution.fake.after_restart = "close"
    clock.advance(minutes=1)
    first, second = await asyncio.gather(monitor.check_all(), other.check_all())
    assert sorted([first[0].attempt or 0, second[0].attempt or 0]) == [0, 1]
    assert evolution.fake.calls("restart") == ["clinica"]


async def test_the_monitor_runs_in_the_background_with_the_container(tmp_path, clock, evolution):
    container = build(tmp_path, clock, evolution_health_interval_seconds=60)
    rounds: list[float] = []
    done = asyncio.Event()

    async def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) > 3:
            done.set()
            await asyncio.Event().wait()  # until stopped
        clock.advance(seconds=seconds)
        await asyncio.sleep(0)

    container.evolution_health_monitor.add_kwargs(sleep=sleep)
    await composition.start(container)
    try:
        channel_id = await add_channel(container, evolution)
        monitor = container.evolution_health_monitor()
        assert monitor.running
        await asyncio.wait_for(done.wait(), WAIT)
        assert rounds == [60, 60, 60, 60]
        conn = await connection(container, channel_id)
        assert conn is not None and conn.state == "open"
    finally:
        await composition.stop(container)
    assert not monitor.running

    quiet = build(tmp_path / "off", clock, evolution_health_interval_seconds=0)
    await composition.start(quiet)
    try:
        assert not quiet.evolution_health_monitor().running
    finally:
        await composition.stop(quiet)
