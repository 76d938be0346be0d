"""The audit trail: who did or saw what, in which clinic, when and from where.

Every audited action becomes an :class:`AuditRecord`. Records of one clinic form a hash chain:
each carries its clinic-wide sequence number ``seq`` (1, 2, 3, ...) and the hash of the record
before it (``prev_hash``; the first record points at :data:`GENESIS_HASH`), and its own
``hash`` covers every other field. Changing, removing, inserting or reordering a record breaks
the chain at that point, which :func:`verify_chain` (or :class:`ChainVerifier` for streams)
finds.

The canonical form hashed (:func:`canonical_bytes`) is the UTF-8 encoding of a JSON object
with exactly these members::

    action, actor_id, actor_kind, at, clinic_id, details, prev_hash, request_id,
    resource_id, resource_type, seq, source

serialized with keys sorted, no insignificant whitespace, non-ASCII characters written as
themselves (``json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``,
which for these value types is also the RFC 8785 canonical form). ``seq`` is a JSON integer,
``request_id`` a string or ``null``, ``details`` an object of strings, ``at`` the UTC time as
``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (always six fractional digits), enums their string value.
``hash`` is the lowercase hex SHA-256 of those bytes.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from porfin_core.errors import ValidationError

GENESIS_HASH = "0" * 64
"""``prev_hash`` of a clinic's first record."""

MAX_DETAILS = 16
"""Entries a record's ``details`` may hold."""
MAX_DETAIL_KEY = 64
MAX_DETAIL_VALUE = 1024
MAX_TEXT = 512
"""Length limit of the record's other text fields (ids, action, source, request id)."""


class ActorKind(enum.StrEnum):
    """What kind of principal acted."""

    USER = "user"
    """A staff member's account."""
    SYSTEM = "system"
    """Porfin itself (first start, automatic work) or the installation's operator at the CLI."""
    API_TOKEN = "api_token"
    """A bearer token not tied to a person (today: the installation's admin token)."""


class AuditAction(enum.StrEnum):
    """The actions recorded today; ``action`` is a plain string so new areas add their own."""

    CLINIC_CREATE = "clinic.create"
    CHANNEL_CREATE = "channel.create"
    CHANNEL_UPDATE = "channel.update"
    CHANNEL_ARCHIVE = "channel.archive"
    MEDIA_UPLOAD = "media.upload"
    MEDIA_READ = "media.read"
    CHAT_READ = "chat.read"
    CHAT_UPDATE = "chat.update"
    MESSAGES_READ = "messages.read"
    MESSAGE_SEND = "message.send"
    CUSTOMER_READ = "customer.read"
    CUSTOMER_UPDATE = "customer.update"
    CUSTOMER_MERGE = "customer.merge"
    CLINIC_UPDATE = "clinic.update"
    AUTH_LOGIN = "auth.login"
    AUTH_LOGIN_FAILED = "auth.login_failed"
    AUTH_LOCKOUT = "auth.lockout"
    """Security event: too many failed logins locked the account."""
    AUTH_REFRESH_REUSE = "auth.refresh_reuse"
    """Security event: a spent refresh token came back; its whole login was revoked."""
    AUTH_LOGOUT = "auth.logout"
    USER_CREATE = "user.create"
    USER_INVITE = "user.invite"
    USER_INVITATION_ACCEPT = "user.invitation_accept"
    USER_UPDATE = "user.update"
    USER_PASSWORD_CHANGE = "user.password_change"
    USER_PASSWORD_RESET_ISSUE = "user.password_reset_issue"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_MFA_ENROL = "user.mfa_enrol"
    USER_MFA_ENABLE = "user.mfa_enable"
    USER_MFA_DISABLE = "user.mfa_disable"
    USER_RECOVERY_CODES = "user.recovery_codes"
    PROFESSIONAL_CREATE = "professional.create"
    PROFESSIONAL_UPDATE = "professional.update"
    APPOINTMENT_TYPE_CREATE = "appointment_type.create"
    APPOINTMENT_TYPE_UPDATE = "appointment_type.update"
    CLOSURE_ADD = "closure.add"
    CLOSURE_REMOVE = "closure.remove"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_RESCHEDULE = "appointment.reschedule"
    APPOINTMENT_CANCEL = "appointment.cancel"
    APPOINTMENT_CONFIRM = "appointment.confirm"
    APPOINTMENT_ATTENDED = "appointment.attended"
    APPOINTMENT_NO_SHOW = "appointment.no_show"
    APPOINTMENT_READ = "appointment.read"
    WAITLIST_JOIN = "waitlist.join"
    CALENDAR_CONNECT = "calendar.connect"
    CALENDAR_DISCONNECT = "calendar.disconnect"
    CALENDAR_FEED_TOKEN = "calendar.feed_token"
    """A professional's private calendar feed got a new token (the old one stops working)."""
    CHARGE_CREATE = "charge.create"
    CHARGE_MARK_PAID = "charge.mark_paid"
    """Staff confirmed a payment (``details``: amount_cents, paid_cents, status)."""
    CHARGE_CANCEL = "charge.cancel"
    CHARGE_SYNC = "charge.sync"
    """A gateway created the charge or reported on it (``details``: source, reported)."""
    CHARGE_REFUND = "charge.refund"
    CHARGE_EXPIRE = "charge.expire"
    ASSISTANT_CREATE = "assistant.create"
    ASSISTANT_UPDATE = "assistant.update"
    ASSISTANT_REMOVE = "assistant.remove"
    CLINIC_PAYMENT_GATEWAY = "clinic.payment_gateway"
    """The clinic's payment gateway was set or removed (``details``: provider)."""


