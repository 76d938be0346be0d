"""Reopen the clinic: remove a closure."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ClosureRemoval:
    """Which closure to remove.

    Attributes:
        clinic_id: The clinic.
        closure_id: The closure.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    closure_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class RemoveClosure:
    """Remove a clinic closure (audit record ``closure.remove``): its time is bookable
    again."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ClosureRemoval) -> None:
        """Remove the closure.

        Raises:
            NotFound: no such closure in the clinic.
        """

        async def work(uow: UnitOfWork) -> None:
            closure = await uow.closures.get(command.clinic_id, command.closure_id)
            await uow.closures.remove(closure)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=self.clock.now(),
                    action=AuditAction.CLOSURE_REMOVE,
                    resource_type="closure",
                    resource_id=closure.id,
                    details={"start": closure.start.isoformat(), "end": closure.end.isoformat()},
                )
            )
            await uow.commit()

        await transact(self.uow_factory, work)
