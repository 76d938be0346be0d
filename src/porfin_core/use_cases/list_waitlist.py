"""The waitlist: who waits for which appointment type, in line order."""

from __future__ import annotations

import attrs

from porfin_core.domain.scheduling import WaitlistEntry
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.frozen(kw_only=True)
class WaitlistFilter:
    """Which entries to list; filters combine with AND.

    Attributes:
        clinic_id: The clinic.
        type_id: Only entries for this appointment type.
        customer_id: Only this patient's entries.
        include_closed: True also lists entries booked or removed already.
    """

    clinic_id: str
    type_id: str | None = None
    customer_id: str | None = None
    include_closed: bool = False


@attrs.define(kw_only=True)
class ListWaitlist:
    """The clinic's waitlist in line order (``since``, then id): who is first offered a
    freed slot."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: WaitlistFilter) -> list[WaitlistEntry]:
        """Return the matching entries: waiting or holding an offer (every one with
        ``include_closed``)."""
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.waitlist.list(
                query.clinic_id, type_id=query.type_id, customer_id=query.customer_id
            )
        return [e for e in found if query.include_closed or e.open]
