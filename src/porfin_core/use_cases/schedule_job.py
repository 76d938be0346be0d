"""Schedule a job on its own (from a shell, a script, an operator)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from porfin_core.domain.jobs import DEFAULT_MAX_ATTEMPTS, Job
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewJob:
    """A job to schedule.

    Attributes:
        clinic_id: The clinic the work is for.
        kind: Name of the handler that runs it.
        run_at: When it is due (timezone-aware; a past time means as soon as possible).
        idempotency_key: Unique in the clinic; scheduling it again keeps the first job.
        payload: Plain data for the handler.
        subject: What the job is about, to cancel it with others (``appointment:<id>``).
        max_attempts: Runs allowed in all.
    """

    clinic_id: str
    kind: str
    run_at: datetime
    idempotency_key: str
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    subject: str | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS


@attrs.frozen
class ScheduledJob:
    """The job holding the key, and whether this call created it.

    Attributes:
        job: The job as stored.
        created: False when a job with the key existed already (it is returned unchanged).
    """

    job: Job
    created: bool


@attrs.define(kw_only=True)
class ScheduleJob:
    """Schedule one job in a transaction of its own.

    Use cases whose change causes the job schedule it in their own unit of work instead
    (:func:`porfin_core.use_cases._jobs.schedule_in`).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewJob) -> ScheduledJob:
        """Schedule the job unless its key is taken.

        Raises:
            ValidationError: a bad kind, key, subject, time, attempts or payload.
            NotFound: no such clinic.
            StorageUnavailable: the store failed.
        """
        job = Job.new(
            id=self.ids.new_id(),
            clinic_id=command.clinic_id,
            kind=command.kind,
            run_at=command.run_at,
            idempotency_key=command.idempotency_key,
            payload=command.payload,
            subject=command.subject,
            max_attempts=command.max_attempts,
            now=self.clock.now(),
        )

        async def work(uow: UnitOfWork) -> ScheduledJob:
            await uow.clinics.get(command.clinic_id)
            holder = await schedule_in(uow, job)
            if holder.id == job.id:
                await uow.commit()
            return ScheduledJob(holder, created=holder.id == job.id)

        return await transact(self.uow_factory, work)
