"""In-memory storage that passes the same contract suite as SQLite and Firestore.

Documents are kept serialized (through the storage converter), so entities handed out are
always fresh copies, exactly as with a real database. Write units of work run one at a time;
their writes are buffered and applied atomically at commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar

from porfin_adapters.customer_search import CustomerSearch
from porfin_adapters.memory.audit import MemoryAuditLog, chain
from porfin_adapters.serialization import (
    event_from_document,
    event_to_document,
    from_document,
    to_document,
    utc_micros,
)
from porfin_adapters.text import fold
from porfin_core.domain.audit import AuditEntry
from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, identity_keys
from porfin_core.domain.events import DomainEvent
from porfin_core.domain.message import Message
from porfin_core.domain.outbound import Delivery
from porfin_core.errors import Conflict, NotFound
from porfin_core.pagination import Page, check_limit, decode_cursor, encode_cursor
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import ChatQuery, CustomerQuery, PendingStatus, StoredEvent

Doc = dict[str, Any]
T = TypeVar("T")


class MemoryStore:
    """The committed state: one dict of documents per collection, plus the outbox."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Doc]] = {
            name: {}
            for name in (
                "clinics",
                "channels",
                "customers",
                "chats",
                "messages",
                "identities",
                "provider_ids",
                "pending_statuses",
                "deliveries",
                "jobs",
                "job_keys",
                "audit",
                "audit_heads",
                "staff_users",
                "refresh_tokens",
                "account_tokens",
                "outbox",
                "professionals",
                "appointment_types",
                "closures",
                "appointments",
                "waitlist",
                "calendar_connections",
                "calendar_links",
                "calendar_busy",
                "calendar_feeds",
                "charges",
                "transactions",
                "assistant_turns",
                "assistant_usage",
            )
        }
        self.write_lock = asyncio.Lock()


class _Repos:
    """Reads from the committed state, writes into the unit of work's buffer."""

    def __init__(self, store: MemoryStore, writes: dict[tuple[str, str], Doc | None]) -> None:
        self._store = store
        self._writes = writes

    def _table(self, name: str) -> dict[str, Doc]:
        return self._store.tables[name]

    def _put(self, table: str, key: str, doc: Doc | None) -> None:
        self._writes[(table, key)] = doc

    def _get(self, table: str, key: str, what: str) -> Doc:
        doc = self._table(table).get(key)
        if doc is None:
            raise NotFound(f"{what} not found", id=key)
        return doc


class MemoryClinicRepository(_Repos):
    async def get(self, clinic_id: str) -> Clinic:
        return from_document(self._get("clinics", clinic_id, "clinic"), Clinic)

    async def list(self) -> list[Clinic]:
        return [from_document(d, Clinic) for d in self._table("clinics").values()]

    async def save(self, clinic: Clinic) -> None:
        self._put("clinics", clinic.id, to_document(clinic))


class MemoryChannelRepository(_Repos):
    async def get(self, channel_id: str) -> Channel:
        return from_document(self._get("channels", channel_id, "channel"), Channel)

    async def list(self, clinic_id: str) -> list[Channel]:
        docs = [d for d in self._table("channels").values() if d["clinic_id"] == clinic_id]
        return [from_document(d, Channel) for d in sorted(docs, key=lambda d: d["created_at"])]

    async def save(self, channel: Channel) -> None:
        self._put("channels", channel.id, to_document(channel))


