"""Durable jobs across restarts, on a SQLite file: a job scheduled before the process stopped
runs once after it, and a job whose worker was killed mid-run runs again after its lease."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.jobs import LEASE, Job, JobStatus
from porfin_core.use_cases.schedule_job import NewJob
from tests.integration.job_process import KIND as HANGS
from tests.support import FixedClock

REMINDER = "test.reminder"


def _settings(data_dir: Path, **changes) -> Settings:
    return Settings(
        storage=StorageKind.SQLITE,
        data_dir=data_dir,
        inbound_media_downloads=0,
        evolution_health_interval_seconds=0,
        **changes,
    )


def _container(settings: Settings, clock: FixedClock) -> composition.Container:
    container = composition.create_container(settings)
    container.clock.override(providers.Object(clock))
    return container


async def _job(container, job: Job) -> Job:
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.jobs.get(job.clinic_id, job.id)


async def test_a_job_scheduled_before_a_restart_runs_once_after_it(tmp_path):
    settings, clock = _settings(tmp_path), FixedClock()
    first = _container(settings, clock)
    await composition.start(first)
    try:
        installation = await first.set_up_installation()()
        scheduled = await first.schedule_job()(
            NewJob(
                clinic_id=installation.clinic.id,
                kind=REMINDER,
                run_at=clock.now() + timedelta(days=1),
                idempotency_key="test.reminder:a1:d-1",
                payload={"appointment_id": "a1"},
                subject="appointment:a1",
            )
        )
    finally:
        await composition.stop(first)  # the process stops before the job is due

    clock.advance(days=1, seconds=1)
    runs: list[tuple[str, int]] = []
    ran = asyncio.Event()

    async def remind(job: Job) -> None:
        runs.append((job.id, job.attempts))
        ran.set()

    for restart in range(2):  # a new process after run_at, then another one
        container = _container(settings, clock)
        container.job_worker().register(REMINDER, remind)
        await composition.start(container)  # the background worker, as `porfin serve` runs it
        try:
            if restart == 0:
                await asyncio.wait_for(ran.wait(), 10)
            else:
                await asyncio.sleep(0.3)  # a due job would be claimed at once
        finally:
            await composition.stop(container)
        done = await _reopened_job(settings, clock, scheduled.job)
        assert done.status is JobStatus.DONE and done.finished_at == clock.now()
    assert runs == [(scheduled.job.id, 1)]


async def _reopened_job(settings: Settings, clock: FixedClock, job: Job) -> Job:
    container = _container(settings, clock)
    await container.storage().open()
    try:
        return await _job(container, job)
    finally:
        await container.storage().close()


def _run_and_kill(data_dir: Path, marker: Path) -> None:
    """Run a Porfin process whose handler hangs; SIGKILL it once the run has started."""
    env = {
        **os.environ,
        "PORFIN_STORAGE": "sqlite",
        "PORFIN_DATA_DIR": str(data_dir),
        "PORFIN_EVOLUTION_HEALTH_INTERVAL_SECONDS": "0",
        "PORFIN_INBOUND_MEDIA_DOWNLOADS": "0",
        "JOB_MARKER": str(marker),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.job_process"], env=env, stdout=subprocess.PIPE
    )
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert marker.exists(), "the job did not start"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
async def test_a_job_whose_worker_was_killed_mid_run_runs_again_after_the_lease(tmp_path):
    settings = _settings(tmp_path, job_worker_concurrency=0)  # drained here: deterministic
    started = datetime.now(UTC)
    clock = FixedClock(started)
    setup = _container(settings, clock)
    await composition.start(setup)
    try:
        installation = await setup.set_up_installation()()
        scheduled = await setup.schedule_job()(
            NewJob(
                clinic_id=installation.clinic.id,
                kind=HANGS,
                run_at=clock.now(),
                idempotency_key="hangs-once",
            )
        )
    finally:
        await composition.stop(setup)
    job = scheduled.job

    marker = tmp_path / "started"
    await asyncio.to_thread(_run_and_kill, tmp_path, marker)
    assert marker.read_text() == job.id

    runs: list[int] = []

    async def finishes(claimed: Job) -> None:
        runs.append(claimed.attempts)

    clock.current = datetime.now(UTC)
    restarted = _container(settings, clock)
    restarted.job_worker().register(HANGS, finishes)
    await composition.start(restarted)
    try:
        lost = await _job(restarted, job)
        assert lost.status is JobStatus.RUNNING and lost.attempts == 1
        assert await restarted.job_worker().drain() == 0  # the dead run's lease still holds
        clock.current = lost.run_at  # the lease runs out
        assert await restarted.job_worker().drain() == 1
        assert await restarted.job_worker().drain() == 0
        done = await _job(restarted, job)
    finally:
        await composition.stop(restarted)
    assert runs == [2]
    assert done.status is JobStatus.DONE and done.attempts == 2
    assert started <= lost.run_at - LEASE <= datetime.now(UTC)  # claimed by the dead process
