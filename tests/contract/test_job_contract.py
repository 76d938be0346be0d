"""The durable jobs' contract: every storage adapter keeps jobs alike, an idempotency key holds
one job even when it is scheduled concurrently, and two workers never claim one job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from porfin_core.domain.jobs import Job, JobOutcome, JobStatus
from porfin_core.errors import NotFound
from porfin_core.use_cases._jobs import cancel_in, schedule_in
from porfin_core.use_cases.claim_due_jobs import ClaimDueJobs
from porfin_core.use_cases.record_job_outcomes import RecordJobOutcomes
from porfin_core.use_cases.schedule_job import NewJob, ScheduleJob
from tests import builders


def _job(
    at,
    job_id: str,
    *,
    clinic_id: str = "clinic1",
    due_in: int = 0,
    key: str | None = None,
    subject: str | None = "appointment:a1",
    payload: dict | None = None,
) -> Job:
    return Job.new(
        id=job_id,
        clinic_id=clinic_id,
        kind="appointment.reminder",
        payload={"appointment_id": "a1"} if payload is None else payload,
        run_at=at + timedelta(seconds=due_in),
        idempotency_key=key or f"key-{job_id}",
        subject=subject,
        now=at,
    )


async def _add(backend, *jobs: Job) -> list[Job]:
    async with backend.uow_factory() as uow:
        held = [await uow.jobs.add(job) for job in jobs]
        await uow.commit()
    return held


async def test_a_job_round_trips_with_its_payload(backend, clock):
    now = clock.now()
    payload = {
        "appointment_id": "a1",
        "minutes_before": 120,
        "ratio": 0.5,
        "confirm": True,
        "note": None,
        "channels": ["cloud_api", "evolution"],
        "template": {"name": "lembrete_consulta", "language": "pt_BR", "é": "ç"},
    }
    job = _job(now, "j1", payload=payload, key="reminder|a1/2026-11-26T10:00")
    assert await _add(backend, job) == [job]
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.jobs.get("clinic1", "j1") == job
        assert await uow.jobs.find_by_key("clinic1", "reminder|a1/2026-11-26T10:00") == job
        assert await uow.jobs.find_by_key("clinic2", "reminder|a1/2026-11-26T10:00") is None
        assert await uow.jobs.find_by_key("clinic1", "nope") is None
        with pytest.raises(NotFound):
            await uow.jobs.get("clinic2", "j1")  # another clinic's
        with pytest.raises(NotFound):
            await uow.jobs.get("clinic1", "nope")


async def test_a_taken_idempotency_key_keeps_the_first_job(backend, clock):
    now = clock.now()
    first = _job(now, "j1", key="k", payload={"n": 1})
    await _add(backend, first)
    again = _job(now, "j2", key="k", due_in=60, payload={"n": 2})
    other_clinic = _job(now, "j3", key="k", clinic_id="clinic2")
    assert await _add(backend, again, other_clinic) == [first, other_clinic]
    async with backend.uow_factory() as uow:
        # Twice in one unit of work: the second gets the first back, nothing is written twice.
        assert await uow.jobs.add(_job(now, "j4", key="k2")) == _job(now, "j4", key="k2")
        assert await uow.jobs.add(_job(now, "j5", key="k2")) == _job(now, "j4", key="k2")
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.jobs.get("clinic1", "j2")
        with pytest.raises(NotFound):
            await uow.jobs.get("clinic1", "j5")
        assert (await uow.jobs.find_by_key("clinic1", "k2")) == _job(now, "j4", key="k2")
        assert [j.id for j in await uow.jobs.due(now + timedelta(hours=1), 10)] == [
            "j1",
            "j3",
            "j4",
        ]


async def test_a_finished_job_still_holds_its_key(backend, clock):
    now = clock.now()
    [job] = await _add(backend, _job(now, "j1", key="k"))
    async with backend.uow_factory() as uow:
        job = await uow.jobs.get("clinic1", "j1")
        job.cancel(now)
        await uow.jobs.save(job)
        await uow.commit()
    [held] = await _add(backend, _job(now, "j2", key="k"))
    assert held.id == "j1" and held.status is JobStatus.CANCELLED


async def test_due_jobs_of_every_clinic_come_earliest_first(backend, clock):
    now = clock.now()
    await _add(
        backend,
        _job(now, "j3", due_in=30),
        _job(now, "j1", due_in=-10),
        _job(now, "j2", clinic_id="clinic2"),
        _job(now, "j0"),  # same time as j2: by id
        _job(now, "j9", due_in=-60),
    )
    async with backend.uow_factory() as uow:
        finished = await uow.jobs.get("clinic1", "j9")
        finished.succeed(now)
        await uow.jobs.save(finished)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert [j.id for j in await uow.jobs.due(now, 10)] == ["j1", "j0", "j2"]
        assert [j.id for j in await uow.jobs.due(now, 2)] == ["j1", "j0"]
        later = await uow.jobs.due(now + timedelta(minutes=1), 10)
        assert [j.id for j in later] == ["j1", "j0", "j2", "j3"]  # never the finished j9


async def test_a_claimed_job_is_due_again_when_its_lease_runs_out(backend, clock):
    now = clock.now()
    await _add(backend, _job(now, "j1"))
    async with backend.uow_factory() as uow:
        [job] = await uow.jobs.due(now, 10)
        job.claim(now, timedelta(minutes=5))
        await uow.jobs.save(job)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.jobs.due(now + timedelta(minutes=4), 10) == []
        [lost] = await uow.jobs.due(now + timedelta(minutes=5), 10)
        assert lost.status is JobStatus.RUNNING and lost.attempts == 1


async def test_jobs_of_a_subject_are_found_and_cancelled_together(backend, clock):
    now = clock.now()
    await _add(
        backend,
        _job(now, "j2", due_in=60),
        _job(now, "j1", due_in=30),
        _job(now, "j3", subject="appointment:a2"),
        _job(now, "j4", clinic_id="clinic2"),
        _job(now, "j5", subject=None),
    )
    async with backend.uow_factory() as uow:
        done = await uow.jobs.get("clinic1", "j1")
        done.succeed(now)
        await uow.jobs.save(done)
        await uow.commit()
    async with backend.uow_factory() as uow:
        assert [j.id for j in await uow.jobs.for_subject("clinic1", "appointment:a1")] == [
            "j1",
            "j2",
        ]
        cancelled = await cancel_in(uow, "clinic1", "appointment:a1", now)
        assert [j.id for j in cancelled] == ["j2"]  # j1 had finished
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        statuses = {j.id: j.status for j in await uow.jobs.for_subject("clinic1", "appointment:a1")}
        assert statuses == {"j1": JobStatus.DONE, "j2": JobStatus.CANCELLED}
        assert (await uow.jobs.get("clinic1", "j2")).finished_at == now
        due = await uow.jobs.due(now + timedelta(hours=1), 10)
        assert [j.id for j in due] == ["j3", "j4", "j5"]


async def test_jobs_are_scheduled_in_the_transaction_of_their_cause(backend, clock):
    now = clock.now()
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await schedule_in(uow, _job(now, "j1"))
        # Left without committing: neither the clinic nor the job exists.
    async with backend.uow_factory(read_only=True) as uow:
        with pytest.raises(NotFound):
            await uow.jobs.get("clinic1", "j1")
        with pytest.raises(NotFound):
            await uow.clinics.get("clinic1")


async def test_jobs_survive_a_restart(backend, clock):
    now = clock.now()
    await _add(backend, _job(now, "j1", due_in=3600))
    # The memory store lives as long as the process: its "restart" is the same store.
    reopened = (await backend.reopen())[0] if backend.reopen else backend.uow_factory
    async with reopened(read_only=True) as uow:
        assert [j.id for j in await uow.jobs.due(now + timedelta(hours=1), 10)] == ["j1"]


async def test_two_workers_never_claim_the_same_job(backend, clock):
    now = clock.now()
    await _add(backend, *(_job(now, f"j{n:02d}") for n in range(30)))
    other = backend.uow_factory
    if backend.reopen is not None:  # a second process on the same data
        other, _ = await backend.reopen()
    first = ClaimDueJobs(uow_factory=backend.uow_factory, clock=clock)
    second = ClaimDueJobs(uow_factory=other, clock=clock)
    claimed = await asyncio.gather(first(10), second(10), first(10), second(10))
    taken = [job.id for jobs in claimed for job in jobs]
    assert len(taken) == len(set(taken)) == 30
    assert await first(10) == []
    assert all(j.attempts == 1 and j.status is JobStatus.RUNNING for js in claimed for j in js)
    record = RecordJobOutcomes(uow_factory=other, clock=clock)
    outcomes = [JobOutcome(clinic_id="clinic1", job_id=j, attempt=1) for j in taken]
    assert len(await record(outcomes)) == 30
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.jobs.due(now + timedelta(days=1), 100) == []
        assert (await uow.jobs.get("clinic1", "j00")).status is JobStatus.DONE


async def test_one_key_scheduled_concurrently_makes_one_job(backend, clock, ids):
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await uow.commit()
    other = backend.uow_factory
    if backend.reopen is not None:
        other, _ = await backend.reopen()
    schedulers = [
        ScheduleJob(uow_factory=factory, clock=clock, ids=ids)
        for factory in (backend.uow_factory, other)
    ]
    command = NewJob(
        clinic_id="clinic1",
        kind="appointment.reminder",
        run_at=clock.now() + timedelta(hours=1),
        idempotency_key="appointment.reminder:a1:d-1",
        subject="appointment:a1",
    )
    results = await asyncio.gather(*(schedulers[n % 2](command) for n in range(6)))
    assert len({r.job.id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    async with backend.uow_factory(read_only=True) as uow:
        assert len(await uow.jobs.for_subject("clinic1", "appointment:a1")) == 1
