"""The embedded SQLite database: connections, migrations, group commit and checkpoints.

Units of work read committed data and buffer their writes (optimistic concurrency control).
``commit`` hands the buffered writes to the process's single writer task and waits: the writer
applies every unit of work that queued while the previous COMMIT ran inside one transaction
(adaptive group commit), each in its own SAVEPOINT, and acknowledges them after COMMIT, so
nothing acknowledged is lost if the process dies, at a fraction of the cost of one COMMIT per
request. (With ``synchronous=NORMAL`` in WAL mode the WAL is fsynced at checkpoints, not at
every COMMIT: an operating-system crash or power loss may lose the last commits; webhook
providers redeliver what was not acknowledged.) SQLite's write lock is held only while SQL
runs, never while Python decides, so several API processes share the database well.

Reads and writes share one connection. SQLite keeps a connection's page cache across its own
commits but empties it whenever another connection has committed: a separate reader connection
would read its pages again after every commit of its own process (each lookup cost 14-38 µs
instead of 4-12 on the ingest path). Sharing is safe because a write transaction never spans
an ``await``: BEGIN, the batch and COMMIT run within one step of the event loop, so no read
ever sees uncommitted writes.

A unit of work whose reads went stale (a version changed, a row it saw missing now exists)
fails with ``TransactionConflict`` and is retried from the start by the use case; one whose
writes break a uniqueness rule fails with ``Conflict``. A failed COMMIT fails its batch.

The writer turns WAL auto-checkpointing off; a background task checkpoints from a separate
connection in a thread, so no request pays for a checkpoint inside its COMMIT, and makes the WAL
start over once it has grown (see :func:`_checkpoint`).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import sqlite3
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import IO, Any

import structlog

from porfin_adapters.customer_search import customer_keys_of_document
from porfin_adapters.text import phrase_prefix_match
from porfin_core.errors import Conflict, PorfinError, StorageUnavailable

log = structlog.get_logger(__name__)

Write = Callable[[sqlite3.Connection], None]
"""One buffered write: runs on the writer connection inside the unit of work's SAVEPOINT and
raises a PorfinError (or lets a sqlite3 error escape) to undo the whole unit of work."""

CHECKPOINT_EVERY_SECONDS = 0.25
CHECKPOINT_TAKEOVER_SECONDS = 5.0
"""How often a process not running the checkpoints tries to take them over."""
RESTART_WAL_FRAMES = 2048
"""Past this many frames (8 MiB of 4 KiB pages) the checkpointer makes the WAL start over."""
CATCH_UP_FRAMES = 256
"""Once a pass outside the write turn finds fewer new frames than this, the rest is copied
during the turn."""
WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024
"""A WAL that starts over is truncated to this size: below it, its file is written over in
place rather than grown again from nothing."""
BEGIN_TIMEOUT_SECONDS = 10.0
INDEX_EVERY_SECONDS = 0.1
"""The writer adds new messages to the full-text index at most this often, inside one of its
commits (or a commit of its own once the writes stop): one large insert into the index costs
much less than many small ones. Searches read the messages not indexed yet directly
(``phrase_prefix_match``), so they never miss one."""


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache per connection
    # No memory map: SQLite unmaps it whenever another connection has committed, and the next
    # read maps it again and faults its pages back in. With two API processes writing in turn,
    # a lookup after the other's commit cost 30-35 µs mapped and 10-15 µs through the page
    # cache (4-6 µs either way when nothing changed).
    conn.execute("PRAGMA mmap_size=0")
    # Savepoints' statement journals and sorts in memory, not in short-lived temporary files.
    conn.execute("PRAGMA temp_store=MEMORY")
    conn.create_function("porfin_phrase_match", 2, _phrase_match, deterministic=True)
    return conn


def _phrase_match(text: str | None, term: str) -> bool:
    return text is not None and phrase_prefix_match(text, term)


def _migrations() -> list[tuple[int, str]]:
    folder = resources.files("porfin_adapters.sqlite") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _use_wal(conn: sqlite3.Connection, attempts: int = 200) -> None:
    """Switch to WAL. Processes starting together on a new file race for the switch, and SQLite
    answers "locked" to the losers at once, without waiting in the busy handler: retry."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.01)


