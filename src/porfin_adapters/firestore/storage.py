"""Cloud Firestore repositories, unit of work and event outbox.

Layout (``{root}`` is the optional prefix of top-level collections, see
docs/storage-firestore.md)::

    {root}clinics/{clinic_id}                         the clinic (+ _created)
        channels/{channel_id}                         (+ _sort_micros: created_at)
        customers/{customer_id}                       (+ _sort_micros, _facets, _search)
        identities/{kind:value}                       -> customer_id (uniqueness per clinic)
        chats/{chat_id}                               (+ _sort_micros, _facets, _search)
        chat_keys/{customer_id|channel_id}            -> chat_id (one chat per customer/channel)
        messages/{message_id}                         (+ _sort_micros, _words)
        provider_ids/{channel_id|provider_message_id} -> message_id (dedupe)
        pending_statuses/{id}                         (+ _key: channel_id|provider_message_id)
        audit/{seq, 12 digits}                        (+ _at_micros, _facets; see audit.py)
        audit_chain/head                              {seq, hash} of the chain's last record
        professionals/, appointment_types/, closures/, appointments/, waitlist/,
        agenda_locks/                                 the agenda (see scheduling.py)
        calendar_connections/, calendar_links/, calendar_busy/,
        calendar_feeds/                               calendar sync and feeds (calendar.py)
    {root}channel_index/{channel_id}                  -> clinic_id (webhooks know only the id)
    {root}outbox/{event_id}                           committed, undispatched events
    {root}deliveries/{message_id}                     the sending outbox (+ _due_micros)
    {root}jobs/{job_id}, {root}job_keys/{key}         durable jobs (see jobs.py)
    {root}clinics/{id}/charges, .../transactions       charges, money log (see charges.py)
    {root}clinics/{id}/assistant_turns, .../assistant_usage
                                                      the AI receptionist's turns and
                                                      monthly spending (see assistant.py)
    {root}calendar_feed_tokens/{token_hash}           -> clinic and professional of a feed

Documents are the storage converter's output (:func:`to_document`) plus helper fields whose
names start with ``_``; helpers are stripped before :func:`from_document`. Document ids are
percent-escaped (``/``, ``%``, ``|`` and non-ASCII characters), so ordinary ids
(time-ordered hex ids, ``wamid.…``) are stored unchanged.

Transactions: a write unit of work begins a Firestore transaction on enter; every read goes
through it (Firestore locks what a transaction reads); writes are buffered and handed to the
transaction at commit, so the rule "no reads after writes" never bites. ``Aborted`` (lock
timeout, too much contention, a wounded transaction) becomes
:class:`~porfin_core.errors.TransactionConflict`, which the core's ``transact`` helper retries
from the start, after a random wait that spreads colliding retries apart (see
:class:`_Backoff`); any other Google API error becomes
:class:`~porfin_core.errors.StorageUnavailable`. Every RPC carries an explicit timeout and, for
reads, a short retry, so a dead backend fails within seconds instead of minutes.

Uniqueness (identities, provider message ids, one chat per customer and channel) is enforced by
lookup documents with deterministic ids: two transactions that both read a missing lookup
document and then create it conflict, and the loser's retry sees the winner's record.

Search: see :class:`FirestoreChatRepository`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import quote

import attrs
import grpc
from google.api_core import exceptions as gexc
from google.api_core.retry import AsyncRetry, if_exception_type
from google.cloud.firestore import (
    SERVER_TIMESTAMP,
    AsyncClient,
    AsyncCollectionReference,
    AsyncDocumentReference,
    AsyncQuery,
    AsyncTransaction,
    DocumentSnapshot,
    FieldFilter,
)
from google.cloud.firestore_v1.field_path import FieldPath

from porfin_adapters.serialization import (
    event_from_document,
    event_to_document,
    from_document,
    to_document,
    utc_micros,
)
from porfin_adapters.text import digits, fold
from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, identity_keys
from porfin_core.domain.events import DomainEvent
from porfin_core.domain.message import Message
from porfin_core.domain.outbound import Delivery
from porfin_core.errors import (
    Conflict,
    NotFound,
    StorageUnavailable,
    TransactionConflict,
    ValidationError,
)
from porfin_core.pagination import Page, check_limit, decode_cursor, encode_cursor
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import ChatQuery, CustomerQuery, PendingStatus, StoredEvent

Doc = dict[str, Any]
SortKey = tuple[int, str]
Entry = tuple[str, Doc]  # (document id, document)
Entries = list[Entry]
Tokens = list[str]  # an alias: ``list`` is shadowed inside the repositories' class bodies
Snapshot = DocumentSnapshot[Any]
T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
"""Seconds one RPC may take (a commit may wait for locks; the emulator gives up after 2 s)."""

_READ_RETRY = AsyncRetry(
    predicate=if_exception_type(
        gexc.ServiceUnavailable, gexc.InternalServerError, gexc.DeadlineExceeded
    ),
    initial=0.1,
    maximum=1.0,
    multiplier=2.0,
    timeout=3.0,
)
"""Reads are idempotent: retry transient errors briefly, then report the backend unavailable."""

_ROLLBACK_TIMEOUT = 2.0
_DESC = "DESCENDING"
_ASC = "ASCENDING"
_BATCH_LIMIT = 500  # writes per batched delete (Firestore's limit)

# Search tuning (see FirestoreChatRepository).
_NAME_KEY_CHARS = 40
_NAME_WORD_STARTS = 8
_MIN_PHONE_DIGITS = 4
_MIN_WORD_PREFIX = 3
_WORD_KEY_CHARS = 20
_MAX_WORD_KEYS = 2000
_MAX_MESSAGE_HITS = 500
_MAX_CHATS_SCANNED = 1000

_SAFE = "!$&'()*+,;=:@-._~"  # everything a document id allows, minus the separator "|"
_TOKEN = re.compile(r"\w+", re.UNICODE)


def _doc_id(*parts: str) -> str:
    """An injective, valid Firestore document id for ``parts`` (joined by ``|``).

    Percent-escapes ``/``, ``%``, ``|`` and non-ASCII text, and the forms Firestore reserves
    (``.``, ``..``, ``__x__``); the empty string becomes ``%``, which escaping never produces.
    """
    doc_id = "|".join(quote(part, safe=_SAFE) for part in parts)
    if not doc_id:
        return "%"
    if doc_id in (".", ".."):
        return doc_id.replace(".", "%2E")
    if doc_id.startswith("__") and doc_id.endswith("__"):
        return "%5F" + doc_id[1:]
    return doc_id


def _is_doc_id(value: str) -> bool:
    """True for a string Firestore accepts as a document id (as :func:`_doc_id` makes)."""
    reserved = value in (".", "..") or (value.startswith("__") and value.endswith("__"))
    return bool(value) and "/" not in value and not reserved


def _strip(doc: Doc) -> Doc:
    """The entity document without the adapter's helper fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _load(doc: Doc, cls: type[T]) -> T:
    return from_document(_strip(doc), cls)


