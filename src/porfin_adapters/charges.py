"""Charges wired to the event dispatcher and the job worker.

- ``charge.paid`` (whoever recorded the payment: staff, a webhook, a poll) runs
  ``ConfirmChargePayment``: the appointment's deposit, the funnel stage, the patient's
  thank-you, once;
- the ``charge.sync`` job creates a gateway's charge Porfin could not create yet, then polls
  the gateway while the charge is pending (a webhook may have been missed);
- the ``charge.expire`` job expires a charge unpaid at its expiry.

Each step is idempotent; the dispatcher and the job worker deliver at least once.
"""

from __future__ import annotations

import attrs
import structlog

from porfin_adapters.events import EventDispatcher
from porfin_adapters.jobs import JobWorker
from porfin_core.domain.events import ChargePaid, DomainEvent
from porfin_core.domain.jobs import Job
from porfin_core.errors import JobFailed, NotFound, ValidationError
from porfin_core.use_cases._charges import EXPIRE_JOB, SYNC_JOB
from porfin_core.use_cases.confirm_charge_payment import ConfirmChargePayment
from porfin_core.use_cases.expire_charge import ExpireCharge
from porfin_core.use_cases.sync_charge import ChargeSync, SyncCharge

log = structlog.get_logger(__name__)


def _charge_id(job: Job) -> str:
    value = job.payload.get("charge_id")
    if not isinstance(value, str) or not value:
        raise JobFailed(f"the {job.kind} job has no charge_id", job_id=job.id)
    return value


@attrs.define
class ChargeReactions:
    """Connects the charge use cases to events and jobs (see the module)."""

    confirm: ConfirmChargePayment
    sync: SyncCharge
    expire: ExpireCharge

    def attach(self, dispatcher: EventDispatcher, worker: JobWorker) -> None:
        """Subscribe to ``charge.paid``; handle the charge jobs."""
        dispatcher.subscribe(ChargePaid, self._confirm)
        if SYNC_JOB not in worker.kinds:
            worker.register(SYNC_JOB, self._sync)
            worker.register(EXPIRE_JOB, self._expire)

    async def _confirm(self, event: DomainEvent) -> None:
        assert isinstance(event, ChargePaid)
        await self.confirm(event.clinic_id, event.charge_id)

    async def _sync(self, job: Job) -> None:
        attempt = job.payload.get("attempt")
        try:
            charge = await self.sync(
                ChargeSync(
                    clinic_id=job.clinic_id,
                    charge_id=_charge_id(job),
                    source="poll",
                    attempt=attempt if isinstance(attempt, int) else None,
                )
            )
        except (NotFound, ValidationError) as exc:
            raise JobFailed(exc.message, job_id=job.id) from exc
        log.info("charge.synced", job_id=job.id, charge_id=charge.id, status=charge.status.value)

    async def _expire(self, job: Job) -> None:
        try:
            charge = await self.expire(job.clinic_id, _charge_id(job))
        except NotFound as exc:
            raise JobFailed(exc.message, job_id=job.id) from exc
        log.info("charge.expiry", job_id=job.id, charge_id=charge.id, status=charge.status.value)
