"""The degraded rule, reconnect backoff and the health use cases (memory storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porfin_core.domain.channel import (
    Channel,
    ChannelConnection,
    HealthRule,
    Provider,
    ReconnectReason,
)
from porfin_core.domain.events import ChannelDegraded, ChannelRecovered
from porfin_core.errors import InvalidStateTransition, NotFound, ValidationError
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.record_channel_connection import ConnectionReport
from porfin_core.use_cases.record_channel_health import HealthReport
from porfin_core.use_cases.record_reconnect_attempt import ReconnectAttempt
from porfin_core.use_cases.update_channel import ChangeChannel
from tests.unit.conftest import committed_events

T0 = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
RULE = HealthRule()


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def connection(state: str = "open", **fields) -> ChannelConnection:
    values = {"since": T0, "updated_at": T0, "last_open_at": T0, **fields}
    return ChannelConnection(state=state, **values)


def channel(conn: ChannelConnection | None = None) -> Channel:
    return Channel(
        id="chan1",
        clinic_id="clinic1",
        name="Celular",
        provider=Provider.EVOLUTION,
        created_at=T0,
        connection=conn,
    )


# -- the rule -----------------------------------------------------------------------------


def test_an_open_connection_is_degraded_after_thirty_silent_minutes():
    quiet = connection()
    assert not RULE.is_degraded(quiet, at(30))  # exactly the threshold: not yet
    assert RULE.is_degraded(quiet, at(30.01))


def test_the_silence_counts_from_the_last_activity_or_the_opening_whichever_is_later():
    active = connection(last_activity_at=at(20))
    assert RULE.quiet_since(active) == at(20)
    assert not RULE.is_degraded(active, at(45))
    assert RULE.is_degraded(active, at(51))
    # Activity before the connection (re)opened says nothing about the new session.
    reopened = connection(since=at(40), last_activity_at=at(20))
    assert RULE.quiet_since(reopened) == at(40)
    assert not RULE.is_degraded(reopened, at(65))


@pytest.mark.parametrize("state", ["close", "connecting", "refused"])
def test_only_an_open_connection_can_be_degraded(state):
    assert not RULE.is_degraded(connection(state), at(600))


def test_the_threshold_is_a_setting():
    strict = HealthRule(silence=timedelta(minutes=5))
    assert strict.is_degraded(connection(), at(6))
    assert not RULE.is_degraded(connection(), at(6))


def test_backoff_doubles_from_one_minute_up_to_thirty():
    delays = [RULE.retry_delay(n) for n in range(1, 9)]
    assert delays == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 30, 30, 30)]
    assert RULE.retry_delay(10_000) == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("conn", "now", "reason"),
    [
        (connection(), at(10), None),
        (connection(), at(31), ReconnectReason.DEGRADED),
        (connection("close"), at(0), ReconnectReason.CLOSED),
        (connection("close", reason="428"), at(0), ReconnectReason.CLOSED),
        # Logged out, forbidden...: the phone must pair again, a restart cannot help.
        (connection("close", reason="401"), at(0), None),
        (connection("close", reason="403"), at(0), None),
        # Never seen open: a number nobody paired yet.
        (connection("close", last_open_at=None), at(0), None),
        (connection("connecting"), at(10), None),
        (connection("connecting"), at(31), ReconnectReason.STUCK),
        (connection("connecting", qr_code="2@abc"), at(31), None),  # waits for a person
        (connection("refused"), at(600), None),
    ],
)
def test_which_connections_need_reconnecting(conn, now, reason):
    assert RULE.reconnect_reason(conn, now) is reason


def test_an_attempt_is_due_once_the_backoff_has_passed():
    closed = connection("close", next_reconnect_at=at(5))
    assert not RULE.reconnect_due(closed, at(4))
    assert RULE.reconnect_due(closed, at(5))
    assert not RULE.reconnect_due(connection("open", next_reconnect_at=at(5)), at(6))


# -- the entity ---------------------------------------------------------------------------


def test_a_health_check_records_the_state_activity_and_transitions():
    number = channel()
    number.record_health_check(at=T0, rule=RULE, state="open")
    first = number.connection
    assert first is not None
    assert (first.state, first.since, first.checked_at, first.last_open_at) == ("open", T0, T0, T0)
    assert not first.degraded and number.pull_events() == []

    number.record_health_check(at=at(31), rule=RULE, state="open")
    degraded = number.connection
    assert degraded.degraded and degraded.degraded_since == at(31)
    assert number.pull_events() == [
        ChannelDegraded(clinic_id="clinic1", occurred_at=at(31), channel_id="chan1", quiet_since=T0)
    ]

    number.record_health_check(at=at(32), rule=RULE, state="open")
    assert number.pull_events() == []  # still degraded: no new event

    number.record_health_check(at=at(33), rule=RULE, state="open", activity_at=at(32.5))
    recovered = number.connection
    assert not recovered.degraded and recovered.degraded_since is None
    assert recovered.last_activity_at == at(32.5)
    assert number.pull_events() == [
        ChannelRecovered(
            clinic_id="clinic1",
            occurred_at=at(33),
            channel_id="chan1",
            state="open",
            degraded_since=at(31),
        )
    ]


def test_the_latest_activity_wins_whichever_process_reports_it():
    number = channel(connection(last_activity_at=at(10)))
    number.record_health_check(at=at(11), rule=RULE, state="open", activity_at=at(5))
    assert number.connection.last_activity_at == at(10)
    number.record_health_check(at=at(12), rule=RULE, state="open", activity_at=at(11.5))
    assert number.connection.last_activity_at == at(11.5)


def test_a_check_without_an_answer_keeps_the_verdict_and_records_why():
    number = channel(connection(degraded=True, degraded_since=at(31)))
    number.record_health_check(at=at(40), rule=RULE, error="connection refused")
    conn = number.connection
    assert (conn.state, conn.degraded, conn.check_error, conn.checked_at) == (
        "open",
        True,
        "connection refused",
        at(40),
    )
    assert number.pull_events() == []
    number.record_health_check(at=at(41), rule=RULE, state="open", activity_at=at(41))
    assert number.connection.check_error is None


def test_without_any_report_a_failed_check_records_nothing():
    number = channel()
    number.record_health_check(at=T0, rule=RULE, error="no answer")
    assert number.connection is None


def test_a_degraded_channel_that_closes_is_no_longer_degraded():
    number = channel(connection(degraded=True, degraded_since=at(31)))
    number.record_health_check(at=at(35), rule=RULE, state="close")
    conn = number.connection
    assert (conn.state, conn.since, conn.degraded, conn.last_open_at) == (
        "close",
        at(35),
        False,
        T0,
    )
    [event] = number.pull_events()
    assert isinstance(event, ChannelRecovered) and event.state == "close"


def test_the_live_answer_wins_over_a_webhook_stamped_by_a_clock_ahead():
    # Evolution's clock runs 5 minutes ahead: its last webhook looks newer than the check.
    number = channel(connection("close", since=at(5), updated_at=at(5)))
    number.record_health_check(at=at(1), rule=RULE, state="open")
    conn = number.connection
    assert (conn.state, conn.since, conn.updated_at) == ("open", at(1), at(5))


def test_reconnect_attempts_are_counted_spaced_and_reset_once_healthy():
    number = channel(connection("close"))
    assert number.start_reconnect(at(0), RULE) == 1
    assert number.connection.next_reconnect_at == at(1)
    assert number.start_reconnect(at(0.5), RULE) is None  # backoff not passed
    assert number.start_reconnect(at(1), RULE) == 2
    assert number.start_reconnect(at(2), RULE) is None
    assert number.start_reconnect(at(3), RULE) == 3
    conn = number.connection
    assert (conn.reconnect_attempts, conn.last_reconnect_at, conn.next_reconnect_at) == (
        3,
        at(3),
        at(7),
    )
    number.record_health_check(at=at(4), rule=RULE, state="close")
    assert number.connection.reconnect_attempts == 3  # still closed: the count stays
    number.record_health_check(at=at(5), rule=RULE, state="open")
    conn = number.connection
    assert (conn.reconnect_attempts, conn.next_reconnect_at, conn.last_reconnect_at) == (
        0,
        None,
        at(3),
    )


def test_a_healthy_channel_takes_no_attempt():
    assert channel(connection()).start_reconnect(at(1), RULE) is None
    assert channel().start_reconnect(at(1), RULE) is None


def test_webhook_reports_keep_what_the_health_checks_recorded():
    number = channel(
        connection(last_activity_at=at(3), checked_at=at(4), reconnect_attempts=2, degraded=True)
    )
    assert number.record_connection("close", "428", at(5))
    conn = number.connection
    assert (conn.state, conn.reason, conn.last_activity_at, conn.checked_at) == (
        "close",
        "428",
        at(3),
        at(4),
    )
    assert (conn.reconnect_attempts, conn.degraded, conn.last_open_at) == (2, True, T0)
    assert number.record_qr_code("2@abc", None, at(6))
    assert number.connection.reconnect_attempts == 2 and number.connection.qr_code == "2@abc"
    assert number.record_connection("open", None, at(7))
    conn = number.connection
    assert (conn.qr_code, conn.last_open_at, conn.last_activity_at) == (None, at(7), at(3))


def test_a_removed_channel_records_no_health():
    number = channel(connection())
    number.archive(at(1))
    with pytest.raises(InvalidStateTransition):
        number.record_health_check(at=at(2), rule=RULE, state="open")
    with pytest.raises(InvalidStateTransition):
        number.start_reconnect(at(2), RULE)


# -- the use cases ------------------------------------------------------------------------


@pytest.fixture
async def evolution_channel(container, installation) -> str:
    created = await container.create_channel()(
        NewChannel(
            clinic_id=installation.clinic.id,
            name="Celular",
            provider="evolution",
            phone="+55 11 98765-4321",
            settings={
                "base_url": "https://evolution.clinica.com.br",
                "instance": "clinica",
                "api_key": "B6D711FCDE4D4FD5936544120E713976",
            },
        )
    )
    await committed_events(container)
    return created.id


async def test_recording_health_commits_the_transitions_as_events(
    container, clock, evolution_channel
):
    record = container.record_channel_health()
    start = clock.now()
    first = await record(HealthReport(channel_id=evolution_channel, checked_at=start, state="open"))
    assert first.connection.state == "open" and first.reconnect is None
    assert not first.reconnect_due

    later = start + timedelta(minutes=31)
    health = await record(
        HealthReport(channel_id=evolution_channel, checked_at=later, state="open")
    )
    assert health.connection.degraded
    assert (health.reconnect, health.reconnect_due) == (ReconnectReason.DEGRADED, True)
    [degraded] = await committed_events(container)
    assert isinstance(degraded, ChannelDegraded) and degraded.channel_id == evolution_channel

    again = later + timedelta(minutes=1)
    await record(
        HealthReport(
            channel_id=evolution_channel, checked_at=again, state="open", last_activity_at=again
        )
    )
    [recovered] = await committed_events(container)
    assert isinstance(recovered, ChannelRecovered) and recovered.state == "open"
    stored = await container.get_channel()(degraded.clinic_id, evolution_channel)
    assert stored.connection.last_activity_at == again and stored.connection.checked_at == again


async def test_a_reconnect_attempt_is_taken_once(container, clock, evolution_channel):
    await container.record_channel_connection()(
        ConnectionReport(channel_id=evolution_channel, at=clock.now(), state="open")
    )
    await container.record_channel_connection()(
        ConnectionReport(channel_id=evolution_channel, at=clock.now(), state="close", reason="428")
    )
    take = container.record_reconnect_attempt()
    now = clock.now()
    assert await take(ReconnectAttempt(channel_id=evolution_channel, at=now)) == 1
    # A second process watching the same channel finds the backoff not passed.
    assert await take(ReconnectAttempt(channel_id=evolution_channel, at=now)) is None
    assert await take(ReconnectAttempt(channel_id=evolution_channel, at=clock.advance(minutes=1)))
    assert await committed_events(container) == []


async def test_switched_off_channels_are_not_watched(
    container, clock, installation, evolution_channel
):
    listed = await container.list_monitored_channels()(Provider.EVOLUTION)
    assert [c.id for c in listed] == [evolution_channel]
    assert await container.list_monitored_channels()(Provider.CLOUD_API) == []

    await container.update_channel()(
        ChangeChannel(clinic_id=installation.clinic.id, channel_id=evolution_channel, active=False)
    )
    assert await container.list_monitored_channels()(Provider.EVOLUTION) == []
    health = await container.record_channel_health()(
        HealthReport(channel_id=evolution_channel, checked_at=clock.now(), state="close")
    )
    assert health.connection is None and not health.reconnect_due
    taken = await container.record_reconnect_attempt()(
        ReconnectAttempt(channel_id=evolution_channel, at=clock.now())
    )
    assert taken is None


async def test_bad_reports_are_refused(container, clock, evolution_channel):
    with pytest.raises(ValidationError):
        await container.record_channel_health()(
            HealthReport(channel_id=evolution_channel, checked_at=clock.now())
        )
    with pytest.raises(NotFound):
        await container.record_channel_health()(
            HealthReport(channel_id="nope", checked_at=clock.now(), state="open")
        )
    long_error = "x " * 1000
    health = await container.record_channel_health()(
        HealthReport(channel_id=evolution_channel, checked_at=clock.now(), state="open")
    )
    assert health.connection is not None
    health = await container.record_channel_health()(
        HealthReport(channel_id=evolution_channel, checked_at=clock.now(), error=long_error)
    )
    assert len(health.connection.check_error) == 500
