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


def test_upgrading_to_0017_finds_the_chats_already_waiting_for_a_person(tmp_path):
    from datetime import UTC, datetime, timedelta

    import attrs
    import msgspec

    from porfin_adapters.serialization import utc_micros
    from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
    from porfin_core.domain.message import Author
    from tests import builders

    path = str(tmp_path / "porfin.db")
    assert migrate(path, target=16) == 16
    start = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

    def at(minutes):
        return start + timedelta(minutes=minutes)

    timelines = {
        # human: the AI answered, the patient wrote again, the AI's handoff note came last
        "handed": (ChatMode.HUMAN, ChatStatus.OPEN, ["patient", "ai", "patient", "ai"]),
        "answered": (ChatMode.HUMAN, ChatStatus.OPEN, ["patient", "staff"]),
        "ai": (ChatMode.AI, ChatStatus.OPEN, ["patient", "ai", "patient"]),
        "closed": (ChatMode.HUMAN, ChatStatus.CLOSED, ["patient"]),
    }
    with sqlite3.connect(path) as conn:
        for chat_id, (mode, status, authors) in timelines.items():
            chat = attrs.evolve(builders.chat(start, chat_id=chat_id), mode=mode, status=status)
            conn.execute(
                "INSERT INTO chats (id, clinic_id, customer_id, channel_id, mode, status,"
                " unread_count, last_micros, name_folded, phone_digits, doc)"
                " VALUES (?, 'clinic1', ?, 'chan1', ?, ?, 0, 0, '', '', ?)",
                (chat_id, chat_id, mode.value, status.value, msgspec.json.encode(chat)),
            )
            for n, author in enumerate(authors):
                message_id = f"{chat_id}-{n}"
                if author == "patient":
                    message = builders.message(at(n), message_id, chat_id=chat_id)
                else:
                    message = builders.staff_message(
                        at(n), message_id, chat_id=chat_id, author=Author(author)
                    )
                conn.execute(
                    "INSERT INTO messages (id, clinic_id, chat_id, channel_id, created_micros,"
                    " body, doc) VALUES (?, 'clinic1', ?, 'chan1', ?, '', ?)",
                    (message_id, chat_id, utc_micros(at(n)), msgspec.json.encode(message)),
                )
    assert migrate(path) >= 17
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT id, waiting_micros, json_extract(doc, '$.unanswered_since'),"
            " json_extract(doc, '$.waiting_since') FROM chats ORDER BY id"
        ).fetchall()
    found = {row[0]: row[1:] for row in rows}
    assert found["handed"][0] == utc_micros(at(2))
    assert found["handed"][1] == found["handed"][2] is not None
    assert found["answered"] == (None, None, None)
    assert found["ai"][0] is None and found["ai"][1] is not None and found["ai"][2] is None
    assert found["closed"] == (None, None, None)
    with sqlite3.connect(path) as conn:
        (doc,) = conn.execute("SELECT doc FROM chats WHERE id = 'handed'").fetchone()
    chat = msgspec.json.decode(doc, type=Chat)
    assert chat.waiting_since == chat.unanswered_since == at(2)
