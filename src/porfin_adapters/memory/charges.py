"""In-memory charges and money log (wired into :class:`MemoryUnitOfWork` as ``uow.charges``
and ``uow.transactions``).

Tables ``charges`` (documents by id) and ``transactions`` (documents by id, never replaced nor
removed: an id already logged, committed or in this unit of work, is a ``Conflict``).
"""

from __future__ import annotations

from porfin_adapters.memory.storage import _Repos
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.charges import Charge, ChargeStatus, Transaction
from porfin_core.errors import Conflict, NotFound


class MemoryChargeRepository(_Repos):
    """Charges of every clinic."""

    async def get(self, clinic_id: str, charge_id: str) -> Charge:
        doc = self._get("charges", charge_id, "charge")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("charge not found", id=charge_id)
        return from_document(doc, Charge)

    async def list(
        self,
        clinic_id: str,
        *,
        customer_id: str | None = None,
        status: ChargeStatus | None = None,
    ) -> list[Charge]:
        charges = [
            from_document(doc, Charge)
            for doc in self._table("charges").values()
            if doc["clinic_id"] == clinic_id
            and (customer_id is None or doc["customer_id"] == customer_id)
            and (status is None or doc["status"] == status.value)
        ]
        charges.sort(key=lambda c: c.id, reverse=True)
        charges.sort(key=lambda c: c.created_at, reverse=True)
        return charges

    async def find_by_provider_charge(
        self, clinic_id: str, provider: str, provider_charge_id: str
    ) -> Charge | None:
        for charge_id, doc in sorted(self._table("charges").items()):
            if (
                doc["clinic_id"] == clinic_id
                and doc["provider"] == provider
                and doc.get("provider_charge_id") == provider_charge_id
            ):
                return await self.get(clinic_id, charge_id)
        return None

    async def save(self, charge: Charge) -> None:
        self._put("charges", charge.id, to_document(charge))


class MemoryTransactionLog(_Repos):
    """The money log of every clinic: insert only."""

    async def append(self, transaction: Transaction) -> None:
        key = ("transactions", transaction.id)
        if transaction.id in self._table("transactions") or key in self._writes:
            raise Conflict("transaction already logged", id=transaction.id)
        self._put("transactions", transaction.id, to_document(transaction))

    async def for_charge(self, clinic_id: str, charge_id: str) -> list[Transaction]:
        found = [
            from_document(doc, Transaction)
            for doc in self._table("transactions").values()
            if doc["clinic_id"] == clinic_id and doc["charge_id"] == charge_id
        ]
        return sorted(found, key=lambda t: (t.at, t.id))
