"""Firestore charges and money log (wired into :class:`FirestoreUnitOfWork` as
``uow.charges`` and ``uow.transactions``).

Layout, under ``{root}clinics/{clinic_id}``::

    charges/{id}          the charge (+ _sort_micros: created_at); filtered by equality on
                          customer_id and/or status (merged single-field indexes), sorted here
    transactions/{id}     one money movement, written once

A transaction is read (through the Firestore transaction) before it is written: an id already
logged is a ``Conflict``, and two units of work logging one id conflict at commit like the
lookup documents of ``storage.py``. Porfin never updates nor deletes a transaction document;
the deployment's security rules should refuse both to every other client.
"""

from __future__ import annotations

from typing import Any

from google.cloud.firestore import AsyncDocumentReference, FieldFilter

from porfin_adapters.firestore.storage import _doc_id, _load, _Repo
from porfin_adapters.serialization import to_document, utc_micros
from porfin_core.domain.charges import Charge, ChargeStatus, Transaction
from porfin_core.errors import Conflict, NotFound


class FirestoreChargeRepository(_Repo):
    """Charges at ``{root}clinics/{clinic}/charges/{id}``."""

    def _ref(self, clinic_id: str, charge_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "charges").document(_doc_id(charge_id))

    async def get(self, clinic_id: str, charge_id: str) -> Charge:
        doc = await self._s.get(self._ref(clinic_id, charge_id))
        if doc is None:
            raise NotFound("charge not found", id=charge_id)
        return _load(doc, Charge)

    async def list(
        self,
        clinic_id: str,
        *,
        customer_id: str | None = None,
        status: ChargeStatus | None = None,
    ) -> list[Charge]:
        query: Any = self._s.sub(clinic_id, "charges")
        if customer_id is not None:
            query = query.where(filter=FieldFilter("customer_id", "==", customer_id))
        if status is not None:
            query = query.where(filter=FieldFilter("status", "==", status.value))
        charges = [_load(s.to_dict() or {}, Charge) for s in await self._s.query(query)]
        charges.sort(key=lambda c: c.id, reverse=True)
        charges.sort(key=lambda c: c.created_at, reverse=True)
        return charges

    async def find_by_provider_charge(
        self, clinic_id: str, provider: str, provider_charge_id: str
    ) -> Charge | None:
        query = (
            self._s.sub(clinic_id, "charges")
            .where(filter=FieldFilter("provider", "==", provider))
            .where(filter=FieldFilter("provider_charge_id", "==", provider_charge_id))
        )
        found = [_load(s.to_dict() or {}, Charge) for s in await self._s.query(query)]
        return min(found, key=lambda c: c.id) if found else None

    async def save(self, charge: Charge) -> None:
        doc = {**to_document(charge), "_sort_micros": utc_micros(charge.created_at)}
        self._s.put(self._ref(charge.clinic_id, charge.id), doc)


class FirestoreTransactionLog(_Repo):
    """The money log at ``{root}clinics/{clinic}/transactions/{id}``: insert only."""

    def _ref(self, clinic_id: str, transaction_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "transactions").document(_doc_id(transaction_id))

    async def append(self, transaction: Transaction) -> None:
        ref = self._ref(transaction.clinic_id, transaction.id)
        if self._s.buffered(ref) is not None or await self._s.get(ref) is not None:
            raise Conflict("transaction already logged", id=transaction.id)
        doc = {**to_document(transaction), "_at_micros": utc_micros(transaction.at)}
        self._s.put(ref, doc)

    async def for_charge(self, clinic_id: str, charge_id: str) -> list[Transaction]:
        query = self._s.sub(clinic_id, "transactions").where(
            filter=FieldFilter("charge_id", "==", charge_id)
        )
        found = [_load(s.to_dict() or {}, Transaction) for s in await self._s.query(query)]
        return sorted(found, key=lambda t: (t.at, t.id))
