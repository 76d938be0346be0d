"""SQLite repositories, unit of work and event outbox (the embedded default)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, TypeVar

import msgspec

from porfin_adapters.serialization import (
    event_from_document,
    event_to_document,
    from_document,
    to_document,
    utc_micros,
)
from porfin_adapters.sqlite.database import SqliteDatabase
from porfin_adapters.text import digits, fold, phone_query
from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, identity_keys
from porfin_core.domain.events import DomainEvent
from porfin_core.domain.message import Message
from porfin_core.errors import Conflict, NotFound, StorageUnavailable
from porfin_core.pagination import Page, decode_cursor, encode_cursor
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import ChatQuery, PendingStatus, StoredEvent

T = TypeVar("T")

_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _dump(entity: object) -> str:
    return _encode(to_document(entity)).decode()


def _load(raw: str | bytes, cls: type[T]) -> T:
    return from_document(_decode(raw), cls)


class _Repo:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _one(self, sql: str, params: tuple[Any, ...]) -> Any:
        return self._conn.execute(sql, params).fetchone()


class SqliteClinicRepository(_Repo):
    async def get(self, clinic_id: str) -> Clinic:
        row = self._one("SELECT doc FROM clinics WHERE id = ?", (clinic_id,))
        if row is None:
            raise NotFound("clinic not found", id=clinic_id)
        return _load(row[0], Clinic)

    async def list(self) -> list[Clinic]:
        rows = self._conn.execute("SELECT doc FROM clinics ORDER BY seq").fetchall()
        return [_load(r[0], Clinic) for r in rows]

    async def save(self, clinic: Clinic) -> None:
        self._conn.execute(
            "INSERT INTO clinics (id, seq, doc) VALUES (?, "
            "(SELECT COALESCE(MAX(seq), 0) + 1 FROM clinics), ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (clinic.id, _dump(clinic)),
        )


class SqliteChannelRepository(_Repo):
    async def get(self, channel_id: str) -> Channel:
        row = self._one("SELECT doc FROM channels WHERE id = ?", (channel_id,))
        if row is None:
            raise NotFound("channel not found", id=channel_id)
        return _load(row[0], Channel)

    async def list(self, clinic_id: str) -> list[Channel]:
        rows = self._conn.execute(
            "SELECT doc FROM channels WHERE clinic_id = ? ORDER BY created_micros, id",
            (clinic_id,),
        ).fetchall()
        return [_load(r[0], Channel) for r in rows]

    async def save(self, channel: Channel) -> None:
        self._conn.execute(
            "INSERT INTO channels (id, clinic_id, created_micros, doc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (channel.id, channel.clinic_id, utc_micros(channel.created_at), _dump(channel)),
        )


class SqliteCustomerRepository(_Repo):
    async def get(self, clinic_id: str, customer_id: str) -> Customer:
        row = self._one(
            "SELECT doc FROM customers WHERE id = ? AND clinic_id = ?", (customer_id, clinic_id)
        )
        if row is None:
            raise NotFound("customer not found", id=customer_id)
        return _load(row[0], Customer)

    async def find_by_identity(self, clinic_id: str, keys: list[str]) -> Customer | None:
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        row = self._one(
            "SELECT c.doc FROM customers c WHERE c.id IN ("
            f" SELECT customer_id FROM customer_identities WHERE clinic_id = ? AND key IN ({marks})"
            ") ORDER BY c.created_micros, c.id LIMIT 1",
            (clinic_id, *keys),
        )
        return None if row is None else _load(row[0], Customer)

    async def save(self, customer: Customer) -> None:
        keys = identity_keys(customer.identities)
        marks = ",".join("?" * len(keys))
        owner = self._one(
            "SELECT key, customer_id FROM customer_identities "
            f"WHERE clinic_id = ? AND key IN ({marks}) AND customer_id != ? LIMIT 1",
            (customer.clinic_id, *keys, customer.id),
        )
        if owner is not None:
            raise Conflict("identity belongs to another customer", identity=owner[0])
        self._conn.executemany(
            "INSERT OR IGNORE INTO customer_identities (clinic_id, key, customer_id) "
            "VALUES (?, ?, ?)",
            [(customer.clinic_id, key, customer.id) for key in keys],
        )
        self._conn.execute(
            "INSERT INTO customers (id, clinic_id, created_micros, doc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
            (customer.id, customer.clinic_id, utc_micros(customer.created_at), _dump(customer)),
        )


def _fts_phrase(term: str) -> str:
    """An FTS5 prefix query for ``term`` as a phrase (quotes escaped)."""
    return '"' + term.replace('"', '""') + '"*'


class SqliteChatRepository(_Repo):
    async def get(self, clinic_id: str, chat_id: str) -> Chat:
        row = self._one(
            "SELECT doc FROM chats WHERE id = ? AND clinic_id = ?", (chat_id, clinic_id)
        )
        if row is None:
            raise NotFound("chat not found", id=chat_id)
        return _load(row[0], Chat)

    async def find(self, clinic_id: str, customer_id: str, channel_id: str) -> Chat | None:
        row = self._one(
            "SELECT doc FROM chats WHERE clinic_id = ? AND customer_id = ? AND channel_id = ?",
            (clinic_id, customer_id, channel_id),
        )
        return None if row is None else _load(row[0], Chat)

    async def save(self, chat: Chat) -> None:
        self._conn.execute(
            "INSERT INTO chats (id, clinic_id, customer_id, channel_id, mode, status, assignee_id,"
            " unread_count, last_micros, name_folded, phone_digits, doc)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET mode = excluded.mode, status = excluded.status,"
            " assignee_id = excluded.assignee_id, unread_count = excluded.unread_count,"
            " last_micros = excluded.last_micros, name_folded = excluded.name_folded,"
            " phone_digits = excluded.phone_digits, doc = excluded.doc",
            (
                chat.id,
                chat.clinic_id,
                chat.customer_id,
                chat.channel_id,
                chat.mode.value,
                chat.status.value,
                chat.assignee_id,
                chat.unread_count,
                utc_micros(chat.last_message_at),
                fold(chat.customer_name),
                digits(chat.customer_phone or ""),
                _dump(chat),
            ),
        )

    async def list(self, query: ChatQuery) -> Page[Chat]:
        where = ["clinic_id = ?"]
        params: list[Any] = [query.clinic_id]
        if query.mode is not None:
            where.append("mode = ?")
            params.append(query.mode.value)
        if query.status is not None:
            where.append("status = ?")
            params.append(query.status.value)
        if query.assignee_id is not None:
            where.append("assignee_id = ?")
            params.append(query.assignee_id)
        if query.unassigned:
            where.append("assignee_id IS NULL")
        if query.unread:
            where.append("unread_count > 0")
        if query.search and query.search.strip():
            term = fold(query.search.strip())
            number = phone_query(query.search.strip())
            alternatives = ["instr(name_folded, ?) > 0"]
            params.append(term)
            if number:
                alternatives.append("instr(phone_digits, ?) > 0")
                params.append(number)
            alternatives.append(
                "id IN (SELECT m.chat_id FROM messages_fts f JOIN messages m ON m.rowid = f.rowid"
                " WHERE messages_fts MATCH ? AND m.clinic_id = ?)"
            )
            params += [_fts_phrase(term), query.clinic_id]
            where.append("(" + " OR ".join(alternatives) + ")")
        return _page(
            self._conn, "chats", "last_micros", where, params, query.limit, query.cursor, Chat
        )


class SqliteMessageRepository(_Repo):
    async def get(self, clinic_id: str, message_id: str) -> Message:
        row = self._one(
            "SELECT doc FROM messages WHERE id = ? AND clinic_id = ?", (message_id, clinic_id)
        )
        if row is None:
            raise NotFound("message not found", id=message_id)
        return _load(row[0], Message)

    async def find_by_provider_id(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> Message | None:
        row = self._one(
            "SELECT doc FROM messages WHERE channel_id = ? AND provider_message_id = ?"
            " AND clinic_id = ?",
            (channel_id, provider_message_id, clinic_id),
        )
        return None if row is None else _load(row[0], Message)

    async def save(self, message: Message) -> None:
        try:
            self._conn.execute(
                "INSERT INTO messages (id, clinic_id, chat_id, channel_id, provider_message_id,"
                " created_micros, body, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET provider_message_id ="
                " excluded.provider_message_id, body = excluded.body, doc = excluded.doc",
                (
                    message.id,
                    message.clinic_id,
                    message.chat_id,
                    message.channel_id,
                    message.provider_message_id,
                    utc_micros(message.created_at),
                    message.body,
                    _dump(message),
                ),
            )
        except sqlite3.IntegrityError as exc:
            raise Conflict(
                "provider message id already recorded",
                provider_message_id=message.provider_message_id,
            ) from exc

    async def list_for_chat(
        self, clinic_id: str, chat_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Message]:
        return _page(
            self._conn,
            "messages",
            "created_micros",
            ["chat_id = ?", "clinic_id = ?"],
            [chat_id, clinic_id],
            limit,
            cursor,
            Message,
        )


class SqlitePendingStatusRepository(_Repo):
    async def add(self, pending: PendingStatus) -> None:
        self._conn.execute(
            "INSERT INTO pending_statuses (clinic_id, channel_id, provider_message_id, doc)"
            " VALUES (?, ?, ?, ?)",
            (pending.clinic_id, pending.channel_id, pending.provider_message_id, _dump(pending)),
        )

    async def take(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> list[PendingStatus]:
        rows = self._conn.execute(
            "DELETE FROM pending_statuses WHERE channel_id = ? AND provider_message_id = ?"
            " AND clinic_id = ? RETURNING seq, doc",
            (channel_id, provider_message_id, clinic_id),
        ).fetchall()
        return [_load(doc, PendingStatus) for _, doc in sorted(rows)]


def _page(
    conn: sqlite3.Connection,
    table: str,
    time_column: str,
    where: list[str],
    params: list[Any],
    limit: int,
    cursor: str | None,
    cls: type[T],
) -> Page[T]:
    """Newest first on (time, id), starting strictly after ``cursor``."""
    if cursor is not None:
        micros, last_id = decode_cursor(cursor, 2)
        where = [*where, f"({time_column}, id) < (?, ?)"]
        params = [*params, micros, last_id]
    rows = conn.execute(
        f"SELECT {time_column}, id, doc FROM {table} WHERE {' AND '.join(where)}"
        f" ORDER BY {time_column} DESC, id DESC LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if len(rows) > limit else None
    return Page([_load(doc, cls) for _, _, doc in page], next_cursor)


class SqliteUnitOfWork:
    """A unit of work: a SAVEPOINT inside the database's shared write transaction, or plain
    reads on the reader connection when ``read_only``."""

    def __init__(
        self,
        db: SqliteDatabase,
        ids: IdGenerator,
        read_only: bool,
        on_commit: Callable[[list[StoredEvent]], None] | None,
    ) -> None:
        self._db = db
        self._ids = ids
        self._read_only = read_only
        self._on_commit = on_commit
        self._events: list[DomainEvent] = []
        self._holding_lock = False

    async def __aenter__(self) -> SqliteUnitOfWork:
        if self._read_only:
            conn = self._db.reader
        else:
            await self._db.write_lock.acquire()
            self._holding_lock = True
            try:
                await self._db.begin()
                conn = self._db.writer
                conn.execute("SAVEPOINT uow")
            except BaseException:
                self._release()
                raise
        self.clinics = SqliteClinicRepository(conn)
        self.channels = SqliteChannelRepository(conn)
        self.customers = SqliteCustomerRepository(conn)
        self.chats = SqliteChatRepository(conn)
        self.messages = SqliteMessageRepository(conn)
        self.pending_statuses = SqlitePendingStatusRepository(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._holding_lock:
            conn = self._db.writer
            conn.execute("ROLLBACK TO SAVEPOINT uow")
            conn.execute("RELEASE SAVEPOINT uow")
            self._release()

    def _release(self) -> None:
        self._holding_lock = False
        self._db.write_lock.release()

    def record(self, events: Iterable[DomainEvent]) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        if not self._holding_lock:
            raise StorageUnavailable("unit of work is read-only or already finished")
        conn = self._db.writer
        stored = [StoredEvent(self._ids.new_id(), event) for event in self._events]
        try:
            conn.executemany(
                "INSERT INTO outbox (id, doc) VALUES (?, ?)",
                [(s.id, _encode(event_to_document(s.event)).decode()) for s in stored],
            )
            conn.execute("RELEASE SAVEPOINT uow")
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"write failed: {exc}") from exc
        self._release()
        self._events.clear()
        await self._db.request_commit()
        if self._on_commit is not None and stored:
            self._on_commit(stored)


class SqliteUnitOfWorkFactory:
    """Makes units of work on one :class:`SqliteDatabase`."""

    def __init__(self, db: SqliteDatabase, ids: IdGenerator) -> None:
        self.db = db
        self._ids = ids
        self.on_commit: Callable[[list[StoredEvent]], None] | None = None

    def __call__(self, *, read_only: bool = False) -> SqliteUnitOfWork:
        return SqliteUnitOfWork(self.db, self._ids, read_only, self.on_commit)


class SqliteEventOutbox:
    """The SQLite outbox: committed events waiting for dispatch."""

    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def pending(self, limit: int = 100) -> list[StoredEvent]:
        rows = self._db.reader.execute(
            "SELECT id, doc FROM outbox ORDER BY seq LIMIT ?", (limit,)
        ).fetchall()
        return [StoredEvent(event_id, event_from_document(_decode(doc))) for event_id, doc in rows]

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        if not event_ids:
            return
        async with self._db.write_lock:
            await self._db.begin()
            self._db.writer.executemany(
                "DELETE FROM outbox WHERE id = ?", [(event_id,) for event_id in event_ids]
            )
        await self._db.request_commit()
