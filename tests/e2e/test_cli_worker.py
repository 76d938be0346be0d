"""``porfin worker``: the background work without the HTTP API, stopped by a signal."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_cli.worker import run_workers
from porfin_core.domain.jobs import Job, JobStatus
from porfin_core.use_cases.schedule_job import NewJob
from tests.support import FixedClock


def _read_until(process: subprocess.Popen[bytes], text: str, seconds: float = 30) -> str:
    """What the process printed until ``text`` appeared (fails after ``seconds``)."""
    assert process.stdout is not None
    fd, seen = process.stdout.fileno(), b""
    deadline = time.monotonic() + seconds
    while text.encode() not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or process.poll() is not None:
            pytest.fail(f"{text!r} never printed; got {seen.decode(errors='replace')!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            seen += os.read(fd, 65536)
    return seen.decode()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_the_worker_runs_until_a_signal_stops_it(tmp_path, signum):
    env = {**os.environ, "PORFIN_DATA_DIR": str(tmp_path), "PORFIN_STORAGE": "sqlite"}
    process = subprocess.Popen(
        [sys.executable, "-m", "porfin_cli", "worker"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        started = _read_until(process, "Porfin worker em execução")
        assert str(tmp_path) in started and "armazenamento: sqlite" in started
        assert (tmp_path / "porfin.db").exists()
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, err.decode()
    assert "Porfin worker parado." in out.decode()


async def test_run_workers_runs_due_jobs_until_told_to_stop(tmp_path):
    clock = FixedClock()
    container = composition.create_container(
        Settings(
            storage=StorageKind.SQLITE,
            data_dir=tmp_path,
            inbound_media_downloads=0,
            evolution_health_interval_seconds=0,
        )
    )
    container.clock.override(providers.Object(clock))
    stop, runs = asyncio.Event(), []

    async def remind(job: Job) -> None:
        runs.append(job.id)
        stop.set()

    container.job_worker().register("test.reminder", remind)

    async def schedule() -> Job:
        installation = await container.set_up_installation()()
        scheduled = await container.schedule_job()(
            NewJob(
                clinic_id=installation.clinic.id,
                kind="test.reminder",
                run_at=clock.now() - timedelta(seconds=1),
                idempotency_key="k",
            )
        )
        return scheduled.job

    ready = asyncio.Event()
    running = asyncio.create_task(run_workers(container, stop, ready.set))
    await asyncio.wait_for(ready.wait(), 10)
    job = await schedule()
    container.job_worker().wake()
    await asyncio.wait_for(running, 10)  # the handler asked to stop: the workers stopped
    assert runs == [job.id]
    assert not container.job_worker().running
    await container.storage().open()
    try:
        async with container.uow_factory()(read_only=True) as uow:
            assert (await uow.jobs.get(job.clinic_id, job.id)).status is JobStatus.DONE
    finally:
        await container.storage().close()
