"""SQLite repositories, unit of work and event outbox (the embedded default).

Reads go to the reader connection and see committed data; writes are buffered as closures and
applied by the database's writer task at commit (see :mod:`porfin_adapters.sqlite.database`).
Every loaded row's ``version`` is remembered: saving it later is an UPDATE guarded by that
version, and every lookup that found nothing is checked again before the writes, so a unit of
work that decided on stale data is refused with ``TransactionConflict`` and retried.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from porfin_adapters.customer_search import CustomerSearch
from porfin_adapters.serialization import utc_micros
from porfin_adapters.sqlite import customers
from porfin_adapters.sqlite.audit import SqliteAuditLog
from porfin_adapters.sqlite.customers import matching_customers
from porfin_adapters.sqlite.database import Reader, SqliteDatabase, Write
from porfin_adapters.text import digits, fold
from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, identity_keys
from porfin_core.domain.events import EVENT_TYPES, DomainEvent
from porfin_core.domain.message import Message
from porfin_core.domain.outbound import Delivery
from porfin_core.errors import Conflict, NotFound, TransactionConflict
from porfin_core.pagination import Page, check_limit, decode_cursor, encode_cursor
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import ChatQuery, CustomerQuery, PendingStatus, StoredEvent

if TYPE_CHECKING:
    from porfin_adapters.sqlite.accounts import (
        SqliteAccountTokenRepository,
        SqliteRefreshTokenRepository,
        SqliteStaffUserRepository,
    )
    from porfin_adapters.sqlite.assistant import SqliteAssistantTurnRepository
    from porfin_adapters.sqlite.calendar import (
        SqliteCalendarBusyRepository,
        SqliteCalendarConnectionRepository,
        SqliteCalendarFeedRepository,
        SqliteCalendarLinkRepository,
    )
    from porfin_adapters.sqlite.charges import SqliteChargeRepository, SqliteTransactionLog
    from porfin_adapters.sqlite.jobs import SqliteJobRepository
    from porfin_adapters.sqlite.scheduling import (
        SqliteAppointmentRepository,
        SqliteAppointmentTypeRepository,
        SqliteClosureRepository,
        SqliteProfessionalRepository,
        SqliteWaitlistRepository,
    )

T = TypeVar("T")

# msgspec reads and writes attrs classes directly, five times faster than a generic
# converter: this is the ingest path's hottest code.
_encode = msgspec.json.encode
_decode = msgspec.json.decode


def _dump(entity: object) -> str:
    return _encode(entity).decode()


_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _load(raw: str | bytes, cls: type[T]) -> T:
    # A decoder per type: building the type's decoding plan on every call costs a quarter of
    # the decoding time of a page of documents.
    decoder = _DECODERS.get(cls)
    if decoder is None:
        decoder = _DECODERS[cls] = msgspec.json.Decoder(cls)
    result: T = decoder.decode(raw)
    return result


def _dump_event(event: DomainEvent) -> str:
    return _encode({"name": event.name, "data": event}).decode()


def _load_event(raw: str | bytes) -> DomainEvent:
    document = _decode(raw)
    return msgspec.convert(document["data"], type=EVENT_TYPES[document["name"]])


def _marks(values: list[Any]) -> str:
    return ",".join("?" * len(values))


@functools.cache
def _upsert_sql(
    table: str, names: tuple[str, ...], immutable: frozenset[str]
) -> tuple[str, str, tuple[str, ...]]:
    """The INSERT ... ON CONFLICT and the version-guarded UPDATE of :meth:`_Tracker.upsert`,
    and the columns the UPDATE sets (built once per table and column set)."""
    mutable = tuple(n for n in names if n != "id" and n not in immutable)
    updates = ", ".join(f"{n} = excluded.{n}" for n in mutable)
    insert = (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({_marks(list(names))})"
        f" ON CONFLICT (id) DO UPDATE SET {updates}, version = {table}.version + 1"
    )
    sets = ", ".join(f"{n} = ?" for n in mutable)
    update = f"UPDATE {table} SET {sets}, version = version + 1 WHERE id = ? AND version = ?"
    return insert, update, mutable


class _Tracker:
    """What a unit of work has read (row versions) and the writes it will make."""

    def __init__(self) -> None:
        self.versions: dict[tuple[str, str], int] = {}
        self.writes: list[Write] = []

    def loaded(self, table: str, row_id: str, version: int) -> None:
        self.versions[(table, row_id)] = version

    def still_absent(self, sql: str, params: tuple[Any, ...]) -> None:
        """Remember a lookup that found nothing; at commit it must still find nothing."""

        def check(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).fetchone() is not None:
                raise TransactionConflict("a concurrent change created the row this one missed")

        self.writes.append(check)

    def upsert(
        self,
        table: str,
        row_id: str,
        columns: dict[str, Any],
        immutable: frozenset[str] = frozenset(),
    ) -> None:
        """Insert the row, or update it (guarded by the version read, when it was read).

        ``immutable`` columns are written on insert only: leaving them out of updates spares
        the indexes built on them.
        """
        version = self.versions.get((table, row_id))
        insert_sql, update_sql, mutable = _upsert_sql(table, tuple(columns), immutable)
        if version is None:
            params = tuple(columns.values())

            def insert(conn: sqlite3.Connection) -> None:
                conn.execute(insert_sql, params)

            self.writes.append(insert)
            return
        update_params = (*(columns[n] for n in mutable), row_id, version)

        def update(conn: sqlite3.Connection) -> None:
            if conn.execute(update_sql, update_params).rowcount != 1:
                raise TransactionConflict(f"{table} {row_id} changed concurrently")

        self.writes.append(update)
        # A second save of the row in this unit of work guards on the version this one writes.
        self.versions[(table, row_id)] = version + 1

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        def run(conn: sqlite3.Connection) -> None:
            conn.execute(sql, params)

        self.writes.append(run)


class _Repo:
    def __init__(self, conn: Reader, tracker: _Tracker) -> None:
        self._conn = conn
        self._tracker = tracker

    def _scoped(self, table: str, cls: type[T], clinic_id: str | None, row_id: str, what: str) -> T:
        """The row ``row_id`` (of ``clinic_id`` when given: another clinic's row is not found
        either)."""
        sql = f"SELECT id, version, doc FROM {table} WHERE id = ?"
        params: tuple[str, ...] = (row_id,)
        if clinic_id is not None:
            sql, params = sql + " AND clinic_id = ?", (row_id, clinic_id)
        found = self._row(table, sql, params, cls)
        if found is None:
            raise NotFound(f"{what} not found", id=row_id)
        return found

    def _row(self, table: str, sql: str, params: tuple[Any, ...], cls: type[T]) -> T | None:
        row = self._conn.execute(sql, params).fetchone()
        if row is None:
            return None
        row_id, version, doc = row
        self._tracker.loaded(table, row_id, version)
        return _load(doc, cls)


class SqliteClinicRepository(_Repo):
    async def get(self, clinic_id: str) -> Clinic:
        return self._scoped("clinics", Clinic, None, clinic_id, "clinic")

    async def list(self) -> list[Clinic]:
        rows = self._conn.execute("SELECT id, version, doc FROM clinics ORDER BY seq").fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("clinics", row_id, version)
        seen = len(rows)

        def same_clinics(conn: sqlite3.Connection) -> None:
            # Two first starts at once must not both create "the" clinic.
            if conn.execute("SELECT COUNT(*) FROM clinics").fetchone()[0] != seen:
                raise TransactionConflict("clinics changed concurrently")

        self._tracker.writes.append(same_clinics)
        return [_load(doc, Clinic) for _, _, doc in rows]

    async def save(self, clinic: Clinic) -> None:
        doc = _dump(clinic)
        clinic_id = clinic.id

        def insert_or_update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO clinics (id, seq, doc) VALUES (?, "
                "(SELECT COALESCE(MAX(seq), 0) + 1 FROM clinics), ?) "
                "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, version = clinics.version + 1",
                (clinic_id, doc),
            )

        self._tracker.writes.append(insert_or_update)


class SqliteChannelRepository(_Repo):
    async def get(self, channel_id: str) -> Channel:
        return self._scoped("channels", Channel, None, channel_id, "channel")

    async def list(self, clinic_id: str) -> list[Channel]:
        rows = self._conn.execute(
            "SELECT doc FROM channels WHERE clinic_id = ? ORDER BY created_micros, id",
            (clinic_id,),
        ).fetchall()
        return [_load(r[0], Channel) for r in rows]

    async def save(self, channel: Channel) -> None:
        self._tracker.upsert(
            "channels",
            channel.id,
            {
                "id": channel.id,
                "clinic_id": channel.clinic_id,
                "created_micros": utc_micros(channel.created_at),
                "doc": _dump(channel),
            },
        )


class SqliteCustomerRepository(_Repo):
    async def get(self, clinic_id: str, customer_id: str) -> Customer:
        return self._scoped("customers", Customer, clinic_id, customer_id, "customer")

    async def find_by_identity(self, clinic_id: str, keys: list[str]) -> Customer | None:
        if not keys:
            return None
        lookup = (
            "SELECT customer_id FROM customer_identities"
            f" WHERE clinic_id = ? AND key IN ({_marks(keys)})"
        )
        params = (clinic_id, *keys)
        # Two point lookups: as one statement (``id IN (subquery) ORDER BY``) SQLite sorts
        # through a temporary b-tree, at ten times their cost.
        found = list(dict.fromkeys(row[0] for row in self._conn.execute(lookup, params)))
        customer = None
        if len(found) == 1:
            sql = "SELECT id, version, doc FROM customers WHERE id = ?"
            customer = self._row("customers", sql, (found[0],), Customer)
        elif found:  # identities of several customers (before a merge): the oldest
            sql = (
                f"SELECT id, version, doc FROM customers WHERE id IN ({_marks(found)})"
                " ORDER BY created_micros, id LIMIT 1"
            )
            customer = self._row("customers", sql, tuple(found), Customer)
        if customer is None:
            self._tracker.still_absent(lookup + " LIMIT 1", params)
        return customer

    async def save(self, customer: Customer) -> None:
        keys = identity_keys(customer.identities)
        clinic_id, customer_id = customer.clinic_id, customer.id

        def index_identities(conn: sqlite3.Connection) -> None:
            if customer.merged_into is not None:  # merged: its identities lead elsewhere now
                conn.execute(
                    "DELETE FROM customer_identities WHERE customer_id = ? AND clinic_id = ?",
                    (customer_id, clinic_id),
                )
                return
            owner = conn.execute(
                "SELECT key FROM customer_identities"
                f" WHERE clinic_id = ? AND key IN ({_marks(keys)}) AND customer_id != ? LIMIT 1",
                (clinic_id, *keys, customer_id),
            ).fetchone()
            if owner is not None:
                raise Conflict("identity belongs to another customer", identity=owner[0])
            conn.executemany(
                "INSERT OR IGNORE INTO customer_identities (clinic_id, key, customer_id)"
                " VALUES (?, ?, ?)",
                [(clinic_id, key, customer_id) for key in keys],
            )

        self._tracker.writes.append(index_identities)
        self._tracker.writes.append(customers.index_keys(customer))
        self._tracker.upsert(
            "customers",
            customer_id,
            {
                "id": customer_id,
                "clinic_id": clinic_id,
                "created_micros": utc_micros(customer.created_at),
                "stage": customer.stage.value,
                "merged_into": customer.merged_into,
                "doc": _dump(customer),
            },
        )

    async def list(self, query: CustomerQuery) -> Page[Customer]:
        filters = customers.customer_filters(query)
        if filters is None:
            check_limit(query.limit)
            if query.cursor is not None:
                decode_cursor(query.cursor, 2)
            return Page([])
        where, params = filters
        return _page(
            self._conn,
            self._tracker,
            "customers",
            "created_micros",
            where,
            params,
            query.limit,
            query.cursor,
            Customer,
        )

    async def count_created(self, clinic_id: str, since: datetime, until: datetime) -> int:
        row = self._conn.execute(
            "SELECT COUNT(*) FROM customers WHERE clinic_id = ? AND created_micros >= ?"
            " AND created_micros < ? AND merged_into IS NULL",
            (clinic_id, utc_micros(since), utc_micros(until)),
        ).fetchone()
        return int(row[0])


_CHAT_KEYS = frozenset({"clinic_id", "customer_id", "channel_id"})
# A message's body never changes: the full-text index is written once, at insert.
_MESSAGE_KEYS = frozenset({"clinic_id", "chat_id", "channel_id", "created_micros", "body"})


SEARCH_MESSAGE_HITS = 500
"""A message-text search looks at this many of the most recent matching messages."""


def _fts_phrase(term: str) -> str:
    """An FTS5 prefix query for ``term`` as a phrase (quotes escaped)."""
    return '"' + term.replace('"', '""') + '"*'


class SqliteChatRepository(_Repo):
    async def get(self, clinic_id: str, chat_id: str) -> Chat:
        return self._scoped("chats", Chat, clinic_id, chat_id, "chat")

    async def find(self, clinic_id: str, customer_id: str, channel_id: str) -> Chat | None:
        where = "WHERE clinic_id = ? AND customer_id = ? AND channel_id = ?"
        params = (clinic_id, customer_id, channel_id)
        chat = self._row("chats", f"SELECT id, version, doc FROM chats {where}", params, Chat)
        if chat is None:
            self._tracker.still_absent(f"SELECT 1 FROM chats {where}", params)
        return chat

    async def save(self, chat: Chat) -> None:
        self._tracker.upsert(
            "chats",
            chat.id,
            {
                "id": chat.id,
                "clinic_id": chat.clinic_id,
                "customer_id": chat.customer_id,
                "channel_id": chat.channel_id,
                "mode": chat.mode.value,
                "status": chat.status.value,
                "assignee_id": chat.assignee_id,
                "unread_count": chat.unread_count,
                "last_micros": utc_micros(chat.last_message_at),
                "waiting_micros": utc_micros(chat.waiting_since) if chat.waiting_since else None,
                "name_folded": fold(chat.customer_name),
                "phone_digits": digits(chat.customer_phone or ""),
                "doc": _dump(chat),
            },
            immutable=_CHAT_KEYS,
        )

    async def save_transferred(self, chat: Chat, from_customer_id: str) -> None:
        await self.save(chat)
        # The one update that writes customer_id (kept out of ordinary saves: see _CHAT_KEYS).
        self._tracker.execute(
            "UPDATE chats SET customer_id = ? WHERE id = ? AND clinic_id = ?",
            (chat.customer_id, chat.id, chat.clinic_id),
        )

    async def remove(self, chat: Chat) -> None:
        version = self._tracker.versions.get(("chats", chat.id))
        sql = "DELETE FROM chats WHERE id = ? AND clinic_id = ?"
        params: tuple[Any, ...] = (chat.id, chat.clinic_id)
        if version is not None:
            sql, params = sql + " AND version = ?", (*params, version)

        def delete(conn: sqlite3.Connection) -> None:
            if conn.execute(sql, params).rowcount != 1:
                raise TransactionConflict(f"chat {chat.id} changed concurrently")

        self._tracker.writes.append(delete)

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
        if query.visible_to is not None:
            where.append("(assignee_id IS NULL OR assignee_id = ?)")
            params.append(query.visible_to)
        if query.unread:
            where.append("unread_count > 0")
        if query.waiting:
            where.append("waiting_micros IS NOT NULL")
        if query.search and query.search.strip():
            # Name and phone as the customer list finds them (word prefixes and phone digits,
            # through the customer_keys index: no scan of the names), or the message text.
            term = query.search.strip()
            alternatives = []
            search = CustomerSearch.of(term)
            if not search.empty:
                customers, more = matching_customers(query.clinic_id, search)
                alternatives.append(f"customer_id IN ({customers})")
                params += more
            alternatives.append(
                # The most recent matches only: a common word ("limpeza") is in tens of
                # thousands of messages, and a page needs 50 chats.
                "id IN (SELECT chat_id FROM messages_fts WHERE messages_fts MATCH ?"
                f" AND clinic_id = ? ORDER BY rowid DESC LIMIT {SEARCH_MESSAGE_HITS})"
            )
            # The messages the writer has not indexed yet (at most INDEX_EVERY_SECONDS of
            # them), matched the way the index would.
            alternatives.append(
                "id IN (SELECT chat_id FROM messages"
                " WHERE rowid > (SELECT last_rowid FROM search_state) AND clinic_id = ?"
                " AND porfin_phrase_match(body, ?))"
            )
            params += [_fts_phrase(fold(term)), query.clinic_id, query.clinic_id, term]
            where.append("(" + " OR ".join(alternatives) + ")")
        if query.waiting:  # oldest wait first
            return _page(
                self._conn,
                self._tracker,
                "chats",
                "waiting_micros",
                where,
                params,
                query.limit,
                query.cursor,
                Chat,
                oldest_first=True,
            )
        return self._page("chats", "last_micros", where, params, query.limit, query.cursor, Chat)

    def _page(
        self,
        table: str,
        time_column: str,
        where: list[str],
        params: list[Any],
        limit: int,
        cursor: str | None,
        cls: type[T],
    ) -> Page[T]:
        return _page(
            self._conn, self._tracker, table, time_column, where, params, limit, cursor, cls
        )


class SqliteMessageRepository(_Repo):
    async def get(self, clinic_id: str, message_id: str) -> Message:
        return self._scoped("messages", Message, clinic_id, message_id, "message")

    async def find_by_provider_id(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> Message | None:
        where = "WHERE channel_id = ? AND provider_message_id = ?"
        message = self._row(
            "messages",
            f"SELECT id, version, doc FROM messages {where} AND clinic_id = ?",
            (channel_id, provider_message_id, clinic_id),
            Message,
        )
        if message is None:
            self._tracker.still_absent(
                f"SELECT 1 FROM messages {where}", (channel_id, provider_message_id)
            )
        return message

    async def save(self, message: Message) -> None:
        self._tracker.upsert(
            "messages",
            message.id,
            {
                "id": message.id,
                "clinic_id": message.clinic_id,
                "chat_id": message.chat_id,
                "channel_id": message.channel_id,
                "provider_message_id": message.provider_message_id,
                "created_micros": utc_micros(message.created_at),
                "body": message.body,
                "doc": _dump(message),
            },
            immutable=_MESSAGE_KEYS,
        )

    async def list_for_chat(
        self, clinic_id: str, chat_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Message]:
        return _page(
            self._conn,
            self._tracker,
            "messages",
            "created_micros",
            ["chat_id = ?", "clinic_id = ?"],
            [chat_id, clinic_id],
            limit,
            cursor,
            Message,
        )

    async def list_for_clinic(
        self,
        clinic_id: str,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> Page[Message]:
        check_limit(limit)
        return _page(  # the messages_by_clinic_time index
            self._conn,
            self._tracker,
            "messages",
            "created_micros",
            ["clinic_id = ?", "created_micros >= ?", "created_micros < ?"],
            [clinic_id, utc_micros(since), utc_micros(until)],
            limit,
            cursor,
            Message,
            oldest_first=True,
        )

    async def move_to_chat(self, clinic_id: str, from_chat_id: str, to_chat_id: str) -> int:
        where = "WHERE chat_id = ? AND clinic_id = ?"
        params = (from_chat_id, clinic_id)
        counted = self._conn.execute(f"SELECT COUNT(*) FROM messages {where}", params)
        count = int(counted.fetchone()[0])

        def move(conn: sqlite3.Connection) -> None:
            # The full-text index keeps each message's chat: it follows (messages not indexed
            # yet are indexed with their new chat).
            conn.execute(
                "UPDATE messages_fts SET chat_id = ?"
                f" WHERE rowid IN (SELECT rowid FROM messages {where})",
                (to_chat_id, *params),
            )
            moved = conn.execute(
                "UPDATE messages SET chat_id = ?, doc = json_set(doc, '$.chat_id', ?),"
                f" version = version + 1 {where}",
                (to_chat_id, to_chat_id, *params),
            ).rowcount
            if moved != count:
                raise TransactionConflict(f"messages of chat {from_chat_id} changed concurrently")

        self._tracker.writes.append(move)
        return count


class SqlitePendingStatusRepository(_Repo):
    async def add(self, pending: PendingStatus) -> None:
        self._tracker.execute(
            "INSERT INTO pending_statuses (clinic_id, channel_id, provider_message_id, doc)"
            " VALUES (?, ?, ?, ?)",
            (pending.clinic_id, pending.channel_id, pending.provider_message_id, _dump(pending)),
        )

    async def take(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> list[PendingStatus]:
        where = "WHERE channel_id = ? AND provider_message_id = ? AND clinic_id = ?"
        params = (channel_id, provider_message_id, clinic_id)
        rows = self._conn.execute(
            f"SELECT seq, doc FROM pending_statuses {where} ORDER BY seq", params
        ).fetchall()
        if not rows:
            self._tracker.still_absent(f"SELECT 1 FROM pending_statuses {where}", params)
            return []
        seqs = [seq for seq, _ in rows]

        def delete(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                f"DELETE FROM pending_statuses WHERE seq IN ({_marks(seqs)})", seqs
            )
            if cursor.rowcount != len(seqs):
                raise TransactionConflict("pending statuses were taken concurrently")

        self._tracker.writes.append(delete)
        return [_load(doc, PendingStatus) for _, doc in rows]


class SqliteDeliveryRepository(_Repo):
    """The sending outbox (table ``deliveries``), found in order of ``due_micros``."""

    async def get(self, clinic_id: str, message_id: str) -> Delivery | None:
        sql = "SELECT id, version, doc FROM deliveries WHERE id = ? AND clinic_id = ?"
        return self._row("deliveries", sql, (message_id, clinic_id), Delivery)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = self._conn.execute(
            "SELECT id, version, doc FROM deliveries WHERE due_micros <= ?"
            " ORDER BY due_micros, id LIMIT ?",
            (utc_micros(now), limit),
        ).fetchall()
        for row_id, version, _ in rows:
            self._tracker.loaded("deliveries", row_id, version)
        return [_load(doc, Delivery) for _, _, doc in rows]

    async def save(self, delivery: Delivery) -> None:
        self._tracker.upsert(
            "deliveries",
            delivery.message_id,
            {
                "id": delivery.message_id,
                "clinic_id": delivery.clinic_id,
                "due_micros": utc_micros(delivery.due_at),
                "doc": _dump(delivery),
            },
            immutable=frozenset({"clinic_id"}),
        )

    async def remove(self, delivery: Delivery) -> None:
        version = self._tracker.versions.get(("deliveries", delivery.message_id))
        if version is None:
            self._tracker.execute("DELETE FROM deliveries WHERE id = ?", (delivery.message_id,))
            return
        params = (delivery.message_id, version)

        def delete(conn: sqlite3.Connection) -> None:
            sql = "DELETE FROM deliveries WHERE id = ? AND version = ?"
            if conn.execute(sql, params).rowcount != 1:
                raise TransactionConflict(f"delivery {delivery.message_id} changed concurrently")

        self._tracker.writes.append(delete)


def _page(
    conn: Reader,
    tracker: _Tracker,
    table: str,
    time_column: str,
    where: list[str],
    params: list[Any],
    limit: int,
    cursor: str | None,
    cls: type[T],
    *,
    oldest_first: bool = False,
) -> Page[T]:
    """Newest first on (time, id) (``oldest_first``: the other way), starting strictly
    after ``cursor``."""
    order, after = ("ASC", ">") if oldest_first else ("DESC", "<")
    if cursor is not None:
        micros, last_id = decode_cursor(cursor, 2)
        where = [*where, f"({time_column}, id) {after} (?, ?)"]
        params = [*params, micros, last_id]
    rows = conn.execute(
        f"SELECT {time_column}, id, version, doc FROM {table} WHERE {' AND '.join(where)}"
        f" ORDER BY {time_column} {order}, id {order} LIMIT ?",
        (*params, limit + 1),
    ).fetchall()
    page = rows[:limit]
    for _, row_id, version, _ in page:
        tracker.loaded(table, row_id, version)
    next_cursor = encode_cursor(page[-1][0], page[-1][1]) if len(rows) > limit else None
    return Page([_load(doc, cls) for _, _, _, doc in page], next_cursor)


_REPOSITORY_CLASSES: dict[str, Callable[[Reader, _Tracker], Any]] = {}


def _repository_classes() -> dict[str, Callable[[Reader, _Tracker], Any]]:
    """The unit of work's repositories by attribute name (imported on first use: their
    modules build on this one's helpers)."""
    if not _REPOSITORY_CLASSES:
        from porfin_adapters.sqlite import accounts, calendar, charges, scheduling
        from porfin_adapters.sqlite.assistant import SqliteAssistantTurnRepository
        from porfin_adapters.sqlite.jobs import SqliteJobRepository

        _REPOSITORY_CLASSES.update(
            clinics=SqliteClinicRepository,
            channels=SqliteChannelRepository,
            customers=SqliteCustomerRepository,
            chats=SqliteChatRepository,
            messages=SqliteMessageRepository,
            pending_statuses=SqlitePendingStatusRepository,
            deliveries=SqliteDeliveryRepository,
            jobs=SqliteJobRepository,
            audit=SqliteAuditLog,
            staff=accounts.SqliteStaffUserRepository,
            refresh_tokens=accounts.SqliteRefreshTokenRepository,
            account_tokens=accounts.SqliteAccountTokenRepository,
            professionals=scheduling.SqliteProfessionalRepository,
            appointment_types=scheduling.SqliteAppointmentTypeRepository,
            closures=scheduling.SqliteClosureRepository,
            appointments=scheduling.SqliteAppointmentRepository,
            waitlist=scheduling.SqliteWaitlistRepository,
            charges=charges.SqliteChargeRepository,
            transactions=charges.SqliteTransactionLog,
            assistant_turns=SqliteAssistantTurnRepository,
            calendar_connections=calendar.SqliteCalendarConnectionRepository,
            calendar_links=calendar.SqliteCalendarLinkRepository,
            calendar_busy=calendar.SqliteCalendarBusyRepository,
            calendar_feeds=calendar.SqliteCalendarFeedRepository,
        )
    return _REPOSITORY_CLASSES