class MemoryCustomerRepository(_Repos):
    async def get(self, clinic_id: str, customer_id: str) -> Customer:
        doc = self._get("customers", customer_id, "customer")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("customer not found", id=customer_id)
        return from_document(doc, Customer)

    async def find_by_identity(self, clinic_id: str, keys: list[str]) -> Customer | None:
        index = self._table("identities")
        found = {
            index[f"{clinic_id}|{k}"]["customer_id"] for k in keys if f"{clinic_id}|{k}" in index
        }
        docs = [self._table("customers")[customer_id] for customer_id in found]
        if not docs:
            return None
        oldest = min(docs, key=lambda d: (d["created_at"], d["id"]))
        return from_document(oldest, Customer)

    async def save(self, customer: Customer) -> None:
        for key in identity_keys(customer.identities):
            index_key = f"{customer.clinic_id}|{key}"
            # An identity released earlier in this unit of work (a merged customer) is free.
            if ("identities", index_key) in self._writes:
                owner = self._writes[("identities", index_key)]
            else:
                owner = self._table("identities").get(index_key)
            if customer.merged_into is not None:
                if owner is not None and owner["customer_id"] == customer.id:
                    self._put("identities", index_key, None)
                continue
            if owner is not None and owner["customer_id"] != customer.id:
                raise Conflict("identity belongs to another customer", identity=key)
            self._put("identities", index_key, {"customer_id": customer.id})
        doc = to_document(customer)
        doc["_sort"] = (utc_micros(customer.created_at), customer.id)
        self._put("customers", customer.id, doc)

    async def list(self, query: CustomerQuery) -> Page[Customer]:
        search = CustomerSearch.of(query.search) if query.search else None
        docs = [
            d
            for d in self._table("customers").values()
            if d["clinic_id"] == query.clinic_id
            and d.get("merged_into") is None
            and (query.stage is None or d["stage"] == query.stage.value)
            and (query.tag is None or query.tag in d["tags"])
            and (search is None or search.matches(d["name"], d["phone"]))
        ]
        return _page(docs, query.limit, query.cursor, Customer)

    async def count_created(self, clinic_id: str, since: datetime, until: datetime) -> int:
        low, high = utc_micros(since), utc_micros(until)
        return sum(
            1
            for d in self._table("customers").values()
            if d["clinic_id"] == clinic_id
            and d.get("merged_into") is None
            and low <= d["_sort"][0] < high
        )


def _chat_matches(store: MemoryStore, doc: Doc, query: ChatQuery) -> bool:
    if query.mode is not None and doc["mode"] != query.mode.value:
        return False
    if query.status is not None and doc["status"] != query.status.value:
        return False
    if query.assignee_id is not None and doc["assignee_id"] != query.assignee_id:
        return False
    if query.unassigned and doc["assignee_id"] is not None:
        return False
    if query.visible_to is not None and doc["assignee_id"] not in (None, query.visible_to):
        return False
    if query.unread and doc["unread_count"] == 0:
        return False
    if query.waiting and doc.get("waiting_since") is None:
        return False
    if query.search:
        term = fold(query.search.strip())
        # Name and phone as the customer list matches them; the messages by their text.
        if CustomerSearch.of(query.search).matches(doc["customer_name"], doc["customer_phone"]):
            return True
        return any(
            m["chat_id"] == doc["id"] and term in fold(m["body"] or "")
            for m in store.tables["messages"].values()
        )
    return True


class MemoryChatRepository(_Repos):
    async def get(self, clinic_id: str, chat_id: str) -> Chat:
        doc = self._get("chats", chat_id, "chat")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("chat not found", id=chat_id)
        return from_document(doc, Chat)

    async def find(self, clinic_id: str, customer_id: str, channel_id: str) -> Chat | None:
        for doc in self._table("chats").values():
            if (doc["clinic_id"], doc["customer_id"], doc["channel_id"]) == (
                clinic_id,
                customer_id,
                channel_id,
            ):
                return from_document(doc, Chat)
        return None

    async def save(self, chat: Chat) -> None:
        doc = to_document(chat)
        doc["_sort"] = (utc_micros(chat.last_message_at), chat.id)
        self._put("chats", chat.id, doc)

    async def save_transferred(self, chat: Chat, from_customer_id: str) -> None:
        await self.save(chat)

    async def remove(self, chat: Chat) -> None:
        self._put("chats", chat.id, None)

    async def list(self, query: ChatQuery) -> Page[Chat]:
        docs = [
            d
            for d in self._table("chats").values()
            if d["clinic_id"] == query.clinic_id and _chat_matches(self._store, d, query)
        ]
        if query.waiting:  # oldest wait first
            by_wait = [
                {**d, "_sort": (utc_micros(datetime.fromisoformat(d["waiting_since"])), d["id"])}
                for d in docs
            ]
            return _page(by_wait, query.limit, query.cursor, Chat, oldest_first=True)
        return _page(docs, query.limit, query.cursor, Chat)


