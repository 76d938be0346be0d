"""Cancel the jobs of one subject (an appointment's reminders, a campaign's sends)."""

from __future__ import annotations

import attrs

from porfin_core.domain.jobs import Job
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._jobs import cancel_in
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class CancelJobs:
    """Cancel every active job of a clinic about one subject, in a transaction of its own.

    Use cases whose change makes the jobs pointless cancel them in their own unit of work
    instead (:func:`porfin_core.use_cases._jobs.cancel_in`).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, clinic_id: str, subject: str) -> list[Job]:
        """The jobs cancelled (none when the subject has no active job).

        Raises:
            StorageUnavailable: the store failed.
        """

        async def work(uow: UnitOfWork) -> list[Job]:
            cancelled = await cancel_in(uow, clinic_id, subject, self.clock.now())
            if cancelled:
                await uow.commit()
            return cancelled

        return await transact(self.uow_factory, work)
