"""The SQLite customer list: filter columns, search keys and the query over them.

Used by :class:`porfin_adapters.sqlite.storage.SqliteCustomerRepository`; the schema is
migration ``0006_customer_search.sql``: a ``stage`` column with indexes for the newest-first
list, and the ``customer_keys`` table (``n:`` name words, ``p:`` phone digit suffixes, ``t:``
tags, see :mod:`porfin_adapters.customer_search`).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from porfin_adapters.customer_search import NAME, PHONE, TAG, CustomerSearch, customer_keys
from porfin_adapters.sqlite.database import Write
from porfin_core.domain.customer import Customer
from porfin_core.ports.storage import CustomerQuery

_IN_KEYS = "SELECT customer_id FROM customer_keys WHERE clinic_id = ?"


def index_keys(customer: Customer) -> Write:
    """A write that brings the customer's ``customer_keys`` in step with ``customer``,
    touching only the keys that changed (most saves change none); a merged customer has
    none (nothing finds it)."""
    wanted: set[str] = set()
    if customer.merged_into is None:
        wanted = set(customer_keys(customer.name, customer.phone, customer.tags))
    clinic_id, customer_id = customer.clinic_id, customer.id

    def write(conn: sqlite3.Connection) -> None:
        stored = {
            key
            for (key,) in conn.execute(
                "SELECT key FROM customer_keys WHERE customer_id = ?", (customer_id,)
            )
        }
        conn.executemany(
            "DELETE FROM customer_keys WHERE clinic_id = ? AND key = ? AND customer_id = ?",
            [(clinic_id, key, customer_id) for key in stored - wanted],
        )
        conn.executemany(
            "INSERT INTO customer_keys (clinic_id, key, customer_id) VALUES (?, ?, ?)",
            [(clinic_id, key, customer_id) for key in wanted - stored],
        )

    return write


def _prefix(key: str) -> tuple[str, str]:
    """The key range ``[key, bound)`` holding every key that starts with ``key``."""
    return key, key[:-1] + chr(ord(key[-1]) + 1)


def matching_customers(clinic_id: str, search: CustomerSearch) -> tuple[str, list[Any]]:
    """A ``SELECT customer_id`` of the clinic's customers ``search`` finds, and its parameters
    (``search`` must not be empty)."""
    # Name: every word begins a word of the name (one range scan per word, intersected);
    # phone: any digit form begins a suffix of the number. INTERSECT and UNION bind from left
    # to right, so the name's intersection comes first.
    ranges = f"{_IN_KEYS} AND key >= ? AND key < ?"
    selects: list[str] = []
    params: list[Any] = []
    for word in search.words:
        selects.append(ranges if not selects else f"INTERSECT {ranges}")
        params += [clinic_id, *_prefix(NAME + word)]
    for number in search.numbers:
        selects.append(ranges if not selects else f"UNION {ranges}")
        params += [clinic_id, *_prefix(PHONE + number)]
    return " ".join(selects), params


def customer_filters(query: CustomerQuery) -> tuple[list[str], list[Any]] | None:
    """``WHERE`` conditions and parameters on ``customers`` for ``query``; None when the
    search term can match nothing."""
    where = ["clinic_id = ?", "merged_into IS NULL"]
    params: list[Any] = [query.clinic_id]
    if query.stage is not None:
        where.append("stage = ?")
        params.append(query.stage.value)
    if query.tag is not None:
        where.append(f"id IN ({_IN_KEYS} AND key = ?)")
        params += [query.clinic_id, TAG + query.tag]
    if query.search:
        search = CustomerSearch.of(query.search)
        if search.empty:
            return None
        sql, more = matching_customers(query.clinic_id, search)
        where.append(f"id IN ({sql})")
        params += more
    return where, params
