"""The embedded SQLite database: connections, migrations, group commit and checkpoints.

One writer connection serves every write unit of work of the process, one at a time (SQLite
has one writer anyway). A unit of work runs inside a SAVEPOINT of a shared transaction and
its ``commit`` waits until that transaction is durably committed: concurrent units of work
that queued while the previous COMMIT ran are committed together (adaptive group commit), so
the acknowledgement still comes after the data is on disk, at a fraction of the cost of one
COMMIT per request. A failed COMMIT fails every unit of work of its batch.

The writer turns WAL auto-checkpointing off; a background task checkpoints from a separate
connection in a thread, so no request pays for a checkpoint inside its COMMIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from importlib import resources
from pathlib import Path

import structlog

from porfin_core.errors import StorageUnavailable

log = structlog.get_logger(__name__)

CHECKPOINT_EVERY_SECONDS = 1.0
BEGIN_TIMEOUT_SECONDS = 10.0


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("porfin_adapters.sqlite") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def migrate(path: str) -> int:
    """Create or upgrade the schema at ``path``; returns the schema version.

    Each migration runs in its own transaction and bumps ``PRAGMA user_version``, so an
    interrupted upgrade leaves the database at the last complete version.
    """
    conn = _connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number, script in _migrations():
            if number <= version:
                continue
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            version = number
        return version
    finally:
        conn.close()


def _split(script: str) -> list[str]:
    """Split a migration into statements (triggers contain ';' inside BEGIN...END)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements


class SqliteDatabase:
    """The database file with its writer, reader and checkpoint connections.

    Call :meth:`open` before use and :meth:`close` at shutdown (both idempotent).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.write_lock = asyncio.Lock()
        self._writer: sqlite3.Connection | None = None
        self._reader: sqlite3.Connection | None = None
        self._in_transaction = False
        self._waiting: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        """Migrate, connect and start the committer and checkpointer."""
        if self._writer is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate, self.path)
        self._writer = _connect(self.path)
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        # The writer never sleeps inside SQLite's busy handler (which would block the event
        # loop in steps of whole milliseconds): ``begin`` retries on the loop instead.
        self._writer.execute("PRAGMA busy_timeout=0")
        self._reader = _connect(self.path)
        self._tasks = [
            asyncio.create_task(self._committer(), name="sqlite-committer"),
            asyncio.create_task(self._checkpointer(), name="sqlite-checkpointer"),
        ]

    async def close(self) -> None:
        """Commit what is pending, stop the background tasks and close the connections."""
        if self._writer is None:
            return
        async with self.write_lock:
            self._commit_batch()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self._final_checkpoint)
        for conn in (self._writer, self._reader):
            if conn is not None:
                conn.close()
        self._writer = self._reader = None

    @property
    def writer(self) -> sqlite3.Connection:
        """The writer connection; only use it while holding :attr:`write_lock`."""
        if self._writer is None:
            raise StorageUnavailable("database is not open")
        return self._writer

    @property
    def reader(self) -> sqlite3.Connection:
        """A connection that sees committed data only."""
        if self._reader is None:
            raise StorageUnavailable("database is not open")
        return self._reader

    async def begin(self) -> None:
        """Start (or join) the shared write transaction; the caller holds the write lock.

        Another process (a second API worker, the CLI) may hold SQLite's write lock: retry
        with short asynchronous pauses until it is free, for at most ``BEGIN_TIMEOUT``.

        Raises:
            StorageUnavailable: the database stayed locked, or failed.
        """
        if self._in_transaction:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BEGIN_TIMEOUT_SECONDS
        pause = 0.0002
        while True:
            try:
                self.writer.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StorageUnavailable(f"cannot start a transaction: {exc}") from exc
                if loop.time() >= deadline:
                    raise StorageUnavailable("the database stayed locked") from exc
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.005)
                continue
            self._in_transaction = True
            return

    def request_commit(self) -> asyncio.Future[None]:
        """Ask for the shared transaction to be committed; the future resolves when it is."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        self._wake.set()
        return future

    async def _committer(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            # Units of work already queued on the lock run first and join this batch.
            async with self.write_lock:
                self._commit_batch()

    def _commit_batch(self) -> None:
        waiting, self._waiting = self._waiting, []
        if not self._in_transaction:
            for future in waiting:
                if not future.done():
                    future.set_result(None)
            return
        error: BaseException | None = None
        try:
            self.writer.execute("COMMIT")
        except sqlite3.Error as exc:
            error = StorageUnavailable(f"commit failed: {exc}")
            with contextlib.suppress(sqlite3.Error):
                self.writer.execute("ROLLBACK")
        self._in_transaction = False
        for future in waiting:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

    async def _checkpointer(self) -> None:
        conn = await asyncio.to_thread(_connect, self.path)
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_EVERY_SECONDS)
                try:
                    await asyncio.to_thread(
                        lambda: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    )
                except sqlite3.Error as exc:  # busy or locked: the next round will do it
                    log.debug("sqlite.checkpoint_skipped", error=str(exc))
        finally:
            conn.close()

    def _final_checkpoint(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            self.reader.execute("SELECT 1").fetchone()
        except (sqlite3.Error, StorageUnavailable):
            return False
        return True