@contextlib.contextmanager
def _vendor_errors(action: str) -> Iterator[None]:
    """Translate Google client errors into the port's errors."""
    try:
        yield
    except gexc.Aborted as exc:
        raise TransactionConflict(
            f"{action}: a concurrent transaction won", reason=exc.message
        ) from exc
    except gexc.GoogleAPICallError as exc:
        message = str(exc.message or "")
        if "transaction" in message.lower() and (
            "expired" in message.lower() or "no longer valid" in message.lower()
        ):
            # A transaction aborted by the server (wounded, or past its lifetime): retryable.
            raise TransactionConflict(f"{action}: transaction expired", reason=message) from exc
        raise StorageUnavailable(
            f"{action} failed: {message or type(exc).__name__}", grpc_code=str(exc.grpc_status_code)
        ) from exc
    except (gexc.GoogleAPIError, grpc.RpcError) as exc:
        raise StorageUnavailable(f"{action} failed: {exc}") from exc


class _Session:
    """What a unit of work's repositories share: paths, the transaction, buffered writes."""

    def __init__(self, client: AsyncClient, root: str, timeout: float) -> None:
        self.client = client
        self.root = root
        self.timeout = timeout
        self.transaction: AsyncTransaction | None = None
        self.writes: dict[str, tuple[AsyncDocumentReference, Doc | None]] = {}

    # -- paths ----------------------------------------------------------------------------

    def top(self, name: str) -> AsyncCollectionReference:
        collection: AsyncCollectionReference = self.client.collection(f"{self.root}{name}")
        return collection

    def clinic(self, clinic_id: str) -> AsyncDocumentReference:
        return self.top("clinics").document(_doc_id(clinic_id))

    def sub(self, clinic_id: str, name: str) -> AsyncCollectionReference:
        collection: AsyncCollectionReference = self.clinic(clinic_id).collection(name)
        return collection

    # -- reads (through the transaction when there is one) ---------------------------------

    async def get(self, ref: AsyncDocumentReference) -> Doc | None:
        return (await self.get_many([ref]))[ref.path]

    async def get_many(self, refs: Iterable[AsyncDocumentReference]) -> dict[str, Doc | None]:
        unique = {ref.path: ref for ref in refs}
        if not unique:
            return {}
        found: dict[str, Doc | None] = dict.fromkeys(unique)
        with _vendor_errors("read"):
            async for snapshot in self.client.get_all(
                list(unique.values()),
                transaction=self.transaction,
                retry=_READ_RETRY,
                timeout=self.timeout,
            ):
                if snapshot.exists:
                    found[snapshot.reference.path] = snapshot.to_dict()
        return found

    async def query(self, query: AsyncQuery | AsyncCollectionReference) -> list[Snapshot]:
        with _vendor_errors("query"):
            return [
                snapshot
                async for snapshot in query.stream(
                    transaction=self.transaction,  # type: ignore[arg-type]  # stub says sync
                    retry=_READ_RETRY,
                    timeout=self.timeout,
                )
            ]

    # -- writes (buffered until commit) ---------------------------------------------------

    def put(self, ref: AsyncDocumentReference, doc: Doc) -> None:
        self.writes[ref.path] = (ref, doc)

    def delete(self, ref: AsyncDocumentReference) -> None:
        self.writes[ref.path] = (ref, None)

    def buffered(self, ref: AsyncDocumentReference) -> Doc | None:
        write = self.writes.get(ref.path)
        return None if write is None else write[1]


def _entry(snapshot: Snapshot) -> Entry:
    return snapshot.id, snapshot.to_dict() or {}


def _sort_key(entry: Entry) -> SortKey:
    """Where a listed document sorts: (``_sort_micros``, document id), newest first."""
    return int(entry[1]["_sort_micros"]), entry[0]


def _encode_sort_cursor(entry: Entry) -> str:
    return encode_cursor(*_sort_key(entry))


def _decode_sort_cursor(cursor: str | None) -> SortKey | None:
    """``(micros, document id)`` of the last item of the previous page.

    Raises:
        ValidationError: not a cursor of a newest-first list.
    """
    if cursor is None:
        return None
    micros, last_id = decode_cursor(cursor, 2)
    if (
        isinstance(micros, bool)
        or not isinstance(micros, int)
        or not isinstance(last_id, str)
        or not _is_doc_id(last_id)
    ):
        raise ValidationError("invalid cursor", field="cursor")
    return micros, last_id


def _newest_first(
    query: AsyncQuery | AsyncCollectionReference, after: SortKey | None, limit: int
) -> AsyncQuery:
    """``query`` ordered by (``_sort_micros``, id) descending, strictly after ``after``."""
    ordered = query.order_by("_sort_micros", direction=_DESC).order_by(
        FieldPath.document_id(), direction=_DESC
    )
    if after is not None:
        ordered = ordered.start_after({"_sort_micros": after[0], "__name__": after[1]})
    return ordered.limit(limit)


class _Repo:
    def __init__(self, session: _Session) -> None:
        self._s = session