class MemoryMessageRepository(_Repos):
    async def get(self, clinic_id: str, message_id: str) -> Message:
        doc = self._get("messages", message_id, "message")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("message not found", id=message_id)
        return from_document(doc, Message)

    async def find_by_provider_id(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> Message | None:
        message_id = self._table("provider_ids").get(f"{channel_id}|{provider_message_id}")
        if message_id is None:
            return None
        doc = self._table("messages")[message_id["message_id"]]
        return from_document(doc, Message) if doc["clinic_id"] == clinic_id else None

    async def save(self, message: Message) -> None:
        if message.provider_message_id is not None:
            key = f"{message.channel_id}|{message.provider_message_id}"
            owner = self._table("provider_ids").get(key)
            if owner is not None and owner["message_id"] != message.id:
                raise Conflict(
                    "provider message id already recorded",
                    provider_message_id=message.provider_message_id,
                )
            self._put("provider_ids", key, {"message_id": message.id})
        doc = to_document(message)
        doc["_sort"] = (utc_micros(message.created_at), message.id)
        self._put("messages", message.id, doc)

    async def list_for_chat(
        self, clinic_id: str, chat_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Message]:
        docs = [
            d
            for d in self._table("messages").values()
            if d["clinic_id"] == clinic_id and d["chat_id"] == chat_id
        ]
        return _page(docs, limit, cursor, Message)

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
        low, high = utc_micros(since), utc_micros(until)
        docs = [
            d
            for d in self._table("messages").values()
            if d["clinic_id"] == clinic_id and low <= d["_sort"][0] < high
        ]
        return _page(docs, limit, cursor, Message, oldest_first=True)

    async def move_to_chat(self, clinic_id: str, from_chat_id: str, to_chat_id: str) -> int:
        moved = [
            {**d, "chat_id": to_chat_id}
            for d in self._table("messages").values()
            if d["clinic_id"] == clinic_id and d["chat_id"] == from_chat_id
        ]
        for doc in moved:
            self._put("messages", doc["id"], doc)
        return len(moved)


class MemoryPendingStatusRepository(_Repos):
    def __init__(
        self, store: MemoryStore, writes: dict[tuple[str, str], Doc | None], ids: IdGenerator
    ) -> None:
        super().__init__(store, writes)
        self._ids = ids

    async def add(self, pending: PendingStatus) -> None:
        self._put("pending_statuses", self._ids.new_id(), to_document(pending))

    async def take(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> list[PendingStatus]:
        wanted = (clinic_id, channel_id, provider_message_id)
        taken = []
        for key, doc in sorted(self._table("pending_statuses").items()):
            if (doc["clinic_id"], doc["channel_id"], doc["provider_message_id"]) == wanted:
                taken.append(from_document(doc, PendingStatus))
                self._put("pending_statuses", key, None)
        return taken


class MemoryDeliveryRepository(_Repos):
    async def get(self, clinic_id: str, message_id: str) -> Delivery | None:
        doc = self._table("deliveries").get(message_id)
        if doc is None or doc["clinic_id"] != clinic_id:
            return None
        return from_document(doc, Delivery)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        found = [from_document(doc, Delivery) for doc in self._table("deliveries").values()]
        due = sorted((d for d in found if d.due_at <= now), key=lambda d: (d.due_at, d.message_id))
        return due[:limit]

    async def save(self, delivery: Delivery) -> None:
        self._put("deliveries", delivery.message_id, to_document(delivery))

    async def remove(self, delivery: Delivery) -> None:
        self._put("deliveries", delivery.message_id, None)


def _page(
    docs: list[Doc], limit: int, cursor: str | None, cls: type[T], *, oldest_first: bool = False
) -> Page[T]:
    """Newest first by ``_sort`` (time, id) (``oldest_first``: the other way), starting
    after ``cursor``."""
    docs.sort(key=lambda d: d["_sort"], reverse=not oldest_first)
    if cursor is not None:
        micros, last_id = decode_cursor(cursor, 2)
        key = (micros, last_id)
        docs = [d for d in docs if (d["_sort"] > key if oldest_first else d["_sort"] < key)]
    page = docs[:limit]
    items = [from_document({k: v for k, v in d.items() if k != "_sort"}, cls) for d in page]
    more = len(docs) > limit
    next_cursor = encode_cursor(*page[-1]["_sort"]) if more and page else None
    return Page(items, next_cursor)


class MemoryUnitOfWork:
    """A unit of work over a :class:`MemoryStore`."""

    def __init__(
        self,
        store: MemoryStore,
        ids: IdGenerator,
        read_only: bool,
        on_commit: Callable[[list[StoredEvent]], None] | None,
    ) -> None:
        self._store = store
        self._ids = ids
        self._read_only = read_only
        self._on_commit = on_commit
        self._writes: dict[tuple[str, str], Doc | None] = {}
        self._events: list[DomainEvent] = []
        self._audit: list[AuditEntry] = []
        self.audit = MemoryAuditLog(store, self._audit)
        self.clinics = MemoryClinicRepository(store, self._writes)
        self.channels = MemoryChannelRepository(store, self._writes)
        self.customers = MemoryCustomerRepository(store, self._writes)
        self.chats = MemoryChatRepository(store, self._writes)
        self.messages = MemoryMessageRepository(store, self._writes)
        self.pending_statuses = MemoryPendingStatusRepository(store, self._writes, ids)
        self.deliveries = MemoryDeliveryRepository(store, self._writes)
        # Imported here: the jobs module builds on this module's helpers.
        from porfin_adapters.memory.jobs import MemoryJobRepository

        self.jobs = MemoryJobRepository(store, self._writes)
        # Imported here: the accounts module builds on this module's helpers.
        from porfin_adapters.memory import accounts

        self.staff = accounts.MemoryStaffUserRepository(store, self._writes)
        self.refresh_tokens = accounts.MemoryRefreshTokenRepository(store, self._writes)
        self.account_tokens = accounts.MemoryAccountTokenRepository(store, self._writes)
        # Imported here: the scheduling module builds on this module's helpers.
        from porfin_adapters.memory import scheduling

        self.professionals = scheduling.MemoryProfessionalRepository(store, self._writes)
        self.appointment_types = scheduling.MemoryAppointmentTypeRepository(store, self._writes)
        self.closures = scheduling.MemoryClosureRepository(store, self._writes)
        self.appointments = scheduling.MemoryAppointmentRepository(store, self._writes)
        self.waitlist = scheduling.MemoryWaitlistRepository(store, self._writes)
        # Imported here: the calendar module builds on this module's helpers.
        from porfin_adapters.memory import calendar

        self.calendar_connections = calendar.MemoryCalendarConnectionRepository(store, self._writes)
        self.calendar_links = calendar.MemoryCalendarLinkRepository(store, self._writes)
        self.calendar_busy = calendar.MemoryCalendarBusyRepository(store, self._writes)
        self.calendar_feeds = calendar.MemoryCalendarFeedRepository(store, self._writes)
        # Imported here: the charges module builds on this module's helpers.
        from porfin_adapters.memory import charges

        self.charges = charges.MemoryChargeRepository(store, self._writes)
        self.transactions = charges.MemoryTransactionLog(store, self._writes)
        # Imported here: the assistant module builds on this module's helpers.
        from porfin_adapters.memory.assistant import MemoryAssistantTurnRepository

        self.assistant_turns = MemoryAssistantTurnRepository(store, self._writes)

    async def __aenter__(self) -> MemoryUnitOfWork:
        if not self._read_only:
            await self._store.write_lock.acquire()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writes.clear()
        self._events.clear()
        self._audit.clear()
        if not self._read_only:
            self._store.write_lock.release()

    def record(self, events: Iterable[DomainEvent]) -> None:
        self._events.extend(events)

    async def commit(self) -> None:
        if self._read_only:
            raise RuntimeError("read-only unit of work cannot commit")
        stored = [StoredEvent(self._ids.new_id(), event) for event in self._events]
        for (table, key), doc in self._writes.items():
            if doc is None:
                self._store.tables[table].pop(key, None)
            else:
                self._store.tables[table][key] = doc
        for item in stored:
            self._store.tables["outbox"][item.id] = event_to_document(item.event)
        chain(self._store, self._audit)
        self._writes.clear()
        self._events.clear()
        self._audit.clear()
        if self._on_commit is not None and stored:
            self._on_commit(stored)


class MemoryUnitOfWorkFactory:
    """Makes units of work over one shared :class:`MemoryStore`."""

    def __init__(self, ids: IdGenerator, store: MemoryStore | None = None) -> None:
        self.store = store or MemoryStore()
        self._ids = ids
        self.on_commit: Callable[[list[StoredEvent]], None] | None = None

    def __call__(self, *, read_only: bool = False) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self.store, self._ids, read_only, self.on_commit)


class MemoryEventOutbox:
    """The memory store's outbox."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    async def pending(self, limit: int = 100) -> list[StoredEvent]:
        items = sorted(self._store.tables["outbox"].items())[:limit]
        return [StoredEvent(key, event_from_document(doc)) for key, doc in items]

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        for event_id in event_ids:
            self._store.tables["outbox"].pop(event_id, None)
