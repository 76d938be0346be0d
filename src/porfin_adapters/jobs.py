"""The job worker: runs due durable jobs with the handler registered for their kind.

It claims due jobs in batches (one transaction per batch, see ``ClaimDueJobs``), runs each as
its own task, at most ``concurrency`` at once, and records outcomes in batches (one
transaction per batch, see ``RecordJobOutcomes``). Several processes may run it on one store
(``porfin serve`` workers, ``porfin worker``): a job is claimed by one of them only.

Handlers are ``async (job) -> None``, registered by kind before the worker starts, the same
in every process (a kind no handler is registered for fails at once). Returning means the work
is done; raising means try again later, after a backoff, unless the exception says it cannot
succeed (``JobFailed``, or any exception whose ``retryable`` attribute is False, such as a
final ``GatewayError``). A run may be repeated (at least once: a worker may die after the
work and before recording it), so handlers must be idempotent: read the current state, and
do nothing when the work is already done or no longer wanted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

import structlog

from porfin_core.domain.jobs import LEASE, Job, JobOutcome

log = structlog.get_logger(__name__)

Handler = Callable[[Job], Awaitable[None]]
Claim = Callable[[int], Awaitable[list[Job]]]
Record = Callable[[Sequence[JobOutcome]], Awaitable[list[Job]]]

DEFAULT_TIMEOUT = (LEASE - timedelta(minutes=1)).total_seconds()
"""A run is cut off well before its lease ends, so no other worker starts it meanwhile."""


class JobWorker:
    """Runs due jobs until stopped.

    Args:
        claim: ``ClaimDueJobs``.
        record: ``RecordJobOutcomes``.
        concurrency: Runs at once; 0 turns the background loop off (``drain`` still works).
        batch: Jobs claimed per transaction at most.
        poll_seconds: How often an idle worker looks for jobs that became due;
            :meth:`wake` looks at once.
        timeout_seconds: Longest run; a longer one is cancelled and retried.
        flush_seconds: Longest wait before finished runs are recorded.
        flush_batch: Outcomes that are recorded at once without waiting.
        grace_seconds: How long :meth:`stop` lets runs in progress finish before it
            interrupts them (they are retried soon after).
    """

    def __init__(
        self,
        claim: Claim,
        record: Record,
        *,
        concurrency: int = 8,
        batch: int = 50,
        poll_seconds: float = 1.0,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        flush_seconds: float = 0.05,
        flush_batch: int = 100,
        grace_seconds: float = 10.0,
    ) -> None:
        self._claim = claim
        self._record = record
        self._concurrency = concurrency
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._timeout_seconds = timeout_seconds
        self._flush_seconds = flush_seconds
        self._flush_batch = flush_batch
        self._grace_seconds = grace_seconds
        self._handlers: dict[str, Handler] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._outcomes: list[JobOutcome] = []
        self._wake = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._flush_now = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.recorded = 0
        """Outcomes recorded since the start (done, failed or to be retried)."""

    # -- handlers -------------------------------------------------------------------------

    def register(self, kind: str, handler: Handler) -> None:
        """Run jobs of ``kind`` with ``handler``.

        Raises:
            ValueError: a handler is already registered for ``kind``.
        """
        if kind in self._handlers:
            raise ValueError(f"a handler is already registered for job kind {kind!r}")
        self._handlers[kind] = handler

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds this worker can run."""
        return frozenset(self._handlers)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the background loop runs."""
        return bool(self._tasks)

    async def start(self) -> None:
        """Start claiming and running jobs in the background (not when ``concurrency`` is 0)."""
        if self._tasks or self._concurrency <= 0:
            return
        self._stopping = False
        self._tasks = [
            asyncio.create_task(self._loop(), name="job-worker"),
            asyncio.create_task(self._flusher(), name="job-recorder"),
        ]

    async def stop(self) -> None:
        """Stop claiming; let runs in progress finish (interrupting those still running after
        ``grace_seconds``, which are retried soon) and record them."""
        if not self._tasks:
            return
        self._stopping = True
        self._wake.set()
        self._slot_free.set()
        loop, flusher = self._tasks
        await loop
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=self._grace_seconds)
            for task in late:
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        flusher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flusher
        await self._flush()
        self._tasks = []

    def wake(self) -> None:
        """Look for due jobs now (one was just scheduled to run at once)."""
        self._wake.set()

    async def drain(self) -> int:
        """Run every job due now, wait for the runs and record them; returns how many
        outcomes were recorded. For tests and scripts; not while the background loop runs."""
        before = self.recorded
        limit = asyncio.Semaphore(max(1, self._concurrency))

        async def run(job: Job) -> None:
            async with limit:
                await self._run(job)

        while jobs := await self._claim(self._batch):
            await asyncio.gather(*(run(job) for job in jobs))
            await self._flush()
        return self.recorded - before

    # -- the loops ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            free = self._concurrency - len(self._in_flight)
            if free <= 0:
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            wanted = min(self._batch, free)
            self._wake.clear()
            try:
                jobs = await self._claim(wanted)
            except Exception:
                log.exception("jobs.claim_failed")
                jobs = []
            for job in jobs:
                task = asyncio.create_task(self._run(job), name=f"job-{job.kind}-{job.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if len(jobs) == wanted:
                await asyncio.sleep(0)  # more may be due: claim again once these started
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._slot_free.set()

    async def _run(self, job: Job) -> None:
        try:
            outcome = await self._execute(job)
        except asyncio.CancelledError:
            # Interrupted by stop(): retried after the first backoff, not after the lease.
            self._outcomes.append(_failed(job, "interrupted: the worker stopped during the run"))
            raise
        self._outcomes.append(outcome)
        if len(self._outcomes) >= self._flush_batch:
            self._flush_now.set()

    async def _execute(self, job: Job) -> JobOutcome:
        handler = self._handlers.get(job.kind)
        if handler is None:
            log.error("jobs.unknown_kind", job_id=job.id, kind=job.kind)
            return _failed(job, f"no handler is registered for job kind {job.kind!r}", False)
        try:
            async with asyncio.timeout(self._timeout_seconds):
                await handler(job)
        except TimeoutError:
            log.warning("jobs.timed_out", job_id=job.id, kind=job.kind, attempt=job.attempts)
            return _failed(job, f"the run took longer than {self._timeout_seconds:g} s")
        except Exception as exc:
            retryable = getattr(exc, "retryable", True) is not False
            log.warning(
                "jobs.run_failed",
                job_id=job.id,
                kind=job.kind,
                attempt=job.attempts,
                retryable=retryable,
                exc_info=True,
            )
            return _failed(job, f"{type(exc).__name__}: {exc}", retryable)
        log.debug("jobs.ran", job_id=job.id, kind=job.kind, attempt=job.attempts)
        return JobOutcome(clinic_id=job.clinic_id, job_id=job.id, attempt=job.attempts)

    async def _flusher(self) -> None:
        while True:
            self._flush_now.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush_now.wait(), self._flush_seconds)
            await self._flush()

    async def _flush(self) -> None:
        while self._outcomes:
            batch, self._outcomes = (
                self._outcomes[: self._flush_batch],
                self._outcomes[self._flush_batch :],
            )
            try:
                await self._record(batch)
            except Exception:
                # Not recorded: the jobs come due again when their lease ends (at least once).
                log.exception("jobs.record_failed", outcomes=len(batch))
                continue
            self.recorded += len(batch)


def _failed(job: Job, error: str, retryable: bool = True) -> JobOutcome:
    return JobOutcome(
        clinic_id=job.clinic_id,
        job_id=job.id,
        attempt=job.attempts,
        error=error,
        retryable=retryable,
    )