def migrate(path: str, target: int | None = None) -> int:
    """Create or upgrade the schema at ``path`` (up to ``target``, default: the latest);
    returns the schema version.

    Each migration runs in its own transaction and bumps ``PRAGMA user_version``, so an
    interrupted upgrade leaves the database at the last complete version.
    """
    conn = _connect(path)
    try:
        _register_migration_functions(conn)
        _use_wal(conn)
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        for number, script in _migrations():
            if number <= version:
                continue
            if target is not None and number > target:
                break
            conn.execute("BEGIN IMMEDIATE")
            # Another process may have migrated while this one waited for the lock.
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if number <= version:
                conn.execute("COMMIT")
                continue
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


def _register_migration_functions(conn: sqlite3.Connection) -> None:
    """SQL functions migrations may call to fill new columns and tables from the stored
    documents with the rules the repositories apply (Python's, e.g. folding of names).

    ``porfin_customer_keys(doc)``: the search keys of a customer document, as a JSON array
    (:func:`porfin_adapters.customer_search.customer_keys`).
    """

    def customer_keys(doc: str) -> str:
        return json.dumps(customer_keys_of_document(json.loads(doc)))

    conn.create_function("porfin_customer_keys", 1, customer_keys, deterministic=True)


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
    """The database file with its connection and checkpoint connection.

    Call :meth:`open` before use and :meth:`close` at shutdown (both idempotent).
    """

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._writer: sqlite3.Connection | None = None
        self._queue: asyncio.Queue[tuple[list[Write], asyncio.Future[None]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._checkpoint_lock: IO[bytes] | None = None
        self._write_turn: IO[bytes] | None = None
        self._index_due = 0.0
        self._index_timer: asyncio.TimerHandle | None = None

    async def open(self) -> None:
        """Migrate, connect and start the committer and checkpointer."""
        if self._writer is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(migrate, self.path)
        self._writer = _connect(self.path)
        self._writer.execute("PRAGMA wal_autocheckpoint=0")
        self._writer.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT_BYTES}")
        # The writer never sleeps inside SQLite's busy handler (which would block the event
        # loop in steps of whole milliseconds): ``_begin`` retries on the loop instead.
        self._writer.execute("PRAGMA busy_timeout=0")
        if self.path != ":memory:":
            # Held for the process life; flock on it decides which process writes next.
            self._write_turn = _open_lock_file(self.path + ".write-lock")
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="sqlite-writer"),
            asyncio.create_task(self._checkpointer(), name="sqlite-checkpointer"),
        ]

    async def close(self) -> None:
        """Finish the queued writes, stop the background tasks and close the connections."""
        if self._writer is None:
            return
        await self._queue.join()
        if self._index_timer is not None:
            self._index_timer.cancel()
            self._index_timer = None
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await asyncio.to_thread(self._final_checkpoint)
        self._writer.close()
        if self._write_turn is not None:
            self._write_turn.close()
            self._write_turn = None
        if self._checkpoint_lock is not None:
            self._checkpoint_lock.close()
            self._checkpoint_lock = None
        self._writer = None

    @property
    def writer(self) -> sqlite3.Connection:
        """The connection; only the writer task writes on it."""
        if self._writer is None:
            raise StorageUnavailable("database is not open")
        return self._writer

    @property
    def reader(self) -> Reader:
        """The connection for reads, which see committed data only; its errors are Porfin
        errors."""
        return Reader(self.writer)

    async def apply(self, writes: list[Write]) -> None:
        """Apply one unit of work's writes atomically and durably; return after COMMIT.

        Raises:
            TransactionConflict: a read of the unit of work is stale; retry it.
            Conflict: a write breaks a uniqueness rule.
            StorageUnavailable: the database failed or stayed locked.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((writes, future))
        await future

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._commit_batch(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _commit_batch(self, batch: list[tuple[list[Write], asyncio.Future[None]]]) -> None:
        await self._take_write_turn()
        try:
            await self._commit_batch_in_turn(batch)
        finally:
            self._give_write_turn()

    async def _take_write_turn(self) -> None:
        """Wait for this process's turn to write among the Porfin processes on this file.

        SQLite's own lock is polled (``_begin``), and a poller whose event loop is busy
        serving requests wakes late: the other API worker would take the lock again and
        again while this one's commits wait tens of milliseconds. An flock is handed over by
        the kernel as soon as it is released, so the workers take turns. Other programs (the
        ``sqlite3`` shell) still only meet SQLite's lock, which ``_begin`` waits for.

        While the turn is another's, a thread waits for it to be free, and the event loop takes
        it when it runs again: a thread holding it would keep it while the loop finishes the
        turn it is in (under load, tens of milliseconds of requests), and the other worker
        would wait for that too. If the other one has taken it again meanwhile, the wait
        starts over.
        """
        if self._write_turn is None:
            return
        while True:
            try:
                fcntl.flock(self._write_turn, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                await asyncio.to_thread(_wait_until_free, self._write_turn)

    def _give_write_turn(self) -> None:
        if self._write_turn is not None:
            fcntl.flock(self._write_turn, fcntl.LOCK_UN)

    async def _commit_batch_in_turn(
        self, batch: list[tuple[list[Write], asyncio.Future[None]]]
    ) -> None:
        try:
            await self._begin()
        except StorageUnavailable as exc:
            _fail(batch, exc)
            return
        applied = [future for writes, future in batch if self._apply_one(writes, future)]
        loop = asyncio.get_running_loop()
        indexed = loop.time() >= self._index_due
        try:
            if indexed:
                _index_new_messages(self.writer)
            self.writer.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self.writer.execute("ROLLBACK")
            _fail([([], f) for f in applied], StorageUnavailable(f"commit failed: {exc}"))
            return
        if indexed:
            self._index_due = loop.time() + INDEX_EVERY_SECONDS
        elif self._index_timer is None:
            # Index what this commit added even if no other write comes: an empty unit of
            # work at the due time runs a commit that only indexes.
            self._index_timer = loop.call_at(self._index_due, self._index_later)
        for future in applied:
            if not future.done():
                future.set_result(None)

    def _index_later(self) -> None:
        self._index_timer = None
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.add_done_callback(_ignore_failure)  # a failed pass: the next commit indexes
        self._queue.put_nowait(([], done))

    def _apply_one(self, writes: list[Write], future: asyncio.Future[None]) -> bool:
        conn = self.writer
        conn.execute("SAVEPOINT uow")
        try:
            for write in writes:
                write(conn)
        except (PorfinError, sqlite3.Error) as exc:
            conn.execute("ROLLBACK TO SAVEPOINT uow")
            conn.execute("RELEASE SAVEPOINT uow")
            if isinstance(exc, sqlite3.IntegrityError):
                exc = Conflict(f"uniqueness rule broken: {exc}")
            elif isinstance(exc, sqlite3.Error):
                exc = StorageUnavailable(f"write failed: {exc}")
            if not future.done():
                future.set_exception(exc)
            return False
        conn.execute("RELEASE SAVEPOINT uow")
        return True

    async def _begin(self) -> None:
        """Take SQLite's write lock, retrying with short asynchronous pauses while another
        process (a second API worker, the CLI) holds it, for at most ``BEGIN_TIMEOUT``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + BEGIN_TIMEOUT_SECONDS
        pause = 0.0001
        while True:
            try:
                self.writer.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise StorageUnavailable(f"cannot start a transaction: {exc}") from exc
                if loop.time() >= deadline:
                    raise StorageUnavailable("the database stayed locked") from exc
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.0005)

    async def _checkpointer(self) -> None:
        """Copy the WAL back into the database file every ``CHECKPOINT_EVERY_SECONDS``, off
        the event loop, and make it start over once it has grown (:func:`_checkpoint`).

        One process at a time does it (a lock file; the others take over if it stops).
        """
        while self._checkpoint_lock is None:
            await asyncio.sleep(CHECKPOINT_TAKEOVER_SECONDS)
            self._checkpoint_lock = _take_checkpoint_lock(self.path)
        conn = _connect(self.path)
        turn = _open_lock_file(self.path + ".write-lock")
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_EVERY_SECONDS)
                try:
                    await asyncio.to_thread(_checkpoint, conn, turn)
                except (OSError, sqlite3.Error) as exc:  # the next round retries
                    log.debug("sqlite.checkpoint_skipped", error=str(exc))
        finally:
            conn.close()
            turn.close()

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