class SqliteUnitOfWork:
    """Reads committed data; buffers writes; applies them atomically at :meth:`commit`."""

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
        self._tracker = _Tracker()
        self._done = False

    # Repositories are built on first use (``__getattr__``): an ingest unit of work touches
    # four of the two dozen, and building them all cost more than its reads.
    clinics: SqliteClinicRepository
    channels: SqliteChannelRepository
    customers: SqliteCustomerRepository
    chats: SqliteChatRepository
    messages: SqliteMessageRepository
    pending_statuses: SqlitePendingStatusRepository
    deliveries: SqliteDeliveryRepository
    jobs: SqliteJobRepository
    audit: SqliteAuditLog
    staff: SqliteStaffUserRepository
    refresh_tokens: SqliteRefreshTokenRepository
    account_tokens: SqliteAccountTokenRepository
    professionals: SqliteProfessionalRepository
    appointment_types: SqliteAppointmentTypeRepository
    closures: SqliteClosureRepository
    appointments: SqliteAppointmentRepository
    waitlist: SqliteWaitlistRepository
    charges: SqliteChargeRepository
    transactions: SqliteTransactionLog
    assistant_turns: SqliteAssistantTurnRepository
    calendar_connections: SqliteCalendarConnectionRepository
    calendar_links: SqliteCalendarLinkRepository
    calendar_busy: SqliteCalendarBusyRepository
    calendar_feeds: SqliteCalendarFeedRepository

    def __getattr__(self, name: str) -> Any:
        repository = _repository_classes().get(name)
        if repository is None:
            raise AttributeError(name)
        built = repository(self._reader, self._tracker)
        setattr(self, name, built)
        return built

    async def __aenter__(self) -> SqliteUnitOfWork:
        self._reader = self._db.reader
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done = True
        self._tracker = _Tracker()
        self._events.clear()

    def record(self, events: Iterable[DomainEvent]) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        if self._read_only or self._done:
            raise RuntimeError("read-only unit of work cannot commit")
        stored = [StoredEvent(self._ids.new_id(), event) for event in self._events]
        if stored:
            self._tracker.writes.append(_insert_events(stored))
        writes, self._tracker.writes = self._tracker.writes, []
        self._events.clear()
        if writes:
            await self._db.apply(writes)
        if self._on_commit is not None and stored:
            self._on_commit(stored)


def _insert_events(stored: list[StoredEvent]) -> Write:
    rows = [(s.id, _dump_event(s.event)) for s in stored]

    def insert(conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO outbox (id, doc) VALUES (?, ?)", rows)

    return insert


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
        return [StoredEvent(event_id, _load_event(doc)) for event_id, doc in rows]

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        if not event_ids:
            return
        rows = [(event_id,) for event_id in event_ids]

        def delete(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM outbox WHERE id = ?", rows)

        await self._db.apply([delete])