@attrs.frozen(kw_only=True)
class Actor:
    """Who acts and from where: what an audit record says about its author.

    Attributes:
        id: The principal: a staff user id, ``admin`` for the admin token, ``system``...
        kind: What kind of principal ``id`` names.
        source: Where the action came from: the client's IP address for the API, ``cli``
            for the command line, ``system`` for Porfin's own work.
        request_id: The request's correlation id, when there is one.
    """

    id: str
    kind: ActorKind
    source: str = "system"
    request_id: str | None = None

    @classmethod
    def user(cls, user_id: str, source: str = "system") -> Actor:
        """A staff member, known only by id (callers that predate :class:`Actor`)."""
        return cls(id=user_id, kind=ActorKind.USER, source=source)


SYSTEM_ACTOR = Actor(id="system", kind=ActorKind.SYSTEM, source="system")
"""Porfin itself: the actor of commands that do not say who asks."""


@attrs.frozen(kw_only=True)
class Origin:
    """Where an unauthenticated request (a login, a refresh) came from, before anyone is known.

    Attributes:
        source: The client's IP address (``cli`` at the command line, ``system`` otherwise).
        request_id: The request's correlation id, when there is one.
    """

    source: str = "system"
    request_id: str | None = None

    def actor(self, user_id: str) -> Actor:
        """The actor once the request turned out to be ``user_id``'s."""
        return Actor(
            id=user_id, kind=ActorKind.USER, source=self.source, request_id=self.request_id
        )


