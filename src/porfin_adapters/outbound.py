"""The outbound sender: the worker that empties the sending outbox.

It claims due deliveries in batches (one transaction per batch, see
``ClaimOutboundMessages``), sends each message as its own task through the channel's gateway
(the gateway paces itself: a Cloud API number at its configured messages per second), and
records outcomes in batches (one transaction per batch, see ``RecordSendOutcomes``). At most
``max_in_flight`` sends run at once, so a long queue is claimed as the sends progress, not all
at once.

Messages a staff member sends are claimed by the request that commits them and sent at once;
this worker takes over what could not go then (retryable failures, a process that died
mid-send) and everything queued without an immediate send. Several processes may run it on
one store: a delivery is claimed by one of them only.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence

import structlog

from porfin_core.domain.events import DomainEvent, MessageCreated
from porfin_core.domain.message import Message
from porfin_core.domain.outbound import SendOutcome
from porfin_core.errors import GatewayError
from porfin_core.ports.messaging import GatewayDirectory, send_through
from porfin_core.use_cases.claim_outbound_messages import OutboundJob

log = structlog.get_logger(__name__)

Claim = Callable[[int], Awaitable[list[OutboundJob]]]
Record = Callable[[Sequence[SendOutcome]], Awaitable[list[Message]]]


class OutboundSender:
    """Sends the sending outbox's due messages until stopped.

    Args:
        claim: ``ClaimOutboundMessages``.
        record: ``RecordSendOutcomes``.
        gateways: The gateway of each channel's provider.
        batch: Deliveries claimed per transaction.
        max_in_flight: Sends running at once.
        poll_seconds: How often an idle sender looks for deliveries that became due (a
            retry's backoff ending); new messages wake it at once (:meth:`wake`).
        flush_seconds: Longest wait before finished sends are recorded.
        flush_batch: Outcomes that are recorded at once without waiting.
    """

    def __init__(
        self,
        claim: Claim,
        record: Record,
        gateways: GatewayDirectory,
        *,
        batch: int = 200,
        max_in_flight: int = 500,
        poll_seconds: float = 1.0,
        flush_seconds: float = 0.05,
        flush_batch: int = 200,
    ) -> None:
        self._claim = claim
        self._record = record
        self._gateways = gateways
        self._batch = batch
        self._max_in_flight = max_in_flight
        self._poll_seconds = poll_seconds
        self._flush_seconds = flush_seconds
        self._flush_batch = flush_batch
        self._in_flight: set[asyncio.Task[None]] = set()
        self._outcomes: list[SendOutcome] = []
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.sent = 0
        """Outcomes recorded since the start (accepted, failed or rescheduled)."""

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start claiming and sending in the background."""
        if self._tasks:
            return
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._run(), name="outbound-sender"),
            asyncio.create_task(self._flusher(), name="outbound-recorder"),
        ]

    async def stop(self) -> None:
        """Stop claiming; let the sends in flight finish and record them."""
        if not self._tasks:
            return
        self._stopping = True
        self._wake.set()
        self._flush_now.set()
        run, flusher = self._tasks
        await run
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await self._flush()
        self._tasks = []

    def wake(self) -> None:
        """Look for due deliveries now (something was just queued)."""
        self._wake.set()

    async def on_event(self, event: DomainEvent) -> None:
        """Event handler: an outbound message was committed, maybe with a delivery to send."""
        if isinstance(event, MessageCreated) and event.direction == "outbound":
            self.wake()

    async def drain(self) -> int:
        """Send everything due now, wait for the answers and record them; returns how many
        outcomes were recorded. For the CLI and tests; not while the background loop runs."""
        before = self.sent
        while jobs := await self._claim(self._batch):
            await asyncio.gather(*(self._send(job) for job in jobs))
            await self._flush()
        return self.sent - before

    # -- the loops ------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            free = self._max_in_flight - len(self._in_flight)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            wanted = min(self._batch, free)
            try:
                jobs = await self._claim(wanted)
            except Exception:
                log.exception("outbound.claim_failed")
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._send(job))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if len(jobs) == wanted:
                await asyncio.sleep(0)  # more may be due: claim again once sends started
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_free.set()

    async def _send(self, job: OutboundJob) -> None:
        try:
            outcome = await send_through(
                self._gateways, job.channel, job.delivery.recipient, job.message
            )
        except Exception as exc:  # a bug must not lose the message: retried with backoff
            log.exception("outbound.send_crashed", message_id=job.message.id)
            outcome = SendOutcome(
                clinic_id=job.message.clinic_id,
                message_id=job.message.id,
                error=GatewayError(
                    f"unexpected error while sending: {exc!r}",
                    retryable=True,
                    provider=job.channel.provider.value,
                    provider_code="internal_error",
                ),
            )
        self._outcomes.append(outcome)
        if len(self._outcomes) >= self._flush_batch:
            self._flush_now.set()

    async def _flusher(self) -> None:
        while True:
            self._flush_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self._flush_seconds)
            await self._flush()

    async def _flush(self) -> None:
        while self._outcomes:
            batch = self._outcomes[: self._flush_batch]
            self._outcomes = self._outcomes[self._flush_batch :]
            try:
                await self._record(batch)
            except Exception:
                if len(batch) == 1:
                    # Not recorded: the delivery comes due again when its lease ends, and a
                    # message the provider took is recognised by its status webhooks.
                    log.exception("outbound.record_failed", message_id=batch[0].message_id)
                    continue
                # One outcome must not hold back the others: record them one by one.
                for one in batch:
                    try:
                        await self._record([one])
                    except Exception:
                        log.exception("outbound.record_failed", message_id=one.message_id)
                        continue
                    self.sent += 1
                continue
            self.sent += len(batch)
