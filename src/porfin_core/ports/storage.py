"""Storage ports: repositories, the unit of work that commits them, and the event outbox.

Every adapter (memory, SQLite, Firestore) passes one contract suite (``tests/contract``), so a
use case behaves the same on each. Reads inside a unit of work see committed state; writes
become visible to others when ``commit`` returns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import Protocol

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, FunnelStage
from porfin_core.domain.events import DomainEvent
from porfin_core.domain.jobs import Job
from porfin_core.domain.message import Message, StatusChange
from porfin_core.domain.outbound import Delivery
from porfin_core.domain.staff import AccountToken, RefreshToken, StaffUser
from porfin_core.pagination import DEFAULT_PAGE_SIZE, Page
from porfin_core.ports.assistant import AssistantTurnRepository
from porfin_core.ports.audit import AuditLog
from porfin_core.ports.calendar import (
    CalendarBusyRepository,
    CalendarConnectionRepository,
    CalendarFeedRepository,
    CalendarLinkRepository,
)
from porfin_core.ports.charges import ChargeRepository, TransactionLog
from porfin_core.ports.scheduling import (
    AppointmentRepository,
    AppointmentTypeRepository,
    ClosureRepository,
    ProfessionalRepository,
    WaitlistRepository,
)


@attrs.frozen(kw_only=True)
class ChatQuery:
    """Filters for the chat list; every filter is optional and they combine with AND.

    Attributes:
        clinic_id: The clinic whose chats are listed.
        mode: Only chats in this mode (the stored mode; an expired pause still reads
            ``paused``).
        status: Only open or only closed chats.
        assignee_id: Only chats assigned to this staff member.
        unassigned: Only chats nobody is in charge of.
        unread: Only chats with unread patient messages.
        waiting: Only chats waiting for a person to answer (``Chat.waiting_since`` set),
            listed oldest wait first (by ``waiting_since``, then id) instead of by recency.
        visible_to: Only chats assigned to this staff member or to nobody (what a
            secretary's limited chat access covers).
        search: Case- and accent-insensitive text found in the customer's name, their phone
            digits, or any message of the chat.
        limit: Page size.
        cursor: Cursor of the page to read (from the previous page).
    """

    clinic_id: str
    mode: ChatMode | None = None
    status: ChatStatus | None = None
    assignee_id: str | None = None
    unassigned: bool = False
    unread: bool = False
    waiting: bool = False
    visible_to: str | None = None
    search: str | None = None
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class CustomerQuery:
    """Filters for the customer list; every filter is optional and they combine with AND.

    Attributes:
        clinic_id: The clinic whose customers are listed.
        stage: Only customers at this funnel stage.
        tag: Only customers carrying this tag (already normalized, see
            :func:`porfin_core.domain.customer.normalize_tag`).
        search: A name or a phone number, matched case- and accent-insensitively: every word
            of the term must begin a word of the name (``"jo conc"`` finds "João da
            Conceição"), or, when the term looks like a phone number, its digits must occur
            in the customer's number (see
            :func:`porfin_core.domain.phone.phone_search_digits`). A term with neither
            words nor enough digits matches nothing.
        limit: Page size.
        cursor: Cursor of the page to read (from the previous page).
    """

    clinic_id: str
    stage: FunnelStage | None = None
    tag: str | None = None
    search: str | None = None
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


@attrs.frozen(kw_only=True)
class PendingStatus:
    """A delivery status that arrived before Porfin knew the message it belongs to.

    Kept for reconciliation: applied when the message's provider id is recorded.
    """

    clinic_id: str
    channel_id: str
    provider_message_id: str
    change: StatusChange
    received_at: datetime


@attrs.frozen
class StoredEvent:
    """An event as kept in the outbox, with the outbox's id for it."""

    id: str
    event: DomainEvent


class ClinicRepository(Protocol):
    """Clinics (tenants)."""

    async def get(self, clinic_id: str) -> Clinic:
        """Return the clinic. Raises: NotFound."""
        ...

    async def list(self) -> list[Clinic]:
        """Every clinic of the installation, oldest first."""
        ...

    async def save(self, clinic: Clinic) -> None:
        """Insert or replace the clinic."""
        ...


class ChannelRepository(Protocol):
    """The clinics' WhatsApp numbers."""

    async def get(self, channel_id: str) -> Channel:
        """Return a channel by id, whatever its clinic (webhooks know only the id).

        Raises:
            NotFound: no such channel.
        """
        ...

    async def list(self, clinic_id: str) -> list[Channel]:
        """The clinic's channels, oldest first."""
        ...

    async def save(self, channel: Channel) -> None:
        """Insert or replace the channel."""
        ...


class CustomerRepository(Protocol):
    """Leads and patients, found by id or by any identity they used."""

    async def get(self, clinic_id: str, customer_id: str) -> Customer:
        """Return the customer, merged ones included (``merged_into`` set).

        Raises:
            NotFound: no such customer (also for another clinic's customer).
        """
        ...

    async def find_by_identity(self, clinic_id: str, keys: list[str]) -> Customer | None:
        """The customer known under any of the identity ``keys`` (``kind:value``), or None.

        If several match (two customers of one person, before a merge), the oldest wins.
        """
        ...

    async def save(self, customer: Customer) -> None:
        """Insert or replace the customer and index their identities.

        Saving a merged customer (``merged_into`` set) releases every identity it held and
        takes it out of the list and the search: saved first in a unit of work, it lets the
        customer it was merged into, saved after it, take the identities over.

        Raises:
            Conflict: an identity already belongs to another customer of the clinic.
        """
        ...

    async def list(self, query: CustomerQuery) -> Page[Customer]:
        """Customers matching ``query``, newest first (by ``created_at``, then id); merged
        customers are never listed.

        Raises:
            ValidationError: bad cursor or page size.
        """
        ...

    async def count_created(self, clinic_id: str, since: datetime, until: datetime) -> int:
        """How many customers of the clinic Porfin first saw (``created_at``) in
        [``since``, ``until``): the new leads of a period. Merged duplicates do not count."""
        ...


class ChatRepository(Protocol):
    """Chats, listed by recency."""

    async def get(self, clinic_id: str, chat_id: str) -> Chat:
        """Return the chat. Raises: NotFound (also for another clinic's chat)."""
        ...

    async def find(self, clinic_id: str, customer_id: str, channel_id: str) -> Chat | None:
        """The chat of a customer on a channel, or None."""
        ...

    async def save(self, chat: Chat) -> None:
        """Insert or replace the chat (its customer and channel are fixed when it is
        inserted: see :meth:`save_transferred`)."""
        ...

    async def save_transferred(self, chat: Chat, from_customer_id: str) -> None:
        """Save a chat given to another customer (``Chat.transfer_to``, customers merged):
        from then on :meth:`find` finds it under ``chat.customer_id``, no longer under
        ``from_customer_id``.

        Raises:
            TransactionConflict: the chat changed since it was read (SQLite, Firestore).
        """
        ...

    async def remove(self, chat: Chat) -> None:
        """Delete the chat; its messages must have moved to another chat first
        (:meth:`MessageRepository.move_to_chat`).

        Raises:
            TransactionConflict: the chat changed since it was read (SQLite, Firestore).
        """
        ...

    async def list(self, query: ChatQuery) -> Page[Chat]:
        """Chats matching ``query``, most recent activity first (on ``last_message_at``,
        then id); with ``query.waiting``, the waiting chats oldest wait first (on
        ``waiting_since``, then id).

        Raises:
            ValidationError: bad cursor or page size.
        """
        ...


class MessageRepository(Protocol):
    """Messages of chats' timelines."""

    async def get(self, clinic_id: str, message_id: str) -> Message:
        """Return the message. Raises: NotFound (also for another clinic's message)."""
        ...

    async def find_by_provider_id(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> Message | None:
        """The message a provider knows as ``provider_message_id`` on a channel, or None."""
        ...

    async def save(self, message: Message) -> None:
        """Insert or replace the message.

        Raises:
            Conflict: another message already has this provider id on this channel.
        """
        ...

    async def list_for_chat(
        self, clinic_id: str, chat_id: str, *, limit: int, cursor: str | None = None
    ) -> Page[Message]:
        """The chat's messages, newest first; the next page holds older ones.

        Raises:
            ValidationError: bad cursor or page size.
        """
        ...

    async def list_for_clinic(
        self,
        clinic_id: str,
        *,
        since: datetime,
        until: datetime,
        limit: int,
        cursor: str | None = None,
    ) -> Page[Message]:
        """The clinic's messages recorded (``created_at``) in [``since``, ``until``), every
        chat's, oldest first (by ``created_at``, then id); the next page holds later ones.

        Raises:
            ValidationError: bad cursor or page size.
        """
        ...

    async def move_to_chat(self, clinic_id: str, from_chat_id: str, to_chat_id: str) -> int:
        """Move every committed message of one chat into another of the same channel (their
        ``chat_id`` changes; ids, provider ids and times stay); returns how many moved. A
        search of the messages' text then finds ``to_chat_id``.

        Raises:
            TransactionConflict: messages of ``from_chat_id`` changed concurrently.
        """
        ...


class PendingStatusRepository(Protocol):
    """Statuses waiting for their message (reconciliation)."""

    async def add(self, pending: PendingStatus) -> None:
        """Keep a status whose message is not known yet."""
        ...

    async def take(
        self, clinic_id: str, channel_id: str, provider_message_id: str
    ) -> list[PendingStatus]:
        """Remove and return the statuses waiting for a provider id, oldest first."""
        ...


class DeliveryRepository(Protocol):
    """The sending outbox: outbound messages not yet accepted by their provider."""

    async def get(self, clinic_id: str, message_id: str) -> Delivery | None:
        """The delivery of the message, or None when it has none (sent, failed, inbound)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        """Deliveries of any clinic whose ``due_at`` is ``now`` or earlier, earliest first."""
        ...

    async def save(self, delivery: Delivery) -> None:
        """Insert or replace the delivery (keyed by its message)."""
        ...

    async def remove(self, delivery: Delivery) -> None:
        """Delete the delivery: its message was accepted or failed for good."""
        ...


class JobRepository(Protocol):
    """Durable jobs (see :mod:`porfin_core.domain.jobs`), written in the unit of work of the
    change that causes them."""

    async def add(self, job: Job) -> Job:
        """Schedule ``job`` unless its clinic already has a job with its idempotency key
        (whatever that job's status, or added earlier in this unit of work); returns the job
        that holds the key: the existing one, or ``job``.

        Two units of work adding one key concurrently: one commits, the other conflicts
        (``TransactionConflict``) and, retried, finds the first one's job.
        """
        ...

    async def get(self, clinic_id: str, job_id: str) -> Job:
        """Return the job. Raises: NotFound (also for another clinic's job)."""
        ...

    async def find_by_key(self, clinic_id: str, idempotency_key: str) -> Job | None:
        """The clinic's job holding ``idempotency_key``, or None."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Job]:
        """Active jobs of any clinic whose ``run_at`` is ``now`` or earlier (running ones
        whose lease ran out included), earliest first (then by id)."""
        ...

    async def for_subject(self, clinic_id: str, subject: str) -> list[Job]:
        """Every job of the clinic about ``subject``, whatever its status, by ``run_at``
        (then id)."""
        ...

    async def save(self, job: Job) -> None:
        """Replace a job read in this unit of work (its kind, key, subject and clinic never
        change).

        Raises:
            TransactionConflict: the job changed since it was read (SQLite, Firestore).
        """
        ...


class StaffUserRepository(Protocol):
    """Staff accounts."""

    async def get(self, clinic_id: str, user_id: str) -> StaffUser:
        """Return the user. Raises: NotFound (also for another clinic's user)."""
        ...

    async def find_by_email(self, email: str) -> StaffUser | None:
        """The account with this (normalized) e-mail, in any clinic, or None."""
        ...

    async def list(self, clinic_id: str) -> list[StaffUser]:
        """The clinic's users, oldest first."""
        ...

    async def save(self, user: StaffUser) -> None:
        """Insert or replace the user.

        Raises:
            Conflict: another account already uses this e-mail.
        """
        ...


class RefreshTokenRepository(Protocol):
    """Refresh tokens, found by the hash of the token."""

    async def find_by_hash(self, token_hash: str) -> RefreshToken | None:
        """The token whose SHA-256 is ``token_hash``, or None."""
        ...

    async def family(self, family_id: str) -> list[RefreshToken]:
        """Every token of one login, oldest first."""
        ...

    async def for_user(self, clinic_id: str, user_id: str) -> list[RefreshToken]:
        """Every token of every login of a user, oldest first."""
        ...

    async def save(self, token: RefreshToken) -> None:
        """Insert or replace the token."""
        ...


class AccountTokenRepository(Protocol):
    """Invitations and password-reset tokens, found by the hash of the token."""

    async def find_by_hash(self, token_hash: str) -> AccountToken | None:
        """The token whose SHA-256 is ``token_hash``, or None."""
        ...

    async def for_user(self, clinic_id: str, user_id: str) -> list[AccountToken]:
        """Every token issued for a user, oldest first."""
        ...

    async def save(self, token: AccountToken) -> None:
        """Insert or replace the token."""
        ...


class UnitOfWork(Protocol):
    """One atomic change: repositories plus the events to publish once it is committed.

    Use as ``async with uow_factory() as uow: ...; await uow.commit()``. Leaving the block
    without committing discards every write. ``audit`` records who did what: its appends
    commit with the change they describe. The scheduling repositories are described in
    :mod:`porfin_core.ports.scheduling`, the calendar ones in :mod:`porfin_core.ports.calendar`,
    the charges and the money log in :mod:`porfin_core.ports.charges`, the AI receptionist's
    turns and spending in :mod:`porfin_core.ports.assistant`.
    """

    clinics: ClinicRepository
    channels: ChannelRepository
    customers: CustomerRepository
    chats: ChatRepository
    messages: MessageRepository
    pending_statuses: PendingStatusRepository
    deliveries: DeliveryRepository
    jobs: JobRepository
    audit: AuditLog
    staff: StaffUserRepository
    refresh_tokens: RefreshTokenRepository
    account_tokens: AccountTokenRepository
    professionals: ProfessionalRepository
    appointment_types: AppointmentTypeRepository
    closures: ClosureRepository
    appointments: AppointmentRepository
    waitlist: WaitlistRepository
    calendar_connections: CalendarConnectionRepository
    calendar_links: CalendarLinkRepository
    calendar_busy: CalendarBusyRepository
    calendar_feeds: CalendarFeedRepository
    charges: ChargeRepository
    transactions: TransactionLog
    assistant_turns: AssistantTurnRepository

    def record(self, events: Iterable[DomainEvent]) -> None:
        """Add events to the outbox, committed with the state change."""
        ...

    async def commit(self) -> None:
        """Make every write and recorded event durable, atomically.

        Raises:
            TransactionConflict: a concurrent change won; the whole operation may be retried.
            StorageUnavailable: the backend failed.
        """
        ...

    async def __aenter__(self) -> UnitOfWork: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class UnitOfWorkFactory(Protocol):
    """Makes units of work; ``read_only`` ones may be served from a reader connection."""

    def __call__(self, *, read_only: bool = False) -> UnitOfWork:
        """Return a new, not yet entered, unit of work."""
        ...


class EventOutbox(Protocol):
    """Committed events not yet dispatched to their handlers."""

    async def pending(self, limit: int = 100) -> list[StoredEvent]:
        """Undispatched events, oldest first."""
        ...

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        """Record that these events reached every handler."""
        ...