def _is_unicode(text: str) -> bool:
    """True unless ``text`` holds a lone surrogate (which has no UTF-8 form to hash)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _check_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None and attribute.name == "request_id":
        return
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or not _is_unicode(value):
        raise ValidationError(
            f"audit {attribute.name} must be a non-empty string of at most {MAX_TEXT} characters",
            field=attribute.name,
        )


def _check_at(_: object, __: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("audit time needs a time zone", field="at")


def _check_details(_: object, __: attrs.Attribute[Any], value: Mapping[str, str]) -> None:
    if len(value) > MAX_DETAILS:
        raise ValidationError(f"at most {MAX_DETAILS} audit details", field="details")
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > MAX_DETAIL_KEY or not _is_unicode(key):
            raise ValidationError("audit detail keys are short strings", field="details")
        if not isinstance(item, str) or len(item) > MAX_DETAIL_VALUE or not _is_unicode(item):
            raise ValidationError(
                f"audit detail values are strings of at most {MAX_DETAIL_VALUE} characters",
                field="details",
            )


def _details(value: Mapping[str, str] | None) -> dict[str, str]:
    return dict(value or {})


@attrs.frozen(kw_only=True)
class AuditEntry:
    """What happened, before the audit log places it in its clinic's chain.

    Attributes:
        clinic_id: The clinic whose chain receives the record.
        at: When it happened (timezone-aware).
        actor_id: Who acted (see :class:`Actor`).
        actor_kind: What kind of principal ``actor_id`` is.
        action: What was done, ``<noun>.<verb>`` (see :class:`AuditAction`).
        resource_type: The kind of thing acted on (``chat``, ``message``...).
        resource_id: Its id.
        source: Where the action came from (IP address, ``cli``, ``system``).
        request_id: The request's correlation id, if any.
        details: A few extra facts, as strings (what changed, how many were read...).

    Raises:
        ValidationError: empty or over-long text, a naive time, too many or too long details.
    """

    clinic_id: str = attrs.field(validator=_check_text)
    at: datetime = attrs.field(validator=_check_at)
    actor_id: str = attrs.field(validator=_check_text)
    actor_kind: ActorKind = attrs.field(converter=ActorKind)
    action: str = attrs.field(converter=str, validator=_check_text)
    resource_type: str = attrs.field(validator=_check_text)
    resource_id: str = attrs.field(validator=_check_text)
    source: str = attrs.field(validator=_check_text)
    request_id: str | None = attrs.field(default=None, validator=_check_text)
    details: dict[str, str] = attrs.field(
        factory=dict, converter=_details, validator=_check_details
    )

    @classmethod
    def of(
        cls,
        actor: Actor,
        *,
        clinic_id: str,
        at: datetime,
        action: str,
        resource_type: str,
        resource_id: str,
        details: Mapping[str, str] | None = None,
    ) -> AuditEntry:
        """The entry for ``actor`` doing ``action`` on a resource."""
        return cls(
            clinic_id=clinic_id,
            at=at,
            actor_id=actor.id,
            actor_kind=actor.kind,
            action=action,
            resource_type=resource_type,
            resource_id=resource_id,
            source=actor.source,
            request_id=actor.request_id,
            details=dict(details or {}),
        )


@attrs.frozen(kw_only=True)
class AuditRecord:
    """An audit entry in its place in the clinic's hash chain.

    Attributes:
        clinic_id: The clinic.
        seq: Position in the clinic's chain: 1 for the first record, then +1 each.
        at: When it happened.
        actor_id: Who acted.
        actor_kind: What kind of principal ``actor_id`` is (an :class:`ActorKind` value; a
            plain string, so that a tampered record still loads and fails verification).
        action: What was done.
        resource_type: The kind of thing acted on.
        resource_id: Its id.
        source: Where the action came from.
        request_id: The request's correlation id, if any.
        details: Extra facts, as strings.
        prev_hash: ``hash`` of record ``seq - 1`` (:data:`GENESIS_HASH` for the first).
        hash: SHA-256 (hex) of the record's canonical form (:func:`canonical_bytes`).
    """

    clinic_id: str
    seq: int
    at: datetime
    actor_id: str
    actor_kind: str
    action: str
    resource_type: str
    resource_id: str
    source: str
    request_id: str | None
    details: dict[str, str] = attrs.field(converter=_details)
    prev_hash: str
    hash: str


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_bytes(record: AuditRecord | AuditEntry, seq: int, prev_hash: str) -> bytes:
    """The bytes hashed for a record: every field but ``hash``, as canonical JSON.

    ``record`` gives the content; ``seq`` and ``prev_hash`` its place in the chain (for an
    :class:`AuditRecord`, pass its own).

    Raises:
        ValidationError: a text field cannot be encoded as UTF-8 (a lone surrogate).
    """
    document = {
        "action": str(record.action),
        "actor_id": record.actor_id,
        "actor_kind": str(record.actor_kind),
        "at": _utc_text(record.at),
        "clinic_id": record.clinic_id,
        "details": dict(record.details),
        "prev_hash": prev_hash,
        "request_id": record.request_id,
        "resource_id": record.resource_id,
        "resource_type": record.resource_type,
        "seq": seq,
        "source": record.source,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError("audit record text is not valid Unicode") from exc


def record_hash(record: AuditRecord) -> str:
    """What ``record.hash`` must be: SHA-256 (hex) of its canonical form."""
    return hashlib.sha256(canonical_bytes(record, record.seq, record.prev_hash)).hexdigest()


def seal(entry: AuditEntry, seq: int, prev_hash: str) -> AuditRecord:
    """Place ``entry`` at position ``seq`` of its clinic's chain, after ``prev_hash``."""
    digest = hashlib.sha256(canonical_bytes(entry, seq, prev_hash)).hexdigest()
    return AuditRecord(
        clinic_id=entry.clinic_id,
        seq=seq,
        at=entry.at,
        actor_id=entry.actor_id,
        actor_kind=entry.actor_kind.value,
        action=entry.action,
        resource_type=entry.resource_type,
        resource_id=entry.resource_id,
        source=entry.source,
        request_id=entry.request_id,
        details=entry.details,
        prev_hash=prev_hash,
        hash=digest,
    )


@attrs.frozen
class AuditHead:
    """The last link of a clinic's chain, as the audit log remembers it apart from the records.

    Comparing the chain's end with the head reveals records removed from the end, which the
    chain alone cannot show.
    """

    seq: int
    hash: str


class BreakKind(enum.StrEnum):
    """How a chain is broken."""

    MODIFIED = "modified"
    """A record's content does not match its hash: it was changed after it was written."""
    MISSING = "missing"
    """A sequence number is skipped: records were deleted (or the next ones reordered)."""
    OUT_OF_ORDER = "out_of_order"
    """A sequence number repeats or goes back: records were reordered or duplicated."""
    BROKEN_LINK = "broken_link"
    """``prev_hash`` is not the previous record's hash: a record before it was replaced."""
    FOREIGN = "foreign"
    """A record of another clinic sits in this clinic's chain."""
    TRUNCATED = "truncated"
    """The chain ends before the head: records were removed from its end."""
    HEAD_MISMATCH = "head_mismatch"
    """The record the head points at has another hash: the head or the record was altered."""


