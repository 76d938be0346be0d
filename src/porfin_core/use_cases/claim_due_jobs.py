"""Take the due jobs for one round of runs."""

from __future__ import annotations

from datetime import timedelta

import attrs

from porfin_core.domain.jobs import LEASE, Job, JobStatus
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

LOST_RUN = "the previous run did not finish within its lease (its worker stopped or hung)"


@attrs.define(kw_only=True)
class ClaimDueJobs:
    """Claim up to ``limit`` due jobs of any clinic, earliest first, in one transaction.

    Each claimed job is ``running``, its attempt counted and its ``run_at`` one ``lease``
    ahead, committed before any handler runs. A running job whose lease ran out (its worker
    died mid-run) is due again and claimed again; if that run was its last, it fails instead.
    Concurrent claimers never take the same job: the loser's transaction conflicts and is
    retried.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    lease: timedelta = LEASE

    async def __call__(self, limit: int) -> list[Job]:
        """The claimed jobs (empty when nothing is due).

        Raises:
            StorageUnavailable: the store failed.
        """

        async def work(uow: UnitOfWork) -> list[Job]:
            now = self.clock.now()
            due = await uow.jobs.due(now, limit)
            if not due:
                return []
            claimed = []
            for job in due:
                if job.status is JobStatus.RUNNING:
                    if job.exhausted:
                        job.fail(now, LOST_RUN)
                        await uow.jobs.save(job)
                        continue
                    job.last_error = LOST_RUN
                job.claim(now, self.lease)
                await uow.jobs.save(job)
                claimed.append(job)
            await uow.commit()
            return claimed

        return await transact(self.uow_factory, work)
