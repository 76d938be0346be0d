"""The checkpointer copies the WAL into the database file and, once the WAL has grown, finishes
the copy during a write turn so that the next write starts the WAL over."""

from __future__ import annotations

import asyncio
import fcntl
import os

import pytest

from porfin_adapters.sqlite import database
from porfin_adapters.sqlite.database import SqliteDatabase


def _insert(value: str):
    def write(conn) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS pages (value BLOB NOT NULL)")
        conn.execute("INSERT INTO pages (value) VALUES (?)", (value,))

    return write


def _wal_frames(path) -> int:
    """Frames in the WAL since it last started over (a PASSIVE checkpoint reports them)."""
    conn = database._connect(str(path))
    try:
        return int(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1])
    finally:
        conn.close()


@pytest.fixture
async def grown(tmp_path, monkeypatch):
    """An open database whose WAL holds more frames than the restart threshold, with the
    checkpointer's connection and write-turn file."""
    monkeypatch.setattr(database, "RESTART_WAL_FRAMES", 20)
    path = tmp_path / "porfin.db"
    db = SqliteDatabase(path)
    await db.open()
    for _ in range(40):
        await db.apply([_insert(os.urandom(3000).hex())])  # two pages a row
    conn = database._connect(str(path))
    turn = open(f"{path}.write-lock", "a+b")  # noqa: SIM115, ASYNC230 - closed below
    try:
        yield db, path, conn, turn
    finally:
        turn.close()
        conn.close()
        await db.close()


async def test_a_grown_wal_starts_over_at_the_next_write(grown):
    db, path, conn, turn = grown
    assert _wal_frames(path) > 20

    database._checkpoint(conn, turn)
    await db.apply([_insert("after the checkpoint")])

    # Only the last write's frames: the WAL started over instead of growing.
    assert _wal_frames(path) < 10
    count = db.reader.execute("SELECT count(*) FROM pages").fetchone()[0]
    assert count == 41


async def test_the_second_pass_waits_for_the_write_turn(grown):
    _, path, conn, turn = grown
    with open(f"{path}.write-lock", "a+b") as writer:  # noqa: ASYNC230 - a local file
        fcntl.flock(writer, fcntl.LOCK_EX)  # a writer's turn, as another process holds it
        checkpoint = asyncio.create_task(asyncio.to_thread(database._checkpoint, conn, turn))
        await asyncio.sleep(0.05)
        assert not checkpoint.done()
        fcntl.flock(writer, fcntl.LOCK_UN)
        await asyncio.wait_for(checkpoint, 5)
    # The turn is given back: a writer takes it at once.
    with open(f"{path}.write-lock", "a+b") as writer:  # noqa: ASYNC230 - a local file
        fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)


async def test_a_small_wal_is_copied_without_taking_the_turn(tmp_path):
    path = tmp_path / "porfin.db"
    db = SqliteDatabase(path)
    await db.open()
    conn = database._connect(str(path))
    try:
        await db.apply([_insert("one row")])
        with open(f"{path}.write-lock", "a+b") as writer, open(f"{path}.write-lock", "a+b") as turn:  # noqa: ASYNC230
            fcntl.flock(writer, fcntl.LOCK_EX)
            await asyncio.wait_for(asyncio.to_thread(database._checkpoint, conn, turn), 5)
            fcntl.flock(writer, fcntl.LOCK_UN)
        assert conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
    finally:
        conn.close()
        await db.close()


async def test_a_wal_that_starts_over_keeps_its_file_up_to_the_limit(tmp_path):
    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    try:
        limit = db.writer.execute("PRAGMA journal_size_limit").fetchone()[0]
    finally:
        await db.close()
    assert limit == database.WAL_SIZE_LIMIT_BYTES == 64 * 1024 * 1024
