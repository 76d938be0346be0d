"""A Porfin process whose job handler never finishes (started by the lease test, which kills
it with SIGKILL mid-run). Configured by ``PORFIN_*`` variables; ``JOB_MARKER`` is the file
the handler creates when the run has started."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import porfin_adapters.container as composition
from porfin_adapters.settings import load_settings
from porfin_core.domain.jobs import Job

KIND = "test.hangs"


async def main() -> None:
    container = composition.create_container(load_settings())

    async def hangs(job: Job) -> None:
        await asyncio.to_thread(Path(os.environ["JOB_MARKER"]).write_text, job.id)
        await asyncio.Event().wait()

    container.job_worker().register(KIND, hangs)
    await composition.start(container)
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
