"""Durable jobs: scheduled once per idempotency key, run when due, retried with backoff, failed
after their last attempt, cancelled by subject, run again when a worker died mid-run."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import attrs
import pytest

from porfin_adapters.jobs import JobWorker
from porfin_adapters.settings import load_settings
from porfin_core.domain.jobs import (
    FIRST_RETRY,
    LEASE,
    LONGEST_RETRY,
    Job,
    JobOutcome,
    JobStatus,
    retry_delay,
)
from porfin_core.errors import GatewayError, JobFailed, NotFound, ValidationError
from porfin_core.use_cases._jobs import cancel_in, schedule_in
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.claim_due_jobs import LOST_RUN
from porfin_core.use_cases.schedule_job import NewJob

REMINDER = "appointment.reminder"


class Recorder:
    """A handler that notes each run and answers as scripted (an exception to raise, or
    succeed)."""

    def __init__(self, *script: Exception | None) -> None:
        self.script = list(script)
        self.runs: list[tuple[str, int]] = []

    async def __call__(self, job: Job) -> None:
        self.runs.append((job.id, job.attempts))
        step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step


def reminder(clock, key: str = "a1:d-1", *, in_minutes: int = 0, **extra) -> NewJob:
    return NewJob(
        clinic_id=extra.pop("clinic_id", "clinic1"),
        kind=extra.pop("kind", REMINDER),
        run_at=clock.now() + timedelta(minutes=in_minutes),
        idempotency_key=key,
        payload=extra.pop("payload", {"appointment_id": "a1"}),
        subject=extra.pop("subject", "appointment:a1"),
        **extra,
    )


@pytest.fixture
async def clinic_id(installation) -> str:
    return installation.clinic.id


@pytest.fixture
def schedule(container, clinic_id):
    async def run(command: NewJob) -> Job:
        command = attrs.evolve(command, clinic_id=clinic_id)
        return (await container.schedule_job()(command)).job

    return run


@pytest.fixture
def worker(container) -> JobWorker:
    return container.job_worker()


async def stored(container, job: Job) -> Job:
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.jobs.get(job.clinic_id, job.id)


# -- the entity ---------------------------------------------------------------------------


def test_retries_back_off_exponentially_up_to_an_hour():
    assert [retry_delay(n) for n in (1, 2, 3)] == [FIRST_RETRY, FIRST_RETRY * 2, FIRST_RETRY * 4]
    assert retry_delay(50) == LONGEST_RETRY == timedelta(hours=1)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": " "}, "kind"),
        ({"idempotency_key": ""}, "idempotency_key"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
        ({"subject": ""}, "subject"),
        ({"run_at": datetime(2026, 11, 26, 10, 0)}, "run_at"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": 101}, "max_attempts"),
        ({"payload": {"at": datetime(2026, 11, 26, 10, 0)}}, "payload"),
        ({"payload": {"ids": ("a", "b")}}, "payload"),
        ({"payload": {"n": float("nan")}}, "payload"),
        ({"payload": {"n": 2**64}}, "payload"),
        ({"payload": {"": 1}}, "payload"),
        ({"payload": {"nested": {"__name__": 1}}}, "payload"),
        ({"payload": {"list": [{1: "a"}]}}, "payload"),
    ],
)
def test_a_job_is_refused_with_bad_values(clock, changes, field):
    values = {
        "id": "j1",
        "clinic_id": "clinic1",
        "kind": REMINDER,
        "run_at": clock.now(),
        "idempotency_key": "k",
        "now": clock.now(),
        **changes,
    }
    with pytest.raises(ValidationError) as error:
        Job.new(**values)
    assert error.value.fields["field"] == field


# -- scheduling ---------------------------------------------------------------------------


async def test_a_scheduled_job_is_stored_and_its_key_schedules_nothing_twice(
    container, clinic_id, clock
):
    first = await container.schedule_job()(
        reminder(clock, in_minutes=60, clinic_id=clinic_id, max_attempts=3)
    )
    assert first.created
    job = first.job
    assert job.status is JobStatus.SCHEDULED and job.attempts == 0 and job.max_attempts == 3
    assert job.run_at == clock.now() + timedelta(minutes=60)
    assert await stored(container, job) == job
    again = await container.schedule_job()(
        reminder(clock, in_minutes=5, clinic_id=clinic_id, payload={"appointment_id": "x"})
    )
    assert not again.created
    assert again.job == job  # the first one, unchanged


async def test_scheduling_for_an_unknown_clinic_is_refused(container, installation, clock):
    with pytest.raises(NotFound):
        await container.schedule_job()(reminder(clock, clinic_id="nope"))


async def test_a_use_case_schedules_and_cancels_in_its_own_transaction(
    container, clinic_id, clock, ids
):
    def job(key: str, minutes: int) -> Job:
        return Job.new(
            id=ids.new_id(),
            clinic_id=clinic_id,
            kind=REMINDER,
            payload={"appointment_id": "a1"},
            run_at=clock.now() + timedelta(minutes=minutes),
            idempotency_key=key,
            subject="appointment:a1",
            now=clock.now(),
        )

    async def book(uow):
        held = [await schedule_in(uow, job(k, m)) for k, m in (("d-1", 60), ("h-2", 120))]
        await uow.commit()
        return held

    d1, h2 = await transact(container.uow_factory(), book)

    async def cancel(uow):
        cancelled = await cancel_in(uow, clinic_id, "appointment:a1", clock.now())
        await uow.commit()
        return cancelled

    assert [j.id for j in await transact(container.uow_factory(), cancel)] == [d1.id, h2.id]
    assert (await stored(container, d1)).status is JobStatus.CANCELLED


# -- running ------------------------------------------------------------------------------


async def test_due_jobs_run_earliest_first_and_future_ones_wait(container, schedule, worker, clock):
    handler = Recorder()
    worker.register(REMINDER, handler)
    later = await schedule(reminder(clock, "later", in_minutes=10))
    second = await schedule(reminder(clock, "second", in_minutes=-1))
    first = await schedule(reminder(clock, "first", in_minutes=-5))
    assert await worker.drain() == 2
    assert handler.runs == [(first.id, 1), (second.id, 1)]
    done = await stored(container, first)
    assert done.status is JobStatus.DONE and done.finished_at == clock.now()
    assert (await stored(container, later)).status is JobStatus.SCHEDULED
    assert await worker.drain() == 0  # nothing runs twice
    clock.advance(minutes=10)
    assert await worker.drain() == 1
    assert handler.runs[-1] == (later.id, 1)


async def test_a_failing_run_is_retried_with_exponential_backoff(
    container, schedule, worker, clock
):
    handler = Recorder(RuntimeError("calendar unreachable"), RuntimeError("still down"))
    worker.register(REMINDER, handler)
    job = await schedule(reminder(clock))
    assert await worker.drain() == 1
    waiting = await stored(container, job)
    assert waiting.status is JobStatus.SCHEDULED and waiting.attempts == 1
    assert waiting.run_at == clock.now() + FIRST_RETRY
    assert waiting.last_error == "RuntimeError: calendar unreachable"
    assert await worker.drain() == 0  # not yet
    clock.advance(seconds=10)
    assert await worker.drain() == 1
    assert (await stored(container, job)).run_at == clock.now() + FIRST_RETRY * 2
    clock.advance(seconds=20)
    assert await worker.drain() == 1
    done = await stored(container, job)
    assert done.status is JobStatus.DONE and done.attempts == 3 and done.last_error is None
    assert handler.runs == [(job.id, 1), (job.id, 2), (job.id, 3)]


async def test_a_job_fails_after_its_last_attempt(container, schedule, worker, clock):
    handler = Recorder(*[RuntimeError("boom")] * 5)
    worker.register(REMINDER, handler)
    job = await schedule(reminder(clock, max_attempts=2))
    await worker.drain()
    clock.advance(seconds=10)
    await worker.drain()
    failed = await stored(container, job)
    assert failed.status is JobStatus.FAILED and failed.attempts == 2
    assert failed.last_error == "RuntimeError: boom" and failed.finished_at == clock.now()
    clock.advance(hours=2)
    assert await worker.drain() == 0
    assert len(handler.runs) == 2


@pytest.mark.parametrize(
    "error",
    [
        JobFailed("appointment a1 does not exist"),
        GatewayError("template paused", retryable=False, provider_code="132015"),
    ],
)
async def test_a_run_that_cannot_succeed_fails_at_once(container, schedule, worker, clock, error):
    worker.register(REMINDER, Recorder(error))
    job = await schedule(reminder(clock))
    await worker.drain()
    failed = await stored(container, job)
    assert failed.status is JobStatus.FAILED and failed.attempts == 1
    assert str(error) in (failed.last_error or "")


async def test_a_job_of_an_unknown_kind_fails_with_a_clear_error(
    container, schedule, worker, clock
):
    worker.register(REMINDER, Recorder())
    job = await schedule(reminder(clock, kind="campaign.send"))
    assert await worker.drain() == 1
    failed = await stored(container, job)
    assert failed.status is JobStatus.FAILED
    assert failed.last_error == "no handler is registered for job kind 'campaign.send'"


async def test_a_handler_is_registered_once_per_kind(worker):
    worker.register(REMINDER, Recorder())
    with pytest.raises(ValueError, match="already registered"):
        worker.register(REMINDER, Recorder())
    assert worker.kinds == {REMINDER}


# -- cancelling ---------------------------------------------------------------------------


async def test_cancelling_a_subject_cancels_its_pending_jobs_only(
    container, schedule, worker, clock, clinic_id
):
    handler = Recorder()
    worker.register(REMINDER, handler)
    ran = await schedule(reminder(clock, "ran"))
    await worker.drain()
    d1 = await schedule(reminder(clock, "d-1", in_minutes=60))
    h2 = await schedule(reminder(clock, "h-2", in_minutes=120))
    other = await schedule(reminder(clock, "other", in_minutes=60, subject="appointment:a2"))
    cancelled = await container.cancel_jobs()(clinic_id, "appointment:a1")
    assert [j.id for j in cancelled] == [d1.id, h2.id]
    assert all(j.status is JobStatus.CANCELLED for j in cancelled)
    assert await container.cancel_jobs()(clinic_id, "appointment:a1") == []
    clock.advance(hours=3)
    await worker.drain()
    assert handler.runs == [(ran.id, 1), (other.id, 1)]
    assert (await stored(container, ran)).status is JobStatus.DONE
    assert (await stored(container, d1)).status is JobStatus.CANCELLED


async def test_a_job_cancelled_while_it_runs_stays_cancelled(container, schedule, clock, clinic_id):
    job = await schedule(reminder(clock))
    [claimed] = await container.claim_due_jobs()(10)
    await container.cancel_jobs()(clinic_id, "appointment:a1")
    for outcome in (None, "boom"):
        await container.record_job_outcomes()(
            [JobOutcome(clinic_id=clinic_id, job_id=job.id, attempt=1, error=outcome)]
        )
        assert (await stored(container, claimed)).status is JobStatus.CANCELLED


# -- leases: a worker that died mid-run ------------------------------------------------------


async def test_a_job_whose_worker_died_mid_run_runs_again_after_the_lease(
    container, schedule, worker, clock
):
    job = await schedule(reminder(clock))
    [claimed] = await container.claim_due_jobs()(10)  # ... and the process dies
    assert claimed.status is JobStatus.RUNNING and claimed.run_at == clock.now() + LEASE
    handler = Recorder()
    worker.register(REMINDER, handler)
    clock.advance(minutes=4)
    assert await worker.drain() == 0  # the lease holds
    clock.advance(minutes=1)
    assert await worker.drain() == 1
    assert handler.runs == [(job.id, 2)]
    done = await stored(container, job)
    assert done.status is JobStatus.DONE and done.attempts == 2


async def test_a_lost_last_attempt_fails_the_job(container, schedule, worker, clock):
    job = await schedule(reminder(clock, max_attempts=1))
    await container.claim_due_jobs()(10)
    clock.advance(minutes=5)
    worker.register(REMINDER, Recorder())
    assert await worker.drain() == 0
    failed = await stored(container, job)
    assert failed.status is JobStatus.FAILED and failed.last_error == LOST_RUN


async def test_a_late_outcome_of_a_lost_run(container, schedule, clock, clinic_id):
    job = await schedule(reminder(clock))
    await container.claim_due_jobs()(10)
    clock.advance(minutes=5)
    [again] = await container.claim_due_jobs()(10)  # the lease ran out: run 2 starts
    assert again.attempts == 2 and again.last_error == LOST_RUN
    record = container.record_job_outcomes()
    # Run 1's failure arrives late: run 2 decides.
    await record([JobOutcome(clinic_id=clinic_id, job_id=job.id, attempt=1, error="late")])
    assert (await stored(container, job)).status is JobStatus.RUNNING
    # Run 1's success arrives late: the work was done.
    await record([JobOutcome(clinic_id=clinic_id, job_id=job.id, attempt=1)])
    assert (await stored(container, job)).status is JobStatus.DONE
    await record([JobOutcome(clinic_id=clinic_id, job_id=job.id, attempt=2, error="late")])
    assert (await stored(container, job)).status is JobStatus.DONE


# -- the background loop ------------------------------------------------------------------


async def _until(predicate, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out waiting")


async def test_the_background_worker_runs_jobs_with_bounded_concurrency(container, schedule, clock):
    running, most, release = 0, 0, asyncio.Event()

    async def handler(job: Job) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await release.wait()
        running -= 1

    worker = JobWorker(
        container.claim_due_jobs(),
        container.record_job_outcomes(),
        concurrency=3,
        poll_seconds=0.05,
    )
    worker.register(REMINDER, handler)
    jobs = [await schedule(reminder(clock, f"k{n}")) for n in range(7)]
    await worker.start()
    try:
        await _until(lambda: running == 3)
        await asyncio.sleep(0.1)
        assert most == 3
        release.set()
        await _until(lambda: worker.recorded == 7)
    finally:
        await worker.stop()
    assert most == 3
    assert [(await stored(container, j)).status for j in jobs] == [JobStatus.DONE] * 7


async def test_a_run_longer_than_its_timeout_is_retried(container, schedule, clock):
    async def hangs(job: Job) -> None:
        await asyncio.sleep(60)

    worker = JobWorker(
        container.claim_due_jobs(), container.record_job_outcomes(), timeout_seconds=0.05
    )
    worker.register(REMINDER, hangs)
    job = await schedule(reminder(clock))
    assert await worker.drain() == 1
    waiting = await stored(container, job)
    assert waiting.status is JobStatus.SCHEDULED
    assert waiting.last_error == "the run took longer than 0.05 s"


async def test_stopping_interrupts_long_runs_after_the_grace_period(container, schedule, clock):
    started = asyncio.Event()

    async def hangs(job: Job) -> None:
        started.set()
        await asyncio.sleep(60)

    worker = JobWorker(
        container.claim_due_jobs(),
        container.record_job_outcomes(),
        poll_seconds=0.05,
        grace_seconds=0.05,
    )
    worker.register(REMINDER, hangs)
    job = await schedule(reminder(clock))
    await worker.start()
    await asyncio.wait_for(started.wait(), 5)
    await worker.stop()
    interrupted = await stored(container, job)
    assert interrupted.status is JobStatus.SCHEDULED  # soon again, not after the lease
    assert interrupted.run_at == clock.now() + FIRST_RETRY
    assert interrupted.last_error == "interrupted: the worker stopped during the run"


async def test_a_worker_with_no_concurrency_does_not_start(container):
    worker = JobWorker(container.claim_due_jobs(), container.record_job_outcomes(), concurrency=0)
    await worker.start()
    assert not worker.running


def test_job_worker_settings():
    settings = load_settings({"PORFIN_JOB_WORKER_CONCURRENCY": "0", "PORFIN_JOB_POLL_SECONDS": "5"})
    assert (settings.job_worker_concurrency, settings.job_poll_seconds) == (0, 5)
    assert load_settings({}).job_worker_concurrency == 8
    with pytest.raises(ValidationError):
        load_settings({"PORFIN_JOB_WORKER_CONCURRENCY": "1000"})
    with pytest.raises(ValidationError):
        load_settings({"PORFIN_JOB_POLL_SECONDS": "0"})
