"""List the clinic's charges, of one patient and/or in one status."""

from __future__ import annotations

import attrs

from porfin_core.domain.charges import Charge, ChargeStatus
from porfin_core.errors import ValidationError
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.frozen(kw_only=True)
class ChargeQuery:
    """Which charges to list.

    Attributes:
        clinic_id: The clinic.
        customer_id: Only this patient's, when given.
        status: Only those in this status (``pending``, ``paid``, ``expired``,
            ``cancelled``, ``refunded``), when given.
    """

    clinic_id: str
    customer_id: str | None = None
    status: str | None = None


@attrs.define(kw_only=True)
class ListCharges:
    """List charges, newest first."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: ChargeQuery) -> list[Charge]:
        """The matching charges, newest first ([] for another clinic's customer).

        Raises:
            ValidationError: an unknown status (``status``).
        """
        status = None
        if query.status is not None:
            try:
                status = ChargeStatus(query.status)
            except ValueError:
                known = ", ".join(s.value for s in ChargeStatus)
                raise ValidationError(f"status must be one of: {known}", field="status") from None
        async with self.uow_factory(read_only=True) as uow:
            return await uow.charges.list(
                query.clinic_id, customer_id=query.customer_id, status=status
            )
