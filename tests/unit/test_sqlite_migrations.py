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


def test_upgrading_to_0004_reindexes_existing_messages_with_their_chat(tmp_path):
    path = str(tmp_path / "porfin.db")
    assert migrate(path, target=3) == 3
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO messages (id, clinic_id, chat_id, channel_id, created_micros, body, doc)"
            " VALUES ('m1', 'c1', 'chat1', 'ch1', 1, 'Quero marcar uma limpeza', '{}')"
        )
        conn.execute("UPDATE search_state SET last_rowid = (SELECT MAX(rowid) FROM messages)")
    assert migrate(path) >= 4
    with sqlite3.connect(path) as conn:
        found = conn.execute(
            "SELECT chat_id, clinic_id FROM messages_fts WHERE messages_fts MATCH 'limpeza'"
        ).fetchall()
    assert found == [("chat1", "c1")]


def test_upgrading_to_0005_finds_existing_refresh_tokens_by_user(tmp_path):
    path = str(tmp_path / "porfin.db")
    assert migrate(path, target=4) == 4
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO refresh_tokens (id, family_id, token_hash, doc)"
            """ VALUES ('t1', 'f1', 'h1', '{"user_id": "u1", "clinic_id": "c1"}')"""
        )
    assert migrate(path) >= 5
    with sqlite3.connect(path) as conn:
        found = conn.execute("SELECT id FROM refresh_tokens WHERE user_id = 'u1'").fetchall()
    assert found == [("t1",)]