class FirestoreClinicRepository(_Repo):
    """Clinics at ``{root}clinics/{id}``, listed in order of creation (server time)."""

    async def get(self, clinic_id: str) -> Clinic:
        doc = await self._s.get(self._s.clinic(clinic_id))
        if doc is None:
            raise NotFound("clinic not found", id=clinic_id)
        return _load(doc, Clinic)

    async def list(self) -> list[Clinic]:
        snapshots = await self._s.query(self._s.top("clinics").order_by("_created"))
        return [_load(s.to_dict() or {}, Clinic) for s in snapshots]

    async def save(self, clinic: Clinic) -> None:
        ref = self._s.clinic(clinic.id)
        existing = self._s.buffered(ref) or await self._s.get(ref)
        created = existing["_created"] if existing else SERVER_TIMESTAMP
        self._s.put(ref, {**to_document(clinic), "_created": created})


class FirestoreChannelRepository(_Repo):
    """Channels under their clinic, plus ``{root}channel_index/{id}`` to find the clinic."""

    def _index(self, channel_id: str) -> AsyncDocumentReference:
        return self._s.top("channel_index").document(_doc_id(channel_id))

    def _ref(self, clinic_id: str, channel_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "channels").document(_doc_id(channel_id))

    async def get(self, channel_id: str) -> Channel:
        index = await self._s.get(self._index(channel_id))
        doc = None
        if index is not None:
            doc = await self._s.get(self._ref(index["clinic_id"], channel_id))
        if doc is None:
            raise NotFound("channel not found", id=channel_id)
        return _load(doc, Channel)

    async def list(self, clinic_id: str) -> list[Channel]:
        query = self._s.sub(clinic_id, "channels").order_by("_sort_micros")
        return [_load(s.to_dict() or {}, Channel) for s in await self._s.query(query)]

    async def save(self, channel: Channel) -> None:
        index_ref = self._index(channel.id)
        index = await self._s.get(index_ref)
        if index is not None and index["clinic_id"] != channel.clinic_id:
            self._s.delete(self._ref(index["clinic_id"], channel.id))  # moved to another clinic
        doc = {**to_document(channel), "_sort_micros": utc_micros(channel.created_at)}
        self._s.put(self._ref(channel.clinic_id, channel.id), doc)
        self._s.put(index_ref, {"clinic_id": channel.clinic_id})


class FirestoreCustomerRepository(_Repo):
    """Customers under their clinic; ``identities/{kind:value}`` maps each identity to one."""

    def _ref(self, clinic_id: str, customer_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "customers").document(_doc_id(customer_id))

    def _identity(self, clinic_id: str, key: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "identities").document(_doc_id(key))

    async def get(self, clinic_id: str, customer_id: str) -> Customer:
        doc = await self._s.get(self._ref(clinic_id, customer_id))
        if doc is None:
            raise NotFound("customer not found", id=customer_id)
        return _load(doc, Customer)

    async def find_by_identity(self, clinic_id: str, keys: list[str]) -> Customer | None:
        owners = await self._s.get_many(self._identity(clinic_id, key) for key in keys)
        customer_ids = {owner["customer_id"] for owner in owners.values() if owner is not None}
        docs = await self._s.get_many(self._ref(clinic_id, cid) for cid in customer_ids)
        found = [doc for doc in docs.values() if doc is not None]
        if not found:
            return None
        return _load(min(found, key=lambda d: (d["_sort_micros"], d["id"])), Customer)

    async def save(self, customer: Customer) -> None:
        keys = identity_keys(customer.identities)
        refs = {key: self._identity(customer.clinic_id, key) for key in keys}
        owners = await self._s.get_many(refs.values())
        for key, ref in refs.items():
            owner = owners[ref.path]
            written = self._s.writes.get(ref.path)
            if written is not None:  # released earlier in this unit of work (a merge)
                owner = written[1]
            if customer.merged_into is not None:  # merged: its identities lead elsewhere now
                if owner is not None and owner["customer_id"] == customer.id:
                    self._s.delete(ref)
                continue
            if owner is not None and owner["customer_id"] != customer.id:
                raise Conflict("identity belongs to another customer", identity=key)
            self._s.put(ref, {"customer_id": customer.id, "key": key})
        # Imported here: the customers module builds on this module's helpers.
        from porfin_adapters.firestore.customers import customer_facets, customer_search_keys

        doc = to_document(customer)
        if customer.merged_into is None:
            # A merged customer lacks the fields every list orders or filters by: no list
            # or search shows it.
            doc |= {
                "_sort_micros": utc_micros(customer.created_at),
                "_facets": customer_facets(customer),
                "_search": customer_search_keys(customer),
            }
        self._s.put(self._ref(customer.clinic_id, customer.id), doc)

    async def list(self, query: CustomerQuery) -> Page[Customer]:
        """Newest first; filters and search as :mod:`porfin_adapters.firestore.customers`
        describes."""
        from porfin_adapters.firestore.customers import list_customers

        return await list_customers(self._s, query)

    async def count_created(self, clinic_id: str, since: datetime, until: datetime) -> int:
        """Merged customers have no ``_sort_micros``: the range leaves them out."""
        query = (
            self._s.sub(clinic_id, "customers")
            .where(filter=FieldFilter("_sort_micros", ">=", utc_micros(since)))
            .where(filter=FieldFilter("_sort_micros", "<", utc_micros(until)))
            .select(["_sort_micros"])
        )
        return len(await self._s.query(query))


# -- search keys ------------------------------------------------------------------------------


def _tokens(text: str) -> list[str]:
    """Folded words of ``text``, in order, repeats kept."""
    return _TOKEN.findall(fold(text))


def _starts_a_word(phrase: str, tokens: list[str]) -> bool:
    """True when ``phrase`` (joined tokens) occurs in ``tokens`` starting at a word."""
    return (" " + " ".join(tokens)).find(" " + phrase) >= 0


def _name_keys(name: str) -> list[str]:
    tokens = _tokens(name)
    keys: list[str] = []
    for start in range(min(len(tokens), _NAME_WORD_STARTS)):
        tail = " ".join(tokens[start:])[:_NAME_KEY_CHARS]
        keys += ["n:" + tail[:end] for end in range(1, len(tail) + 1) if tail[end - 1] != " "]
    return keys


def _phone_keys(phone: str | None) -> list[str]:
    number = digits(phone or "")
    return [
        "p:" + number[i:j]
        for i in range(len(number))
        for j in range(i + _MIN_PHONE_DIGITS, len(number) + 1)
    ]


