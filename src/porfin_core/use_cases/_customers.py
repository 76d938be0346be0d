"""What the customer use cases share: a customer merged into another is gone for them."""

from __future__ import annotations

from porfin_core.domain.customer import Customer
from porfin_core.errors import NotFound
from porfin_core.ports.storage import UnitOfWork


async def current_customer(uow: UnitOfWork, clinic_id: str, customer_id: str) -> Customer:
    """The customer, unless it was merged into another.

    Raises:
        NotFound: no such customer in the clinic, or it was merged into another (the error's
            ``merged_into`` names the customer to use instead).
    """
    customer = await uow.customers.get(clinic_id, customer_id)
    if customer.merged_into is not None:
        raise NotFound(
            "customer was merged into another", id=customer_id, merged_into=customer.merged_into
        )
    return customer
