"""The calendar's job handlers: ``calendar.push`` and ``calendar.pull`` (registered on the job
worker by ``porfin_adapters.container.start``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import structlog

from porfin_core.domain.jobs import Job
from porfin_core.errors import JobFailed
from porfin_core.use_cases._calendar import PULL_KIND, PUSH_KIND
from porfin_core.use_cases.pull_calendar_changes import PullCalendarChanges, PullRequest
from porfin_core.use_cases.push_appointment_to_calendar import (
    PushAppointmentToCalendar,
    PushRequest,
)

log = structlog.get_logger(__name__)

Handler = Callable[[Job], Awaitable[None]]


def _text(job: Job, name: str) -> str:
    value = job.payload.get(name)
    if not isinstance(value, str) or not value:
        raise JobFailed(f"the {job.kind} job has no {name}", job_id=job.id)
    return value


def calendar_job_handlers(
    push: PushAppointmentToCalendar, pull: PullCalendarChanges
) -> dict[str, Handler]:
    """The handlers by job kind."""

    async def push_appointment(job: Job) -> None:
        result = await push(
            PushRequest(
                clinic_id=job.clinic_id,
                appointment_id=_text(job, "appointment_id"),
                repair=job.payload.get("repair") is True,
            )
        )
        log.info("calendar.pushed", job_id=job.id, result=result.value)

    async def pull_changes(job: Job) -> None:
        outcome = await pull(
            PullRequest(
                clinic_id=job.clinic_id,
                professional_id=_text(job, "professional_id"),
                connection_id=_text(job, "connection_id"),
            )
        )
        log.info(
            "calendar.pulled",
            job_id=job.id,
            result=outcome.result.value,
            full=outcome.full,
            busy=outcome.busy,
            repushed=len(outcome.repushed),
            deleted=len(outcome.deleted),
            backfilled=outcome.backfilled,
        )

    return {PUSH_KIND: push_appointment, PULL_KIND: pull_changes}