def _word_key(token: str) -> str:
    return token if len(token) < _MIN_WORD_PREFIX else token[:_WORD_KEY_CHARS]


def _word_keys(body: str | None) -> list[str]:
    keys: list[str] = []
    for word in dict.fromkeys(_tokens(body or "")):
        if len(word) < _MIN_WORD_PREFIX:
            keys.append(word)
        else:
            keys += [word[:end] for end in range(_MIN_WORD_PREFIX, len(word[:_WORD_KEY_CHARS]) + 1)]
    return list(dict.fromkeys(keys))[:_MAX_WORD_KEYS]


def _facet(name: str, value: str) -> str:
    return f"{name}={quote(value, safe='')}"


def _chat_facets(chat: Chat) -> list[str]:
    """One key per combination of the chat's filterable values (at most 15)."""
    values = [
        _facet("m", chat.mode.value),
        _facet("s", chat.status.value),
        _facet("a", chat.assignee_id or ""),
    ]
    if chat.unread_count > 0:
        values.append(_facet("u", "1"))
    return [
        "|".join(combo)
        for size in range(1, len(values) + 1)
        for combo in itertools.combinations(values, size)
    ]


class _Unsatisfiable(Exception):
    """The filters contradict each other (an assignee and unassigned)."""


def _query_facets(query: ChatQuery) -> list[str] | None:
    """Facet keys of which every chat matching the query's filters carries at least one;
    None without filters. ``visible_to`` (assigned to someone or to nobody) is the only
    filter that needs two keys.

    Raises:
        _Unsatisfiable: no chat can match.
    """
    if query.visible_to is None:
        facet = _query_facet(query)
        return None if facet is None else [facet]
    if query.unassigned or query.assignee_id == query.visible_to:
        return [_query_facet(attrs.evolve(query, visible_to=None)) or ""]
    if query.assignee_id is not None:
        raise _Unsatisfiable
    return [
        _query_facet(attrs.evolve(query, visible_to=None, assignee_id=query.visible_to)) or "",
        _query_facet(attrs.evolve(query, visible_to=None, unassigned=True)) or "",
    ]


def _query_facet(query: ChatQuery) -> str | None:
    """The facet key every chat matching the query's filters carries; None without filters.

    Raises:
        _Unsatisfiable: no chat can match.
    """
    values = []
    if query.mode is not None:
        values.append(_facet("m", query.mode.value))
    if query.status is not None:
        values.append(_facet("s", query.status.value))
    if query.assignee_id is not None and query.unassigned:
        raise _Unsatisfiable
    if query.assignee_id is not None:
        values.append(_facet("a", query.assignee_id))
    if query.unassigned:
        values.append(_facet("a", ""))
    if query.unread:
        values.append(_facet("u", "1"))
    return "|".join(values) if values else None


async def scan_newest_first(
    session: _Session,
    query: AsyncQuery,
    after: SortKey | None,
    accept: Callable[[Doc], bool],
    want: int,
    max_scanned: int,
) -> tuple[Entries, SortKey | None]:
    """Read ``query`` newest first until ``want`` documents pass ``accept``, reading at most
    about ``max_scanned`` documents.

    Returns the accepted documents and, unless the query was read to its end, the sort key of
    the last document read (where the next page resumes).
    """
    found: Entries = []
    scanned = 0
    last = after
    batch = max(want, 25)
    while True:
        snapshots = await session.query(_newest_first(query, last, batch))
        for snapshot in snapshots:
            entry = _entry(snapshot)
            last = _sort_key(entry)
            scanned += 1
            if accept(entry[1]):
                found.append(entry)
                if len(found) == want:
                    return found, last
        if len(snapshots) < batch:
            return found, None
        if scanned >= max_scanned:
            return found, last


