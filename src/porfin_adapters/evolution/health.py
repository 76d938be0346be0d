"""Watching Evolution channels: last activity per channel, health checks and reconnects.

Two parts, both in the API server process:

- :class:`ChannelActivity` notes, for every webhook the bridge sends, when the channel was
  last heard from. It is a dict assignment in this process, never a write: webhook ingest
  stays as fast as before (thousands of messages per second), however busy the channel.
- :class:`EvolutionHealthMonitor`, a background task started and stopped with the container,
  checks every active Evolution channel each ``evolution_health_interval_seconds``: asks
  ``connectionState``, records the answer, the channel's last activity and the degraded rule's
  verdict in one write per channel per round (``RecordChannelHealth``), and when the channel
  is closed, degraded or stuck, takes a reconnect attempt (``RecordReconnectAttempt``: one
  process wins it, with exponential backoff) and makes it: ``restart`` then ``connect``.

The last activity is therefore persisted at most once per interval and per process; each
process (worker) reports what it saw and the latest is kept. docs/whatsapp-evolution.md
("Health and reconnects") explains the rule and its limits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

import attrs
import structlog

from porfin_adapters.evolution.client import EvolutionClient
from porfin_adapters.evolution.gateway import EvolutionGateway
from porfin_core.domain.channel import Channel, Provider, ReconnectReason
from porfin_core.errors import GatewayError, PorfinError
from porfin_core.ports.clock import Clock
from porfin_core.use_cases.list_monitored_channels import ListMonitoredChannels
from porfin_core.use_cases.record_channel_connection import (
    ConnectionReport,
    RecordChannelConnection,
)
from porfin_core.use_cases.record_channel_health import HealthReport, RecordChannelHealth
from porfin_core.use_cases.record_reconnect_attempt import (
    ReconnectAttempt,
    RecordReconnectAttempt,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")

REQUEST_TIMEOUT_SECONDS = 10.0
"""How long a health check waits for each Evolution call (the client's own is 30 s)."""
CONCURRENT_CHECKS = 8
"""Channels checked at once: one slow server does not hold up the others."""


class ChannelActivity:
    """When each channel's bridge last sent anything, as this process saw it."""

    def __init__(self) -> None:
        self._seen: dict[str, datetime] = {}

    def seen(self, channel_id: str, at: datetime) -> None:
        """The bridge sent something for ``channel_id`` at ``at`` (the webhook hot path: no
        I/O, one dict lookup and assignment)."""
        last = self._seen.get(channel_id)
        if last is None or at > last:
            self._seen[channel_id] = at

    def last_seen(self, channel_id: str) -> datetime | None:
        """The latest time noted for ``channel_id`` (None: nothing since the process started)."""
        return self._seen.get(channel_id)


@attrs.frozen(kw_only=True)
class ChannelCheck:
    """What one health check of a channel found and did.

    Attributes:
        channel_id: The channel.
        state: Evolution's answer (None: no answer, see ``error``).
        error: Why there was no answer.
        degraded: The channel is degraded after the check.
        reconnect: Why it needs reconnecting (None: it does not).
        attempt: The reconnect attempt made (its number), None when none was made.
        attempt_error: Why the attempt failed (None: restart and connect were accepted).
    """

    channel_id: str
    state: str | None = None
    error: str | None = None
    degraded: bool = False
    reconnect: ReconnectReason | None = None
    attempt: int | None = None
    attempt_error: str | None = None


class EvolutionHealthMonitor:
    """Checks every active Evolution channel every ``interval`` seconds (0: never).

    Args:
        channels: Lists the channels to check.
        record_health: Records each check's findings.
        record_attempt: Takes a due reconnect attempt (one process wins it).
        record_connection: Records the QR code or state ``connect`` answers with.
        gateway: Opens a client of each channel's Evolution server.
        activity: This process's last activity per channel.
        clock: The current time.
        interval: Seconds between rounds; the first round runs one interval after
            :meth:`start`.
        timeout: Seconds each Evolution call may take.
        sleep: Waits between rounds (tests pass one that does not sleep).
    """

    def __init__(
        self,
        *,
        channels: ListMonitoredChannels,
        record_health: RecordChannelHealth,
        record_attempt: RecordReconnectAttempt,
        record_connection: RecordChannelConnection,
        gateway: EvolutionGateway,
        activity: ChannelActivity,
        clock: Clock,
        interval: float,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._channels = channels
        self._record_health = record_health
        self._record_attempt = record_attempt
        self._record_connection = record_connection
        self._gateway = gateway
        self._activity = activity
        self._clock = clock
        self.interval = interval
        self._timeout = timeout
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether the background task is running."""
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start checking in the background (nothing when ``interval`` is 0, or already on)."""
        if self.interval <= 0 or self._task is not None:
            return
        self._task = asyncio.create_task(self.run(), name="evolution-health")

    async def stop(self) -> None:
        """Stop checking; a round in progress is abandoned (the next start checks again)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def run(self) -> None:
        """Check, then wait, forever: a failed round is logged and the next one comes."""
        while True:
            await self._sleep(self.interval)
            try:
                await self.check_all()
            except Exception:
                log.exception("evolution.health_round_failed")

    async def check_all(self) -> list[ChannelCheck]:
        """One round: every active Evolution channel, a few at a time."""
        channels = await self._channels(Provider.EVOLUTION)
        limit = asyncio.Semaphore(CONCURRENT_CHECKS)

        async def one(channel: Channel) -> ChannelCheck:
            async with limit:
                return await self.check(channel)

        return list(await asyncio.gather(*(one(c) for c in channels)))

    async def check(self, channel: Channel) -> ChannelCheck:
        """Check one channel: ask its state, record what was found and reconnect it if it is
        due. Never raises: a failure is logged and returned as the check's ``error``."""
        try:
            return await self._check(channel)
        except PorfinError as exc:  # removed meanwhile, storage unavailable...
            log.warning("evolution.health_check_failed", channel=channel.id, error=exc.message)
            return ChannelCheck(channel_id=channel.id, error=exc.message)
        except Exception as exc:
            log.exception("evolution.health_check_failed", channel=channel.id)
            return ChannelCheck(channel_id=channel.id, error=type(exc).__name__)

    async def _check(self, channel: Channel) -> ChannelCheck:
        instance = channel.external_ids.get("instance", "")
        client: EvolutionClient | None = None
        state: str | None = None
        error: str | None = None
        try:
            try:
                client = await self._gateway.client_for(channel)
                state = await self._call(client.connection_state(instance))
            except GatewayError as exc:
                error = exc.message
                log.warning("evolution.state_unavailable", channel=channel.id, error=error)
            health = await self._record_health(
                HealthReport(
                    channel_id=channel.id,
                    checked_at=self._clock.now(),
                    state=state,
                    error=error,
                    last_activity_at=self._activity.last_seen(channel.id),
                )
            )
            check = ChannelCheck(
                channel_id=channel.id,
                state=state,
                error=error,
                degraded=health.connection is not None and health.connection.degraded,
                reconnect=health.reconnect,
            )
            if client is None or not health.reconnect_due:
                return check
            attempt = await self._record_attempt(
                ReconnectAttempt(channel_id=channel.id, at=self._clock.now())
            )
            if attempt is None:  # another process took it
                return check
            failure = await self._reconnect(client, channel, instance, attempt, health.reconnect)
            return attrs.evolve(check, attempt=attempt, attempt_error=failure)
        finally:
            if client is not None:
                await client.aclose()

    async def _reconnect(
        self,
        client: EvolutionClient,
        channel: Channel,
        instance: str,
        attempt: int,
        reason: ReconnectReason | None,
    ) -> str | None:
        """``restart`` then ``connect``; returns why it failed (None: both accepted)."""
        log.info(
            "evolution.reconnect",
            channel=channel.id,
            attempt=attempt,
            reason=reason.value if reason else None,
        )
        try:
            await self._call(client.restart(instance))
            answer = await self._call(client.connect(instance))
        except GatewayError as exc:
            log.warning(
                "evolution.reconnect_failed", channel=channel.id, attempt=attempt, error=exc.message
            )
            return exc.message
        now = self._clock.now()
        if answer.code is not None:
            # The session is gone: the phone must scan a QR code again (porfin whatsapp
            # connect). Recording it stops further attempts until someone pairs the number.
            await self._record_connection(
                ConnectionReport(
                    channel_id=channel.id,
                    at=now,
                    qr_code=answer.code,
                    pairing_code=answer.pairing_code,
                    provider=Provider.EVOLUTION,
                )
            )
        elif answer.state is not None:
            await self._record_connection(
                ConnectionReport(
                    channel_id=channel.id, at=now, state=answer.state, provider=Provider.EVOLUTION
                )
            )
        return None

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(call, self._timeout)
        except TimeoutError as exc:
            raise GatewayError(
                f"Evolution did not answer in {self._timeout:g} s",
                retryable=True,
                provider="evolution",
            ) from exc
