"""SQLite charges and money log (wired into :class:`SqliteUnitOfWork` as ``uow.charges`` and
``uow.transactions``).

Tables ``charges`` and ``transactions`` (migrations ``0012_charges.sql``,
``0014_gateway_charges.sql``). Charges follow :mod:`porfin_adapters.sqlite.storage` (a row
read remembers its version: two confirmations of one charge conflict). Transactions are plain
columns, inserted and never changed: triggers refuse UPDATE and DELETE, and an id logged twice
is a ``Conflict``.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite.database import Reader
from porfin_adapters.sqlite.storage import _dump, _load, _Repo, _Tracker
from porfin_core.domain.charges import Charge, ChargeStatus, Transaction, TransactionKind
from porfin_core.errors import Conflict

_CHARGE_KEYS = frozenset({"clinic_id", "customer_id", "created_micros"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = "id, clinic_id, charge_id, kind, amount_cents, at_micros, by, source, reference"


class SqliteChargeRepository(_Repo):
    """Charges of every clinic in table ``charges``."""

    async def get(self, clinic_id: str, charge_id: str) -> Charge:
        return self._scoped("charges", Charge, clinic_id, charge_id, "charge")

    async def list(
        self,
        clinic_id: str,
        *,
        customer_id: str | None = None,
        status: ChargeStatus | None = None,
    ) -> list[Charge]:
        where = ["clinic_id = ?"]
        params: list[Any] = [clinic_id]
        if customer_id is not None:
            where.append("customer_id = ?")
            params.append(customer_id)
        if status is not None:
            where.append("status = ?")
            params.append(status.value)
        rows = self._conn.execute(
            f"SELECT id, version, doc FROM charges WHERE {' AND '.join(where)}"
            " ORDER BY created_micros DESC, id DESC",
            tuple(params),
        ).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("charges", row_id, version)
        return [_load(doc, Charge) for _, _, doc in rows]

    async def find_by_provider_charge(
        self, clinic_id: str, provider: str, provider_charge_id: str
    ) -> Charge | None:
        row = self._conn.execute(
            "SELECT id FROM charges WHERE clinic_id = ? AND provider_ref = ?",
            (clinic_id, f"{provider}:{provider_charge_id}"),
        ).fetchone()
        return None if row is None else await self.get(clinic_id, row[0])

    async def save(self, charge: Charge) -> None:
        self._tracker.upsert(
            "charges",
            charge.id,
            {
                "id": charge.id,
                "clinic_id": charge.clinic_id,
                "customer_id": charge.customer_id,
                "status": charge.status.value,
                "created_micros": utc_micros(charge.created_at),
                "provider_ref": None
                if charge.provider_charge_id is None
                else f"{charge.provider}:{charge.provider_charge_id}",
                "doc": _dump(charge),
            },
            immutable=_CHARGE_KEYS,
        )


class SqliteTransactionLog(_Repo):
    """The money log in table ``transactions``: insert only."""

    def __init__(self, conn: Reader, tracker: _Tracker) -> None:
        super().__init__(conn, tracker)
        self._appended: set[str] = set()

    async def append(self, transaction: Transaction) -> None:
        params = (
            transaction.id,
            transaction.clinic_id,
            transaction.charge_id,
            transaction.kind.value,
            transaction.amount_cents,
            utc_micros(transaction.at),
            transaction.by,
            transaction.source,
            transaction.reference,
        )

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(f"INSERT INTO transactions ({_COLUMNS}) VALUES ({_marks()})", params)
            except sqlite3.IntegrityError as exc:
                raise Conflict("transaction already logged", id=transaction.id) from exc

        logged = self._conn.execute("SELECT 1 FROM transactions WHERE id = ?", (transaction.id,))
        if transaction.id in self._appended or logged.fetchone() is not None:
            raise Conflict("transaction already logged", id=transaction.id)
        self._appended.add(transaction.id)
        self._tracker.writes.append(insert)

    async def for_charge(self, clinic_id: str, charge_id: str) -> list[Transaction]:
        rows = self._conn.execute(
            f"SELECT {_COLUMNS} FROM transactions WHERE clinic_id = ? AND charge_id = ?"
            " ORDER BY at_micros, id",
            (clinic_id, charge_id),
        ).fetchall()
        return [_transaction(row) for row in rows]


def _marks() -> str:
    return ", ".join("?" * len(_COLUMNS.split(", ")))


def _transaction(row: tuple[Any, ...]) -> Transaction:
    row_id, clinic_id, charge_id, kind, amount, at_micros, by, source, reference = row
    return Transaction(
        id=row_id,
        clinic_id=clinic_id,
        charge_id=charge_id,
        kind=TransactionKind(kind),
        amount_cents=amount,
        at=_EPOCH + timedelta(microseconds=at_micros),
        by=by,
        source=source,
        reference=reference,
    )