class FirestoreChatRepository(_Repo):
    """Chats under their clinic, listed newest first on (``_sort_micros``, id).

    Filters: each chat carries ``_facets``, one key per combination of its mode, status,
    assignee and unread flag (e.g. ``s=open|a=``, at most 15 keys). Any combination of filters
    is then one ``array-contains`` on ``_facets`` ordered by ``_sort_micros``: a single
    composite index serves every filter combination.

    Search (Firestore has no full-text search): the chat carries ``_search`` keys, and each
    message ``_words``; a search folds the term (case and accents) and unions three matches:

    * name: ``n:`` + every prefix (up to 40 characters) of the folded name read from each of
      its first 8 words, so a term matches when it starts at a word of the name ("conce",
      "joao conc");
    * phone: ``p:`` + every run of at least 4 consecutive digits of the phone, so any 4+
      digits of the number match ("4300", "98765-4300");
    * message text: every message stores its distinct folded words, and the prefixes (3 to 20
      characters) of those of 3+ letters; the term's longest word is looked up there and the
      whole term is checked against the body of the 500 most recent hits.

    Name and phone are one ``array-contains-any`` query on ``_search``; the chat filters are
    applied to its results in memory (at most 1000 chats are scanned per page: a page may come
    back short, with a cursor to continue). Limits, compared with the SQLite and memory
    stores: a name or message matches only from the start of a word ("ceicao" does not find
    "Conceição"), message words shorter than 3 letters match only whole, phone search needs 4+
    digits, and only the 500 most recent matching messages are considered.
    """

    def _ref(self, clinic_id: str, chat_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "chats").document(_doc_id(chat_id))

    def _key_ref(self, clinic_id: str, customer_id: str, channel_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "chat_keys").document(_doc_id(customer_id, channel_id))

    async def get(self, clinic_id: str, chat_id: str) -> Chat:
        doc = await self._s.get(self._ref(clinic_id, chat_id))
        if doc is None:
            raise NotFound("chat not found", id=chat_id)
        return _load(doc, Chat)

    async def find(self, clinic_id: str, customer_id: str, channel_id: str) -> Chat | None:
        key = await self._s.get(self._key_ref(clinic_id, customer_id, channel_id))
        if key is None:
            return None
        doc = await self._s.get(self._ref(clinic_id, key["chat_id"]))
        if doc is None or (doc["customer_id"], doc["channel_id"]) != (customer_id, channel_id):
            return None
        return _load(doc, Chat)

    async def save(self, chat: Chat) -> None:
        doc = {
            **to_document(chat),
            "_sort_micros": utc_micros(chat.last_message_at),
            "_facets": _chat_facets(chat),
            "_search": list(
                dict.fromkeys(_name_keys(chat.customer_name) + _phone_keys(chat.customer_phone))
            ),
        }
        if chat.waiting_since is not None:
            # Only waiting chats have the field: ordering by it leaves the others out.
            doc["_waiting_micros"] = utc_micros(chat.waiting_since)
        self._s.put(self._ref(chat.clinic_id, chat.id), doc)
        self._s.put(
            self._key_ref(chat.clinic_id, chat.customer_id, chat.channel_id), {"chat_id": chat.id}
        )

    async def save_transferred(self, chat: Chat, from_customer_id: str) -> None:
        await self.save(chat)
        self._s.delete(self._key_ref(chat.clinic_id, from_customer_id, chat.channel_id))

    async def remove(self, chat: Chat) -> None:
        self._s.delete(self._ref(chat.clinic_id, chat.id))
        self._s.delete(self._key_ref(chat.clinic_id, chat.customer_id, chat.channel_id))

    async def list(self, query: ChatQuery) -> Page[Chat]:
        limit = check_limit(query.limit)
        after = _decode_sort_cursor(query.cursor)
        try:
            facets = _query_facets(query)
        except _Unsatisfiable:
            return Page([])
        search = (query.search or "").strip()
        if search and not _tokens(search):
            return Page([])
        chats: AsyncQuery | AsyncCollectionReference = self._s.sub(query.clinic_id, "chats")
        if query.waiting:
            return await self._waiting(
                query.clinic_id, _with_facets(chats, facets), search, after, limit
            )
        if search:
            tokens = _tokens(search)
            return await self._search(query.clinic_id, facets, tokens, digits(search), after, limit)
        chats = _with_facets(chats, facets)
        snapshots = await self._s.query(_newest_first(chats, after, limit + 1))
        return _chat_page([_entry(s) for s in snapshots], limit, None)

    async def _waiting(
        self,
        clinic_id: str,
        chats: AsyncQuery | AsyncCollectionReference,
        search: str,
        after: SortKey | None,
        limit: int,
    ) -> Page[Chat]:
        """Waiting chats, oldest wait first on (``_waiting_micros``, id). A search is applied
        to them as they are read (at most about 1000 per page: there are few waiting chats),
        by name, phone and the chats of the most recent matching messages."""
        tokens = _tokens(search)
        phrase, number = " ".join(tokens), digits(search)
        by_text: set[str] = set()
        if search:
            by_text = {d for d, _ in await self._by_message_text(clinic_id, tokens, phrase)}

        def accept(entry: Entry) -> bool:
            doc = entry[1]
            if not search or entry[0] in by_text:
                return True
            if _starts_a_word(phrase, _tokens(doc["customer_name"])):
                return True
            return len(number) >= _MIN_PHONE_DIGITS and number in digits(
                doc["customer_phone"] or ""
            )

        ordered = chats.order_by("_waiting_micros", direction=_ASC).order_by(
            FieldPath.document_id(), direction=_ASC
        )
        found: Entries = []
        last, scanned, batch = after, 0, limit + 1 if not search else max(limit + 1, 100)
        while True:
            page = ordered
            if last is not None:
                page = page.start_after({"_waiting_micros": last[0], "__name__": last[1]})
            snapshots = await self._s.query(page.limit(batch))
            for snapshot in snapshots:
                entry = _entry(snapshot)
                scanned += 1
                if accept(entry):
                    found.append(entry)
                    if len(found) > limit:
                        items = [_load(doc, Chat) for _, doc in found[:limit]]
                        return Page(items, encode_cursor(*_wait_key(found[limit - 1])))
                last = _wait_key(entry)
            if len(snapshots) < batch:
                return Page([_load(doc, Chat) for _, doc in found])
            if scanned >= _MAX_CHATS_SCANNED:
                # Read enough for one page: the next one resumes where this scan stopped.
                resume = encode_cursor(*last) if last is not None else None
                return Page([_load(doc, Chat) for _, doc in found], resume)

    async def _search(
        self,
        clinic_id: str,
        facets: list[str] | None,
        tokens: Tokens,
        number: str,
        after: SortKey | None,
        limit: int,
    ) -> Page[Chat]:
        phrase = " ".join(tokens)
        use_phone = len(number) >= _MIN_PHONE_DIGITS

        def facet_ok(doc: Doc) -> bool:
            return facets is None or any(f in doc.get("_facets", ()) for f in facets)

        def name_or_phone(doc: Doc) -> bool:
            if _starts_a_word(phrase, _tokens(doc["customer_name"])):
                return True
            return use_phone and number in digits(doc["customer_phone"] or "")

        keys = ["n:" + phrase[:_NAME_KEY_CHARS]]
        if use_phone:
            keys.append("p:" + number)
        by_name_or_phone = self._s.sub(clinic_id, "chats").where(
            filter=FieldFilter("_search", "array_contains_any", keys)
        )
        found, stopped_at = await scan_newest_first(
            self._s,
            by_name_or_phone,
            after,
            lambda d: facet_ok(d) and name_or_phone(d),
            limit + 1,
            _MAX_CHATS_SCANNED,
        )
        for entry in await self._by_message_text(clinic_id, tokens, phrase):
            key = _sort_key(entry)
            if not facet_ok(entry[1]) or (after is not None and key >= after):
                continue
            if stopped_at is not None and key < stopped_at:
                continue  # beyond what the name/phone scan covered: a later page's business
            found.append(entry)
        return _chat_page(found, limit, stopped_at)

    async def _by_message_text(self, clinic_id: str, tokens: Tokens, phrase: str) -> Entries:
        """Chats with a recent message whose text contains ``phrase`` from a word start."""
        longest = max(tokens, key=len)
        exact = len(tokens) == 1 and len(longest) <= _WORD_KEY_CHARS
        query = (
            self._s.sub(clinic_id, "messages")
            .where(filter=FieldFilter("_words", "array_contains", _word_key(longest)))
            .order_by("_sort_micros", direction=_DESC)
            .select(["chat_id"] if exact else ["chat_id", "body"])
            .limit(_MAX_MESSAGE_HITS)
        )
        chat_ids = {
            doc["chat_id"]
            for doc in (s.to_dict() or {} for s in await self._s.query(query))
            if exact or _starts_a_word(phrase, _tokens(doc.get("body") or ""))
        }
        docs = await self._s.get_many(self._ref(clinic_id, chat_id) for chat_id in chat_ids)
        return [(path.rsplit("/", 1)[-1], doc) for path, doc in docs.items() if doc is not None]


