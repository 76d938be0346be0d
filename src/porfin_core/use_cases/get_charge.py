"""Read one charge with its money movements."""

from __future__ import annotations

import attrs

from porfin_core.domain.charges import Charge, Transaction
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.frozen
class ChargeDetails:
    """A charge and its transactions, oldest first."""

    charge: Charge
    transactions: list[Transaction]


@attrs.define(kw_only=True)
class GetCharge:
    """Read a charge of the clinic and its transaction log."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, charge_id: str) -> ChargeDetails:
        """The charge and its transactions.

        Raises:
            NotFound: no such charge in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            charge = await uow.charges.get(clinic_id, charge_id)
            return ChargeDetails(charge, await uow.transactions.for_charge(clinic_id, charge_id))
