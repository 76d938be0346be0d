"""Record what came of running jobs."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.jobs import Job, JobOutcome, JobStatus
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class RecordJobOutcomes:
    """Apply run outcomes to their jobs, all in one transaction.

    - success: the job is ``done`` (even if its lease had run out and another run started:
      the work was done);
    - a retryable failure with runs left: ``scheduled`` again after the backoff;
    - a failure with no run left, or not retryable: ``failed``, with the error.

    A job that finished meanwhile (cancelled while it ran, done by another run) is left as
    it is, and so is a failure of a run that is no longer the job's latest.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, outcomes: Sequence[JobOutcome]) -> list[Job]:
        """Record ``outcomes`` (of distinct jobs); returns the jobs changed.

        Raises:
            StorageUnavailable: the store failed.
        """
        if not outcomes:
            return []

        async def work(uow: UnitOfWork) -> list[Job]:
            now = self.clock.now()
            changed = []
            for outcome in outcomes:
                try:
                    job = await uow.jobs.get(outcome.clinic_id, outcome.job_id)
                except NotFound:
                    continue
                if not job.active:
                    continue
                if outcome.error is None:
                    job.succeed(now)
                elif job.status is not JobStatus.RUNNING or outcome.attempt != job.attempts:
                    continue  # a stale run's failure: the latest run decides
                elif outcome.retryable:
                    job.retry_later(now, outcome.error)
                else:
                    job.fail(now, outcome.error)
                await uow.jobs.save(job)
                changed.append(job)
            if changed:
                await uow.commit()
            return changed

        return await transact(self.uow_factory, work)