def _with_facets(
    chats: AsyncQuery | AsyncCollectionReference, facets: list[str] | None
) -> AsyncQuery | AsyncCollectionReference:
    """``chats`` filtered on the query's facet keys (see :func:`_query_facets`)."""
    if facets is not None and len(facets) == 1:
        return chats.where(filter=FieldFilter("_facets", "array_contains", facets[0]))
    if facets is not None:
        return chats.where(filter=FieldFilter("_facets", "array_contains_any", facets))
    return chats


def _wait_key(entry: Entry) -> SortKey:
    """Where a waiting chat sorts: (``_waiting_micros``, document id), oldest first."""
    return int(entry[1]["_waiting_micros"]), entry[0]


def _chat_page(found: Entries, limit: int, stopped_at: SortKey | None) -> Page[Chat]:
    """The first ``limit`` chats of ``found``, newest first, and the next page's cursor.

    ``stopped_at`` is where an unfinished scan stopped: the next page resumes there even when
    this one came back short.
    """
    unique = {doc_id: (doc_id, doc) for doc_id, doc in found}
    ordered = sorted(unique.values(), key=_sort_key, reverse=True)
    page = ordered[:limit]
    if len(ordered) > limit:
        next_cursor: str | None = _encode_sort_cursor(page[-1])
    elif stopped_at is not None:
        next_cursor = encode_cursor(*stopped_at)
    else:
        next_cursor = None
    return Page([_load(doc, Chat) for _, doc in page], next_cursor)


