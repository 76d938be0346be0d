"""The SQLite schema: created once, even by processes starting together."""

from __future__ import annotations

import concurrent.futures
import sqlite3

from porfin_adapters.sqlite.database import migrate


def test_concurrent_first_starts_migrate_the_database_once(tmp_path):
    path = str(tmp_path / "porfin.db")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        versions = list(pool.map(lambda _: migrate(path), range(4)))
    assert len(set(versions)) == 1


def test_migrating_twice_changes_nothing(tmp_path):
    path = str(tmp_path / "porfin.db")
    first = migrate(path)
    assert migrate(path) == first
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