@attrs.frozen(kw_only=True)
class ChainBreak:
    """The first place where a clinic's chain does not hold.

    Attributes:
        clinic_id: The clinic.
        seq: The sequence number where the chain breaks (the position expected there).
        kind: What is wrong.
        detail: One English sentence saying what was found.
        found_seq: The sequence number of the record found at that position, if any.
    """

    clinic_id: str
    seq: int
    kind: BreakKind
    detail: str
    found_seq: int | None = None


@attrs.frozen(kw_only=True)
class ChainReport:
    """The outcome of checking one clinic's chain.

    Attributes:
        clinic_id: The clinic.
        records: How many records were read.
        last_seq: ``seq`` of the last intact record (0 when none).
        last_hash: ``hash`` of the last intact record (:data:`GENESIS_HASH` when none).
        broken: The first break, or None when the chain is intact.
    """

    clinic_id: str
    records: int
    last_seq: int
    last_hash: str
    broken: ChainBreak | None = None

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return self.broken is None


class ChainVerifier:
    """Checks one clinic's records fed in storage order (oldest first), one at a time.

    Keeps only the last link, so chains of any length are checked in constant memory. Feed
    records with :meth:`feed` until it returns False (a break was found) or the records run
    out, then call :meth:`report`.

    Args:
        clinic_id: The clinic whose chain is checked.
        head: The head the audit log keeps, read *before* the records: the chain must reach
            it (records appended meanwhile are checked too).
    """

    def __init__(self, clinic_id: str, head: AuditHead | None = None) -> None:
        self.clinic_id = clinic_id
        self._head = head
        self._records = 0
        self._expected = 1
        self._prev_hash = GENESIS_HASH
        self._broken: ChainBreak | None = None

    def _break(self, kind: BreakKind, detail: str, found_seq: int | None = None) -> bool:
        self._broken = ChainBreak(
            clinic_id=self.clinic_id,
            seq=self._expected,
            kind=kind,
            detail=detail,
            found_seq=found_seq,
        )
        return False

    def feed(self, record: AuditRecord) -> bool:
        """Check the next record; False once the chain is broken (later records are ignored)."""
        if self._broken is not None:
            return False
        self._records += 1
        expected = self._expected
        if record.clinic_id != self.clinic_id:
            return self._break(
                BreakKind.FOREIGN,
                f"record {record.seq} belongs to clinic {record.clinic_id!r}",
                record.seq,
            )
        if record.seq > expected:
            return self._break(
                BreakKind.MISSING,
                f"expected record {expected}, found {record.seq}: "
                f"{record.seq - expected} record(s) missing or out of order",
                record.seq,
            )
        if record.seq < expected:
            return self._break(
                BreakKind.OUT_OF_ORDER,
                f"expected record {expected}, found {record.seq} again or out of order",
                record.seq,
            )
        if record_hash(record) != record.hash:
            return self._break(
                BreakKind.MODIFIED, f"record {expected} does not match its hash", record.seq
            )
        if record.prev_hash != self._prev_hash:
            return self._break(
                BreakKind.BROKEN_LINK,
                f"record {expected} does not follow the hash of record {expected - 1}",
                record.seq,
            )
        head = self._head
        if head is not None and record.seq == head.seq and record.hash != head.hash:
            return self._break(
                BreakKind.HEAD_MISMATCH,
                f"record {expected} differs from the chain head kept for it",
                record.seq,
            )
        self._prev_hash = record.hash
        self._expected += 1
        return True

    def report(self) -> ChainReport:
        """The outcome so far; call it after the last record."""
        if self._broken is None and self._head is not None and self._expected <= self._head.seq:
            self._break(
                BreakKind.TRUNCATED,
                f"the chain ends at record {self._expected - 1} but its head is record "
                f"{self._head.seq}: records were removed from the end",
            )
        return ChainReport(
            clinic_id=self.clinic_id,
            records=self._records,
            last_seq=self._expected - 1,
            last_hash=self._prev_hash,
            broken=self._broken,
        )


def verify_chain(
    clinic_id: str, records: Iterable[AuditRecord], head: AuditHead | None = None
) -> ChainReport:
    """Check a clinic's records, given oldest first, and find the first broken link.

    Detects a modified record (its hash does not match), a deleted one (a gap in ``seq``, a
    ``prev_hash`` that does not match, or a chain shorter than ``head``), reordered or
    duplicated records and another clinic's record.

    Args:
        clinic_id: The clinic whose chain this is.
        records: Its records in storage order, oldest first.
        head: The head the audit log keeps (see :class:`AuditHead`); without it, records
            removed from the end cannot be noticed.
    """
    verifier = ChainVerifier(clinic_id, head)
    for record in records:
        if not verifier.feed(record):
            break
    return verifier.report()
