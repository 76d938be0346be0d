"""Porfin processes on one SQLite file take turns to write (an flock on ``.write-lock``), so a
worker whose event loop is busy is not starved of SQLite's lock by the other one."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import time
from collections.abc import Iterator
from typing import IO

from porfin_adapters.sqlite.database import SqliteDatabase


@contextlib.contextmanager
def _turn_of_another_process(path) -> Iterator[IO[bytes]]:
    """The write turn held through a third open file description, as another process holds it;
    the caller may give it back early (``flock(handle, LOCK_UN)``)."""
    with open(f"{path}.write-lock", "a+b") as other:
        fcntl.flock(other, fcntl.LOCK_EX)
        yield other


def _insert(value: str):
    def write(conn) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS turns (value TEXT NOT NULL)")
        conn.execute("INSERT INTO turns (value) VALUES (?)", (value,))

    return write


async def test_a_writer_waits_for_the_turn_then_commits(tmp_path):
    path = tmp_path / "porfin.db"
    first, second = SqliteDatabase(path), SqliteDatabase(path)
    await first.open()
    await second.open()
    try:
        with _turn_of_another_process(path) as other:
            waiting = asyncio.create_task(second.apply([_insert("after the turn")]))
            await asyncio.sleep(0.05)
            assert not waiting.done()
            fcntl.flock(other, fcntl.LOCK_UN)
            await asyncio.wait_for(waiting, 5)
        rows = second.reader.execute("SELECT value FROM turns").fetchall()
        assert [row[0] for row in rows] == ["after the turn"]
    finally:
        await first.close()
        await second.close()


async def test_two_writers_on_one_file_lose_nothing(tmp_path):
    path = tmp_path / "porfin.db"
    first, second = SqliteDatabase(path), SqliteDatabase(path)
    await first.open()
    await second.open()
    try:
        await first.apply([_insert("seed")])
        await asyncio.gather(
            *(first.apply([_insert(f"a{i}")]) for i in range(200)),
            *(second.apply([_insert(f"b{i}")]) for i in range(200)),
        )
        count = first.reader.execute("SELECT count(*) FROM turns").fetchone()[0]
    finally:
        await first.close()
        await second.close()
    assert count == 401


async def test_statement_journals_stay_in_memory(tmp_path):
    # Every unit of work runs in a SAVEPOINT: with temporary files, SQLite would create and
    # unlink a file for its statement journal many times a second under load.
    db = SqliteDatabase(tmp_path / "porfin.db")
    await db.open()
    try:
        memory = 2
        assert db.writer.execute("PRAGMA temp_store").fetchone()[0] == memory
        assert db.reader.execute("PRAGMA temp_store").fetchone()[0] == memory
    finally:
        await db.close()


async def test_the_turn_is_not_held_while_the_event_loop_is_busy(tmp_path):
    # A thread waits for the turn to be free; only the event loop takes it, when it runs.
    path = tmp_path / "porfin.db"
    db = SqliteDatabase(path)
    await db.open()
    try:
        with _turn_of_another_process(path) as other:
            waiting = asyncio.create_task(db.apply([_insert("after the turn")]))
            await asyncio.sleep(0.05)  # the wait for the turn has started in a thread
            fcntl.flock(other, fcntl.LOCK_UN)
            time.sleep(0.1)  # noqa: ASYNC251 - the event loop busy with other work
            # The turn is free meanwhile: another process could take it.
            fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(other, fcntl.LOCK_UN)
            await asyncio.wait_for(waiting, 5)
        rows = db.reader.execute("SELECT value FROM turns").fetchall()
        assert [row[0] for row in rows] == ["after the turn"]
    finally:
        await db.close()
