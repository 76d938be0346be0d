"""The charges' contract: every storage adapter keeps charges alike, lists them by customer
and status newest first, and keeps the money log append-only."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.sqlite.storage import SqliteUnitOfWorkFactory
from porfin_core.domain.charges import Charge, ChargeStatus, Transaction, TransactionKind
from porfin_core.errors import Conflict, NotFound


def _charge(at, charge_id: str, *, clinic_id: str = "clinic1", customer_id: str = "cust1"):
    charge = Charge.issue(
        id=charge_id,
        clinic_id=clinic_id,
        customer_id=customer_id,
        amount_cents=15000,
        description="Sinal da consulta",
        now=at,
        by="u1",
        expires_at=at + timedelta(days=3),
        appointment_id="a1",
    )
    charge.attach_pix("000201...6304ABCD", charge_id.replace("-", ""))
    charge.pull_events()
    return charge


def _payment(at, tx_id: str, charge_id: str = "ch-1", clinic_id: str = "clinic1"):
    return Transaction(
        id=tx_id,
        clinic_id=clinic_id,
        charge_id=charge_id,
        kind=TransactionKind.PAYMENT,
        amount_cents=5000,
        at=at,
        by="u1",
        source="staff",
        reference="E123",
    )


async def _save(backend, *charges: Charge) -> None:
    async with backend.uow_factory() as uow:
        for charge in charges:
            await uow.charges.save(charge)
        await uow.commit()


async def test_a_charge_round_trips_and_belongs_to_its_clinic(backend, clock):
    now = clock.now()
    charge = _charge(now, "ch-1")
    charge.mark_paid(5000, "u1", now)
    await _save(backend, charge)
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.charges.get("clinic1", "ch-1")
        with pytest.raises(NotFound):
            await uow.charges.get("clinic2", "ch-1")
        with pytest.raises(NotFound):
            await uow.charges.get("clinic1", "nope")
    assert stored == charge
    assert stored.history == charge.history and stored.expires_at == charge.expires_at


async def test_charges_are_listed_newest_first_by_customer_and_status(backend, clock):
    now = clock.now()
    old = _charge(now, "ch-1")
    mine = _charge(now + timedelta(minutes=1), "ch-2")
    theirs = _charge(now + timedelta(minutes=2), "ch-3", customer_id="cust2")
    foreign = _charge(now, "ch-4", clinic_id="clinic2")
    await _save(backend, old, mine, theirs, foreign)
    paid = _charge(now, "ch-1")
    paid.mark_paid(None, "u1", now)
    await _save(backend, paid)
    async with backend.uow_factory(read_only=True) as uow:
        every = await uow.charges.list("clinic1")
        of_cust1 = await uow.charges.list("clinic1", customer_id="cust1")
        pending = await uow.charges.list("clinic1", status=ChargeStatus.PENDING)
        both = await uow.charges.list("clinic1", customer_id="cust1", status=ChargeStatus.PAID)
    assert [c.id for c in every] == ["ch-3", "ch-2", "ch-1"]
    assert [c.id for c in of_cust1] == ["ch-2", "ch-1"]
    assert [c.id for c in pending] == ["ch-3", "ch-2"]
    assert [c.id for c in both] == ["ch-1"]


async def test_a_charge_read_and_saved_twice_in_one_unit_of_work_keeps_the_last(backend, clock):
    now = clock.now()
    await _save(backend, _charge(now, "ch-1"))
    async with backend.uow_factory() as uow:
        charge = await uow.charges.get("clinic1", "ch-1")
        charge.mark_paid(5000, "u1", now)
        await uow.charges.save(charge)
        charge.mark_paid(None, "u1", now)
        await uow.charges.save(charge)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.charges.get("clinic1", "ch-1")
    assert (stored.status, stored.paid_cents) == (ChargeStatus.PAID, 15000)


async def test_an_uncommitted_charge_is_not_stored(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.charges.save(_charge(clock.now(), "ch-1"))
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.charges.list("clinic1") == []


async def test_transactions_are_logged_once_in_order(backend, clock):
    now = clock.now()
    later = _payment(now + timedelta(minutes=5), "tx-2")
    first = _payment(now, "tx-1")
    async with backend.uow_factory() as uow:
        await uow.transactions.append(later)
        await uow.transactions.append(first)
        await uow.transactions.append(_payment(now, "tx-3", charge_id="ch-2"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        logged = await uow.transactions.for_charge("clinic1", "ch-1")
        assert await uow.transactions.for_charge("clinic2", "ch-1") == []
    assert logged == [first, later]
    async with backend.uow_factory() as uow:
        with pytest.raises(Conflict):
            await uow.transactions.append(_payment(now, "tx-1"))


async def test_a_transaction_appended_twice_in_one_unit_of_work_conflicts(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.transactions.append(_payment(clock.now(), "tx-1"))
        with pytest.raises(Conflict):
            await uow.transactions.append(_payment(clock.now(), "tx-1"))


async def test_sqlite_refuses_to_change_or_erase_a_transaction(ids, clock, tmp_path):
    """The SQLite store's triggers, as for the audit log: only dropping them allows it."""
    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    try:
        async with SqliteUnitOfWorkFactory(db, ids)() as uow:
            await uow.transactions.append(_payment(clock.now(), "tx-1"))
            await uow.commit()
    finally:
        await db.close()
    with sqlite3.connect(tmp_path / "porfin.db") as conn:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("UPDATE transactions SET amount_cents = 1")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM transactions")