def _wait_until_free(turn: IO[bytes]) -> None:
    """Block until the write turn is free (taking it for an instant), then leave it free."""
    fcntl.flock(turn, fcntl.LOCK_EX)
    fcntl.flock(turn, fcntl.LOCK_UN)


def _ignore_failure(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


def _index_new_messages(conn: sqlite3.Connection) -> None:
    """Add the messages written since the last batch to the full-text index."""
    last = conn.execute("SELECT last_rowid FROM search_state").fetchone()[0]
    newest = conn.execute("SELECT MAX(rowid) FROM messages").fetchone()[0]
    if newest is None or newest <= last:
        return
    conn.execute(
        "INSERT INTO messages_fts (rowid, body, chat_id, clinic_id)"
        " SELECT rowid, body, chat_id, clinic_id FROM messages"
        " WHERE rowid > ? AND body IS NOT NULL",
        (last,),
    )
    conn.execute("UPDATE search_state SET last_rowid = ?", (newest,))


class Reader:
    """The connection for reads, translating SQLite's errors into ``StorageUnavailable``."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        """Run one statement."""
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"read failed: {exc}") from exc


def _fail(batch: list[tuple[list[Write], asyncio.Future[None]]], error: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)


def _open_lock_file(path: str) -> IO[bytes]:
    """A lock file, created if missing, held open by the caller."""
    return open(path, "a+b")  # the caller holds it for the process life


def _take_checkpoint_lock(path: str) -> IO[bytes] | None:
    if path == ":memory:":
        return None
    handle = open(path + ".checkpoint-lock", "a+b")  # noqa: SIM115 - held for the process life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _checkpoint(conn: sqlite3.Connection, turn: IO[bytes]) -> None:
    """Copy the WAL's frames into the database file; once the WAL holds more than
    ``RESTART_WAL_FRAMES``, finish the copy during a write turn, so that the next write starts
    the WAL over.

    A PASSIVE checkpoint never blocks the writers, but under a steady load they append frames
    while it copies, so it never catches up and the WAL only grows (to a gigabyte within a
    minute of the ingest bench): every write then extends the file, and every read looks its
    pages up in a longer WAL. SQLite starts the WAL over only when a write begins with every
    frame copied. So, past ``RESTART_WAL_FRAMES``, up to three more passes catch up with what
    the writers added meanwhile, and the last one runs holding the write turn
    (``porfin.db.write-lock``, which Porfin's writers take before each commit): no frame
    arrives while it copies the last few and syncs (3 ms at the median under the ingest
    bench's load, 8 ms at p90).
    """
    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    if frames <= RESTART_WAL_FRAMES:
        return
    for _ in range(3):
        # Catch up with what the writers added meanwhile, still without stopping them.
        _, latest, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if latest - frames <= CATCH_UP_FRAMES:
            break
        frames = latest
    fcntl.flock(turn, fcntl.LOCK_EX)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    finally:
        fcntl.flock(turn, fcntl.LOCK_UN)