class FirestoreMessageRepository(_Repo):
    """Messages under their clinic; ``provider_ids/{channel|provider id}`` dedupes them."""

    def _ref(self, clinic_id: str, message_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "messages").document(_doc_id(message_id))

    def _provider_ref(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "provider_ids").document(
            _doc_id(channel_id, provider_message_id)
        )

    async def get(self, clinic_id: str, message_id: str) -> Message:
        doc = await self._s.get(self._ref(clinic_id, message_id))
        if doc is None:
            raise NotFound("message not found", id=message_id)
        return _load(doc, Message)

    async def find_by_provider_id(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> Message | None:
        owner = await self._s.get(self._provider_ref(clinic_id, channel_id, provider_message_id))
        if owner is None:
            return None
        doc = await self._s.get(self._ref(clinic_id, owner["message_id"]))
        return None if doc is None else _load(doc, Message)

    async def save(self, message: Message) -> None:
        if message.provider_message_id is not None:
            ref = self._provider_ref(
                message.clinic_id, message.channel_id, message.provider_message_id
            )
            owner = await self._s.get(ref)
            if owner is not None and owner["message_id"] != message.id:
                raise Conflict(
                    "provider message id already recorded",
                    provider_message_id=message.provider_message_id,
                )
            self._s.put(ref, {"message_id": message.id})
        doc = {
            **to_document(message),
            "_sort_micros": utc_micros(message.created_at),
            "_words": _word_keys(message.body),
        }
        self._s.put(self._ref(message.clinic_id, message.id), doc)

    async def list_for_chat(
        self, clinic_id: str, chat_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Message]:
        check_limit(limit)
        after = _decode_sort_cursor(cursor)
        query = self._s.sub(clinic_id, "messages").where(
            filter=FieldFilter("chat_id", "==", chat_id)
        )
        entries = [_entry(s) for s in await self._s.query(_newest_first(query, after, limit + 1))]
        page = entries[:limit]
        next_cursor = _encode_sort_cursor(page[-1]) if len(entries) > limit else None
        return Page([_load(doc, Message) for _, doc in page], next_cursor)

    async def list_for_clinic(
        self,
        clinic_id: str,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> Page[Message]:
        """Oldest first on (``_sort_micros``, id): the single-field index serves it."""
        check_limit(limit)
        after = _decode_sort_cursor(cursor)
        query = (
            self._s.sub(clinic_id, "messages")
            .where(filter=FieldFilter("_sort_micros", ">=", utc_micros(since)))
            .where(filter=FieldFilter("_sort_micros", "<", utc_micros(until)))
            .order_by("_sort_micros", direction=_ASC)
            .order_by(FieldPath.document_id(), direction=_ASC)
        )
        if after is not None:
            query = query.start_after({"_sort_micros": after[0], "__name__": after[1]})
        entries = [_entry(s) for s in await self._s.query(query.limit(limit + 1))]
        page = entries[:limit]
        next_cursor = _encode_sort_cursor(page[-1]) if len(entries) > limit else None
        return Page([_load(doc, Message) for _, doc in page], next_cursor)

    async def move_to_chat(self, clinic_id: str, from_chat_id: str, to_chat_id: str) -> int:
        """Rewrites every message of the chat in the transaction (read through it, so a
        message arriving meanwhile conflicts); its helper fields stay."""
        query = self._s.sub(clinic_id, "messages").where(
            filter=FieldFilter("chat_id", "==", from_chat_id)
        )
        snapshots = await self._s.query(query)
        for snapshot in snapshots:
            self._s.put(snapshot.reference, {**(snapshot.to_dict() or {}), "chat_id": to_chat_id})
        return len(snapshots)


class FirestorePendingStatusRepository(_Repo):
    """Statuses waiting for their message, keyed by (channel, provider id) in ``_key``."""

    def __init__(self, session: _Session, ids: IdGenerator) -> None:
        super().__init__(session)
        self._ids = ids

    async def add(self, pending: PendingStatus) -> None:
        ref = self._s.sub(pending.clinic_id, "pending_statuses").document(
            _doc_id(self._ids.new_id())
        )
        key = _doc_id(pending.channel_id, pending.provider_message_id)
        self._s.put(ref, {**to_document(pending), "_key": key})

    async def take(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> list[PendingStatus]:
        query = self._s.sub(clinic_id, "pending_statuses").where(
            filter=FieldFilter("_key", "==", _doc_id(channel_id, provider_message_id))
        )
        snapshots = sorted(await self._s.query(query), key=lambda s: s.id)
        for snapshot in snapshots:
            self._s.delete(snapshot.reference)
        return [_load(s.to_dict() or {}, PendingStatus) for s in snapshots]


class FirestoreDeliveryRepository(_Repo):
    """The sending outbox at ``{root}deliveries/{message_id}`` (+ ``_due_micros``): one
    top-level collection, so a sender finds every clinic's due deliveries with one query."""

    def _ref(self, message_id: str) -> AsyncDocumentReference:
        return self._s.top("deliveries").document(_doc_id(message_id))

    async def get(self, clinic_id: str, message_id: str) -> Delivery | None:
        doc = await self._s.get(self._ref(message_id))
        if doc is None or doc.get("clinic_id") != clinic_id:
            return None
        return _load(doc, Delivery)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        query = (
            self._s.top("deliveries")
            .where(filter=FieldFilter("_due_micros", "<=", utc_micros(now)))
            .order_by("_due_micros")
            .limit(limit)
        )
        return [_load(s.to_dict() or {}, Delivery) for s in await self._s.query(query)]

    async def save(self, delivery: Delivery) -> None:
        doc = {**to_document(delivery), "_due_micros": utc_micros(delivery.due_at)}
        self._s.put(self._ref(delivery.message_id), doc)

    async def remove(self, delivery: Delivery) -> None:
        self._s.delete(self._ref(delivery.message_id))


class _Backoff:
    """How long a unit of work that lost a lock conflict waits before its caller retries.

    Firestore locks what a transaction reads; transactions that read the same documents and
    then commit wait for each other until the server aborts them (after 2 s on the emulator),
    all at about the same moment. Retried at once, they would collide again. A random wait
    spreads the retries out; the window doubles with each recent conflict (up to ``cap``) and
    shrinks again as commits succeed.
    """

    def __init__(self, base: float = 0.05, cap: float = 1.0) -> None:
        self._base = base
        self._cap = cap
        self._level = 0

    def conflict(self) -> float:
        self._level = min(self._level + 1, 16)
        return random.uniform(0.0, min(self._cap, self._base * 2**self._level))

    def success(self) -> None:
        self._level = max(0, self._level - 1)


class FirestoreUnitOfWork:
    """A unit of work: one Firestore transaction, or plain reads when ``read_only``.

    Reads see committed state (a write unit of work reads through its transaction, which
    locks what it read until commit or rollback); writes are buffered and sent with the
    recorded events in the single commit. Leaving without committing rolls back.
    """

    def __init__(
        self,
        client: AsyncClient,
        ids: IdGenerator,
        root: str,
        read_only: bool,
        timeout: float,
        on_commit: Callable[[list[StoredEvent]], None] | None,
        backoff: _Backoff,
        write_lock: asyncio.Lock,
    ) -> None:
        self._session = _Session(client, root, timeout)
        self._write_lock = write_lock
        self._holding_lock = False
        self._backoff = backoff
        self._ids = ids
        self._read_only = read_only
        self._on_commit = on_commit
        self._events: list[DomainEvent] = []
        self._committed = False
        self.clinics = FirestoreClinicRepository(self._session)
        self.channels = FirestoreChannelRepository(self._session)
        self.customers = FirestoreCustomerRepository(self._session)
        self.chats = FirestoreChatRepository(self._session)
        self.messages = FirestoreMessageRepository(self._session)
        self.pending_statuses = FirestorePendingStatusRepository(self._session, ids)
        self.deliveries = FirestoreDeliveryRepository(self._session)
        # Imported here: the jobs module builds on this module's helpers.
        from porfin_adapters.firestore.jobs import FirestoreJobRepository

        self.jobs = FirestoreJobRepository(self._session)
        # Imported here: the audit module builds on this module's helpers.
        from porfin_adapters.firestore.audit import FirestoreAuditLog

        self.audit = FirestoreAuditLog(self._session)
        # Imported here: the accounts module builds on this module's helpers.
        from porfin_adapters.firestore import accounts

        self.staff = accounts.FirestoreStaffUserRepository(self._session)
        self.refresh_tokens = accounts.FirestoreRefreshTokenRepository(self._session)
        self.account_tokens = accounts.FirestoreAccountTokenRepository(self._session)
        # Imported here: the scheduling module builds on this module's helpers.
        from porfin_adapters.firestore import scheduling

        self.professionals = scheduling.FirestoreProfessionalRepository(self._session)
        self.appointment_types = scheduling.FirestoreAppointmentTypeRepository(self._session)
        self.closures = scheduling.FirestoreClosureRepository(self._session)
        self.appointments = scheduling.FirestoreAppointmentRepository(self._session)
        self.waitlist = scheduling.FirestoreWaitlistRepository(self._session)
        # Imported here: the charges module builds on this module's helpers.
        from porfin_adapters.firestore import charges

        self.charges = charges.FirestoreChargeRepository(self._session)
        self.transactions = charges.FirestoreTransactionLog(self._session)
        # Imported here: the assistant module builds on this module's helpers.
        from porfin_adapters.firestore.assistant import FirestoreAssistantTurnRepository

        self.assistant_turns = FirestoreAssistantTurnRepository(self._session)
        # Imported here: the calendar module builds on this module's helpers.
        from porfin_adapters.firestore import calendar

        self.calendar_connections = calendar.FirestoreCalendarConnectionRepository(self._session)
        self.calendar_links = calendar.FirestoreCalendarLinkRepository(self._session)
        self.calendar_busy = calendar.FirestoreCalendarBusyRepository(self._session)
        self.calendar_feeds = calendar.FirestoreCalendarFeedRepository(self._session)

    async def __aenter__(self) -> FirestoreUnitOfWork:
        if not self._read_only:
            # One write transaction at a time per process: transactions of one process never
            # contend with each other (the emulator settles each conflict after a 2 s lock
            # timeout); transactions of other processes still conflict and are retried.
            await self._write_lock.acquire()
            self._holding_lock = True
            try:
                self._session.transaction = await _begin(self._session)
            except BaseException:
                self._release()
                raise
        return self

    def _release(self) -> None:
        if self._holding_lock:
            self._holding_lock = False
            self._write_lock.release()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        transaction = self._session.transaction
        self._session.transaction = None
        self._session.writes.clear()
        self._events.clear()
        self.audit.discard()
        try:
            if transaction is not None and not self._committed:
                await _rollback(self._session, transaction)
        finally:
            self._release()
        if isinstance(exc, TransactionConflict):
            await asyncio.sleep(self._backoff.conflict())

    def record(self, events: Iterable[DomainEvent]) -> None:
        """Add events to the outbox, committed with the state change."""
        self._events.extend(events)

    async def commit(self) -> None:
        """Send the buffered writes and the recorded events in one transaction commit.

        Raises:
            TransactionConflict: a concurrent transaction won (Firestore ``ABORTED``).
            StorageUnavailable: Firestore failed or refused a document.
            RuntimeError: the unit of work is read-only or already committed.
        """
        transaction = self._session.transaction
        if self._read_only:
            raise RuntimeError("read-only unit of work cannot commit")
        if transaction is None or self._committed:
            raise RuntimeError("unit of work is not active or already committed")
        stored = [StoredEvent(self._ids.new_id(), event) for event in self._events]
        outbox = self._session.top("outbox")
        try:
            # First: it reads the audit chain heads through the transaction.
            await self.audit.write_pending(transaction)
            for ref, doc in self._session.writes.values():
                if doc is None:
                    transaction.delete(ref)
                else:
                    transaction.set(ref, doc)
            for item in stored:
                transaction.set(
                    outbox.document(_doc_id(item.id)),
                    {"id": item.id, **event_to_document(item.event)},
                )
        except (ValueError, TypeError) as exc:  # a value Firestore cannot store
            raise StorageUnavailable(f"document rejected: {exc}") from exc
        with _vendor_errors("commit"):
            await self._session.client._firestore_api.commit(
                request={
                    "database": self._session.client._database_string,
                    "writes": transaction._write_pbs,
                    "transaction": transaction.id,
                },
                metadata=self._session.client._rpc_metadata,
                retry=None,  # not idempotent: an unknown outcome must not be replayed blindly
                timeout=self._session.timeout,
            )
        self._committed = True
        self._backoff.success()
        self._session.writes.clear()
        self._events.clear()
        if self._on_commit is not None and stored:
            self._on_commit(stored)


# The transaction RPCs are called on the generated client: the public ``async_transactional``
# decorator owns a retry loop (the core's ``transact`` owns ours) and sets no timeouts, and
# ``AsyncTransaction._begin``/``_commit``/``_rollback`` take neither retry nor timeout.
# ``AsyncTransaction`` is still used to hold the id and to build the write protobufs.


async def _begin(session: _Session) -> AsyncTransaction:
    client = session.client
    transaction = client.transaction(max_attempts=1)
    with _vendor_errors("begin transaction"):
        response = await client._firestore_api.begin_transaction(
            request={"database": client._database_string},
            metadata=client._rpc_metadata,
            retry=_READ_RETRY,
            timeout=session.timeout,
        )
    transaction._id = response.transaction
    return transaction


async def _rollback(session: _Session, transaction: AsyncTransaction) -> None:
    """Release the transaction's locks now rather than when it expires; best effort."""
    client = session.client
    with contextlib.suppress(gexc.GoogleAPIError, grpc.RpcError):
        await client._firestore_api.rollback(
            request={"database": client._database_string, "transaction": transaction.id},
            metadata=client._rpc_metadata,
            retry=None,
            timeout=_ROLLBACK_TIMEOUT,
        )


class FirestoreUnitOfWorkFactory:
    """Makes units of work on one Firestore database.

    Args:
        client: The async client (the caller owns it and closes it).
        ids: Ids of outbox events and pending statuses.
        root: Prefix of every top-level collection (``clinics``, ``channel_index``,
            ``outbox``), so several installations or test runs can share a database.
        timeout: Seconds any one RPC may take.

    Attributes:
        on_commit: Called with the stored events after each commit that recorded some.
    """

    def __init__(
        self,
        client: AsyncClient,
        ids: IdGenerator,
        root: str = "",
        *,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.client = client
        self.root = root
        self._ids = ids
        self._timeout = timeout
        self._backoff = _Backoff()
        self._write_lock: asyncio.Lock | None = None
        self.on_commit: Callable[[list[StoredEvent]], None] | None = None

    def __call__(self, *, read_only: bool = False) -> FirestoreUnitOfWork:
        if self._write_lock is None:
            self._write_lock = asyncio.Lock()
        return FirestoreUnitOfWork(
            self.client,
            self._ids,
            self.root,
            read_only,
            self._timeout,
            self.on_commit,
            self._backoff,
            self._write_lock,
        )


class FirestoreEventOutbox:
    """The outbox collection ``{root}outbox``: one document per event, ids in time order.

    Args:
        client: The async client.
        root: The same collection prefix as the unit-of-work factory's.
        timeout: Seconds any one RPC may take.
    """

    def __init__(
        self, client: AsyncClient, root: str = "", *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        self._session = _Session(client, root, timeout)

    async def pending(self, limit: int = 100) -> list[StoredEvent]:
        """Undispatched events, oldest first (event ids are time-ordered)."""
        query = self._session.top("outbox").order_by(FieldPath.document_id()).limit(limit)
        return [
            StoredEvent(doc["id"], event_from_document(doc))
            for doc in (s.to_dict() or {} for s in await self._session.query(query))
        ]

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        """Delete the dispatched events (in batches of 500 writes)."""
        outbox = self._session.top("outbox")
        for start in range(0, len(event_ids), _BATCH_LIMIT):
            batch = self._session.client.batch()
            for event_id in event_ids[start : start + _BATCH_LIMIT]:
                batch.delete(outbox.document(_doc_id(event_id)))
            with _vendor_errors("delete dispatched events"):
                await batch.commit(retry=_READ_RETRY, timeout=self._session.timeout)
