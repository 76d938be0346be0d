"""Helpers the use cases share to write the audit trail (see ``porfin_core.domain.audit``).

A write appends its record in its own unit of work (``uow.audit.append``), so the change and
its record commit together. A read appends in a unit of work of its own, after the read
succeeded and before the data is returned: if the record cannot be written, the caller gets
the storage error, not the data (nothing is disclosed without a trace).
"""

from __future__ import annotations

from porfin_core.domain.audit import SYSTEM_ACTOR, Actor, AuditEntry
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


def actor_of(actor: Actor | None, user_id: str | None = None) -> Actor:
    """Who acts: ``actor`` when the caller said so; else the staff user ``user_id`` (commands
    that only carried an id), else Porfin itself."""
    if actor is not None:
        return actor
    if user_id is not None:
        return Actor.user(user_id)
    return SYSTEM_ACTOR


async def record_read(uow_factory: UnitOfWorkFactory, entry: AuditEntry) -> None:
    """Append the record of a read in a unit of work of its own.

    Raises:
        StorageUnavailable: the record could not be written.
        TransactionConflict: still conflicting after every retry.
    """

    async def work(uow: UnitOfWork) -> None:
        await uow.audit.append(entry)
        await uow.commit()

    await transact(uow_factory, work)
