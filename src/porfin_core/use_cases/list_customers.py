"""List and search the clinic's customers."""

from __future__ import annotations

import attrs

from porfin_core.domain.customer import Customer, normalize_tag
from porfin_core.pagination import Page, check_limit
from porfin_core.ports.storage import CustomerQuery, UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListCustomers:
    """Customers of a clinic, newest first, filtered by funnel stage and tag and searched by
    name or phone (see :class:`~porfin_core.ports.storage.CustomerQuery`).

    Every staff role sees every customer of the clinic (the conversations stay scoped by
    chat access). The list is not recorded in the audit log, like the inbox: opening a
    customer's profile is.
    """

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: CustomerQuery) -> Page[Customer]:
        """Return one page of customers.

        Raises:
            ValidationError: bad page size, cursor or tag.
        """
        check_limit(query.limit)
        if query.tag is not None:
            query = attrs.evolve(query, tag=normalize_tag(query.tag))
        if query.search is not None and not query.search.strip():
            query = attrs.evolve(query, search=None)
        async with self.uow_factory(read_only=True) as uow:
            return await uow.customers.list(query)
