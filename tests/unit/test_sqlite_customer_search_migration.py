"""Migration 0006: customers stored before it are listed, filtered and found like new ones."""

from __future__ import annotations

import sqlite3

from porfin_adapters.sqlite.database import migrate
from porfin_adapters.sqlite.storage import _dump
from porfin_core.domain.customer import FunnelStage
from tests import builders
from tests.support import FixedClock


def test_upgrading_to_0006_indexes_existing_customers(tmp_path):
    path = str(tmp_path / "porfin.db")
    assert migrate(path, target=5) == 5
    customer = builders.customer(FixedClock().now(), name="João da Conceição")
    customer.move_to(FunnelStage.PAID)
    customer.retag(["vip"])
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO customers (id, clinic_id, created_micros, doc) VALUES (?, ?, 1, ?)",
            (customer.id, customer.clinic_id, _dump(customer)),
        )
    assert migrate(path) >= 6
    with sqlite3.connect(path) as conn:
        stage = conn.execute("SELECT stage FROM customers").fetchone()[0]
        keys = {k for (k,) in conn.execute("SELECT key FROM customer_keys")}
    assert stage == "paid"
    assert {"n:joao", "n:da", "n:conceicao", "t:vip", "p:5511987654321", "p:321"} <= keys
    assert "p:21" not in keys  # phone suffixes start at 3 digits
