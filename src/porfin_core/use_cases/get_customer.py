"""Read a customer's profile (an audited read: ``customer.read``)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.customer import Customer
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read
from porfin_core.use_cases._customers import current_customer


@attrs.define(kw_only=True)
class GetCustomer:
    """A customer of the caller's clinic; the read is recorded in the audit log."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(
        self, clinic_id: str, customer_id: str, *, actor: Actor | None = None
    ) -> Customer:
        """Return the customer.

        ``actor`` is who reads and from where, for the audit record (default: Porfin
        itself).

        Raises:
            NotFound: no such customer in the clinic, or it was merged into another (the
                error's ``merged_into`` names it).
            StorageUnavailable: the read could not be recorded; the customer is not returned.
        """
        async with self.uow_factory(read_only=True) as uow:
            customer = await current_customer(uow, clinic_id, customer_id)
        entry = AuditEntry.of(
            actor_of(actor),
            clinic_id=clinic_id,
            at=self.clock.now(),
            action=AuditAction.CUSTOMER_READ,
            resource_type="customer",
            resource_id=customer.id,
        )
        await record_read(self.uow_factory, entry)
        return customer
