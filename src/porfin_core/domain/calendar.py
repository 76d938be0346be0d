"""External calendars (Google Calendar): connections, events, busy time and the conflict rule.

These value objects are the vocabulary of the :class:`~porfin_core.ports.calendar.CalendarSync`
port. They know nothing of appointments: the booking code maps an appointment to a
:class:`CalendarEvent` (carrying Porfin's ids) and reads back :class:`CalendarChanges` and
:class:`BusyInterval` lists.

The conflict rule (:func:`decide_conflict`) in one paragraph: Porfin is the source of truth
for its own appointments. When an event Porfin wrote comes back from Google with another etag,
only the fields Porfin owns (:data:`OWNED_FIELDS`: start, end, title, description, status and
Porfin's ids) are compared. Nothing owned changed (a colour, a reminder, a location, a guest):
the calendar owner's edit is accepted. An owned field changed, e.g. the appointment was
dragged to another time: the edit is rejected and Porfin's version is written back, and a move
is reported to staff, because a move made in Google skips everything a reschedule in Porfin
does (the patient is not told, reminders do not follow, the new time is not checked for
double booking). The event was deleted or cancelled in Google: nothing is written back and the
deletion is reported, so staff decide whether to cancel the appointment (the patient is told)
or to put the event back.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from porfin_core.domain.channel import SecretRef
from porfin_core.errors import InvalidStateTransition, ValidationError

APPOINTMENT_ID_KEY = "porfin_appointment_id"
"""Key of Porfin's appointment id in an event's private extended properties."""
CLINIC_ID_KEY = "porfin_clinic_id"
"""Key of Porfin's clinic id in an event's private extended properties."""
PRIMARY_CALENDAR = "primary"
"""The connected account's primary calendar, as Google names it in every call."""


def _aware(_: object, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{attribute.name} must be timezone-aware", field=attribute.name)


def _optional_aware(_: object, attribute: attrs.Attribute[datetime | None], value: object) -> None:
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationError(f"{attribute.name} must be timezone-aware", field=attribute.name)


def _strings(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(values)


def _zone(_: object, attribute: attrs.Attribute[str], value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"unknown IANA time zone: {value!r}", field=attribute.name) from exc


class EventStatus(enum.StrEnum):
    """An event's status in the external calendar."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"
    """Deleted (or cancelled) in the calendar."""


@attrs.frozen(kw_only=True)
class CalendarEvent:
    """One event of an external calendar, as Porfin writes it or reads it back.

    Attributes:
        external_id: The calendar's id for the event; None for an event not written yet.
        etag: The calendar's version tag of the event as last written or read (None before).
        summary: Title.
        description: Body text.
        start: Start, timezone-aware.
        end: End (exclusive), timezone-aware, not before ``start``.
        time_zone: IANA zone the times are shown in (the clinic's, e.g. America/Sao_Paulo).
        status: Confirmed, tentative or cancelled.
        appointment_id: Porfin's appointment id, for events Porfin wrote (from the private
            extended properties); None for the calendar owner's own events.
        clinic_id: Porfin's clinic id, for events Porfin wrote.
        busy: The event blocks time (Google ``transparency: opaque``); False for events shown
            as "free".
        all_day: A whole-day event (its times are midnights in ``time_zone``).
        updated: When the calendar last changed the event (None for events not written yet).
    """

    external_id: str | None = None
    etag: str | None = None
    summary: str = ""
    description: str = ""
    start: datetime = attrs.field(validator=_aware)
    end: datetime = attrs.field(validator=_aware)
    time_zone: str = attrs.field(default="America/Sao_Paulo", validator=_zone)
    status: EventStatus = EventStatus.CONFIRMED
    appointment_id: str | None = None
    clinic_id: str | None = None
    busy: bool = True
    all_day: bool = False
    updated: datetime | None = attrs.field(default=None, validator=_optional_aware)

    def __attrs_post_init__(self) -> None:
        if self.end < self.start:
            raise ValidationError("an event cannot end before it starts", field="end")

    def is_porfin_event(self, clinic_id: str) -> bool:
        """True when this clinic's Porfin wrote the event (another clinic's events, in a
        calendar two clinics share, are external to this one)."""
        return self.appointment_id is not None and self.clinic_id == clinic_id

    def blocks_time(self) -> bool:
        """True when the event makes its time unavailable: not cancelled, shown as busy and
        not empty."""
        return self.status is not EventStatus.CANCELLED and self.busy and self.end > self.start


@attrs.frozen
class BusyInterval:
    """A time range an external calendar is busy: ``start`` inclusive, ``end`` exclusive."""

    start: datetime = attrs.field(validator=_aware)
    end: datetime = attrs.field(validator=_aware)

    def __attrs_post_init__(self) -> None:
        if self.end <= self.start:
            raise ValidationError("a busy interval must end after it starts", field="end")

    def overlaps(self, start: datetime, end: datetime) -> bool:
        """True when ``[start, end)`` shares time with this interval."""
        return self.start < end and start < self.end


@attrs.frozen(kw_only=True)
class CalendarChanges:
    """What a pull brought.

    Attributes:
        events: Events created or changed since the last pull (all events in range, on a full
            sync), never cancelled ones.
        deleted: External ids of events deleted or cancelled since the last pull (empty on a
            full sync).
        next_sync_token: Token for the next incremental pull; store it on the connection
            (None: the calendar gave none, the next pull is a full sync again).
        full: True when this was a full sync: anything the caller kept for the calendar and
            that is not in ``events`` is gone.
    """

    events: tuple[CalendarEvent, ...] = ()
    deleted: tuple[str, ...] = ()
    next_sync_token: str | None = None
    full: bool = False


class ConnectionStatus(enum.StrEnum):
    """Whether Porfin may still use a connected calendar."""

    ACTIVE = "active"
    REVOKED = "revoked"
    """The owner (or Google) withdrew Porfin's access: the professional must connect again."""


@attrs.define(kw_only=True)
class CalendarConnection:
    """A professional's external calendar, connected through OAuth.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic the professional works at.
        professional_id: The professional whose calendar this is.
        calendar_id: The calendar's id at the provider (``primary`` by default).
        refresh_token: Where the (encrypted) refresh token lives in the secret store.
        scopes: The OAuth scopes the owner granted.
        connected_at: When the owner granted access.
        sync_token: Token of the last incremental pull (None: the next pull is a full sync).
        last_synced_at: When the last pull finished.
        status: Active, or revoked.
        revoked_at: When Porfin learned its access was withdrawn.
        full_synced_at: When the last full sync finished (a full sync is repeated now and
            then, see :meth:`full_sync_due`).
        last_error: Why the last sync failed (None after a sync that worked).
    """

    id: str
    clinic_id: str
    professional_id: str
    calendar_id: str = PRIMARY_CALENDAR
    refresh_token: SecretRef
    scopes: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    connected_at: datetime = attrs.field(validator=_aware)
    sync_token: str | None = None
    last_synced_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    status: ConnectionStatus = ConnectionStatus.ACTIVE
    revoked_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    full_synced_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    last_error: str | None = None

    @property
    def is_active(self) -> bool:
        """True while Porfin may call the calendar."""
        return self.status is ConnectionStatus.ACTIVE

    def full_sync_due(self, now: datetime, every: timedelta) -> bool:
        """True when the next pull should be a full sync: never synced in full, or not for
        ``every`` (a full sync reads a bounded window; repeating it brings the events that
        entered the window since, e.g. far instances of a recurring event)."""
        return self.full_synced_at is None or now - self.full_synced_at >= every

    def sync_failed(self, reason: str) -> None:
        """Remember why the last sync failed (shown by ``porfin calendar status``)."""
        self.last_error = reason[:500]

    def record_sync(self, changes: CalendarChanges, at: datetime) -> None:
        """Remember the token a pull returned, for the next incremental pull.

        Raises:
            InvalidStateTransition: the connection is revoked.
        """
        self._require_active()
        self.sync_token = changes.next_sync_token
        self.last_synced_at = at
        self.last_error = None
        if changes.full:
            self.full_synced_at = at

    def require_full_sync(self) -> None:
        """Forget the sync token (the calendar refused it): the next pull is a full sync."""
        self.sync_token = None

    def revoke(self, at: datetime) -> None:
        """Mark Porfin's access as withdrawn; nothing is synced until the professional
        connects again. Revoking twice keeps the first time."""
        if self.status is ConnectionStatus.REVOKED:
            return
        self.status = ConnectionStatus.REVOKED
        self.revoked_at = at
        self.sync_token = None

    def _require_active(self) -> None:
        if self.status is not ConnectionStatus.ACTIVE:
            raise InvalidStateTransition(
                "the calendar connection is revoked: connect the calendar again",
                connection_id=self.id,
            )


# -- conflict rule ------------------------------------------------------------------------

OWNED_FIELDS = ("start", "end", "summary", "description", "status", "porfin_ids")
"""What Porfin owns in the events it writes; every other field belongs to the calendar's
owner (colour, reminders, location, guests, "free"/"busy")."""


class ConflictAction(enum.StrEnum):
    """What to do with a Porfin event that came back from the calendar."""

    NONE = "none"
    """Same etag as Porfin's last write: nothing changed in the calendar."""
    ACCEPT = "accept"
    """Only the owner's fields changed: keep them, remember the new etag."""
    REPUSH = "repush"
    """A field Porfin owns changed: the edit is rejected, Porfin's version is written back."""
    REPORT_DELETION = "report_deletion"
    """Deleted or cancelled in the calendar: nothing is written, staff decide."""


@attrs.frozen(kw_only=True)
class ConflictDecision:
    """The outcome of :func:`decide_conflict`.

    Attributes:
        action: What the sync should do.
        changed: The owned fields that differ (in :data:`OWNED_FIELDS` order).
        notify_staff: Staff should be told (a move undone, a deletion to decide on).
    """

    action: ConflictAction
    changed: tuple[str, ...] = ()
    notify_staff: bool = False


def decide_conflict(written: CalendarEvent, remote: CalendarEvent | None) -> ConflictDecision:
    """Apply the conflict rule to a Porfin event read back from the calendar.

    Args:
        written: The event as Porfin last wrote it (with the etag the calendar answered).
        remote: The event as the calendar has it now; None when the calendar reported it
            deleted (an incremental sync may give nothing but its id).

    Returns:
        - ``NONE`` when the etags are equal (Porfin's own write coming back);
        - ``REPORT_DELETION`` (staff notified) when the event was deleted or cancelled;
        - ``REPUSH`` when an owned field differs; staff are notified when the time changed
          (a move made in Google is undone), not for a title or description put back;
        - ``ACCEPT`` otherwise (only the owner's fields changed).
    """
    if remote is None or remote.status is EventStatus.CANCELLED:
        return ConflictDecision(action=ConflictAction.REPORT_DELETION, notify_staff=True)
    if written.etag is not None and remote.etag == written.etag:
        return ConflictDecision(action=ConflictAction.NONE)
    differs = {
        "start": remote.start != written.start,
        "end": remote.end != written.end,
        "summary": remote.summary != written.summary,
        "description": remote.description != written.description,
        "status": remote.status is not written.status,
        "porfin_ids": (remote.appointment_id, remote.clinic_id)
        != (written.appointment_id, written.clinic_id),
    }
    changed = tuple(name for name in OWNED_FIELDS if differs[name])
    if not changed:
        return ConflictDecision(action=ConflictAction.ACCEPT)
    moved = differs["start"] or differs["end"]
    return ConflictDecision(action=ConflictAction.REPUSH, changed=changed, notify_staff=moved)


# -- busy time ----------------------------------------------------------------------------


def merge_intervals(intervals: Iterable[BusyInterval]) -> list[BusyInterval]:
    """``intervals`` sorted, with overlapping and touching ones joined."""
    merged: list[BusyInterval] = []
    for interval in sorted(intervals, key=lambda i: (i.start, i.end)):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = BusyInterval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def busy_intervals(
    events: Iterable[CalendarEvent],
    *,
    clinic_id: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[BusyInterval]:
    """The time external events block, merged, for the slot search.

    An event blocks when it is not cancelled, shown as busy and not empty (see
    :meth:`CalendarEvent.blocks_time`). This clinic's own Porfin events are left out: their
    appointments already block their time in Porfin, and one moved in Google would otherwise
    block the wrong slot until it is written back. Another clinic's Porfin events count as
    external. With ``start``/``end``, only events overlapping ``[start, end)`` are kept.
    """
    return merge_intervals(
        BusyInterval(event.start, event.end)
        for event in events
        if event.blocks_time()
        and not event.is_porfin_event(clinic_id)
        and (start is None or event.end > start)
        and (end is None or event.start < end)
    )


def same_owned(a: CalendarEvent, b: CalendarEvent) -> bool:
    """True when two events agree on every field Porfin owns (:data:`OWNED_FIELDS`, and the
    zone their times are shown in); times are compared as instants."""
    return (
        a.start == b.start
        and a.end == b.end
        and a.summary == b.summary
        and a.description == b.description
        and a.status is b.status
        and (a.appointment_id, a.clinic_id) == (b.appointment_id, b.clinic_id)
        and a.time_zone == b.time_zone
    )


# -- what Porfin keeps about a connected calendar ---------------------------------------------


@attrs.define(kw_only=True)
class CalendarLink:
    """An appointment's event in its professional's connected calendar.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment (one link per appointment).
        professional_id: Whose calendar holds the event.
        connection_id: The connection the event was written through (a link of an older
            connection is ignored: a reconnected calendar gets new events).
        external_id: The calendar's id of the event; None once it was deleted (by Porfin, or
            in the calendar).
        etag: The version of the event in the calendar that Porfin knows of: the one its
            last write answered, an owner's edit it accepted, or an edit it rejected and will
            write over (``If-Match`` of the next write).
        written: The event as Porfin last wrote it, with the etag that write answered (what
            :func:`decide_conflict` compares against).
        needs_repush: An edit in the calendar touched a field Porfin owns: Porfin's version
            is to be written back.
        deleted_remotely_at: When a pull found the event deleted or cancelled in the
            calendar (reported to staff; Porfin writes nothing until the appointment changes).
        updated_at: When the link last changed.
    """

    clinic_id: str
    appointment_id: str
    professional_id: str
    connection_id: str
    external_id: str | None = None
    etag: str | None = None
    written: CalendarEvent | None = None
    needs_repush: bool = False
    deleted_remotely_at: datetime | None = attrs.field(default=None, validator=_optional_aware)
    updated_at: datetime = attrs.field(validator=_aware)

    @property
    def live(self) -> bool:
        """True while the calendar holds the event Porfin wrote (not deleted there)."""
        return self.external_id is not None and self.deleted_remotely_at is None

    def in_step_with(self, desired: CalendarEvent) -> bool:
        """True when the calendar already shows ``desired``: written, not deleted, no edit to
        undo, and the same owned fields (a repeated push then writes nothing)."""
        return (
            self.live
            and not self.needs_repush
            and self.written is not None
            and same_owned(self.written, desired)
        )

    def wrote(self, desired: CalendarEvent, stored: CalendarEvent, at: datetime) -> None:
        """Remember a write: ``desired`` as sent, ``stored`` as the calendar answered it."""
        self.external_id = stored.external_id
        self.etag = stored.etag
        self.written = attrs.evolve(desired, external_id=stored.external_id, etag=stored.etag)
        self.needs_repush = False
        self.deleted_remotely_at = None
        self.updated_at = at

    def accept(self, remote: CalendarEvent, at: datetime) -> None:
        """The owner changed only their own fields: remember the new version."""
        self.etag = remote.etag
        if self.written is not None:
            self.written = attrs.evolve(self.written, etag=remote.etag)
        self.updated_at = at

    def reject(self, remote: CalendarEvent, at: datetime) -> bool:
        """An owned field was changed in the calendar: Porfin's version is to be written over
        ``remote``. False when this version was rejected already (nothing new)."""
        if self.needs_repush and self.etag == remote.etag:
            return False
        self.etag = remote.etag
        self.needs_repush = True
        self.updated_at = at
        return True

    def deleted_in_calendar(self, at: datetime) -> bool:
        """The event was deleted or cancelled in the calendar. False when already known."""
        if self.deleted_remotely_at is not None:
            return False
        self.deleted_remotely_at = at
        self.needs_repush = False
        self.updated_at = at
        return True

    def restored_in_calendar(self, at: datetime) -> bool:
        """The event reported deleted is back in the calendar (the owner restored it):
        forget the deletion. False when it was not reported deleted."""
        if self.deleted_remotely_at is None:
            return False
        self.deleted_remotely_at = None
        self.updated_at = at
        return True

    def forget_event(self, at: datetime) -> None:
        """Porfin deleted the event (the appointment was cancelled)."""
        self.external_id = None
        self.etag = None
        self.needs_repush = False
        self.updated_at = at


@attrs.frozen
class BusyEvent:
    """One event of a connected calendar that blocks time (not Porfin's own)."""

    external_id: str
    start: datetime = attrs.field(validator=_aware)
    end: datetime = attrs.field(validator=_aware)


@attrs.define(kw_only=True)
class CalendarBusyTime:
    """The events of a professional's connected calendar that block time, as the pulls
    brought them (what the slot search reads instead of calling the calendar).

    Attributes:
        clinic_id: The clinic.
        professional_id: Whose calendar.
        connection_id: The connection the events came through.
        events: The blocking events (other than this clinic's Porfin events), by start.
        updated_at: When a pull last changed them.
    """

    clinic_id: str
    professional_id: str
    connection_id: str
    events: list[BusyEvent] = attrs.field(factory=list)
    updated_at: datetime = attrs.field(validator=_aware)

    def apply(self, changes: CalendarChanges, at: datetime, keep_after: datetime) -> None:
        """Take a pull's changes: a full sync replaces everything; an incremental one adds,
        moves and removes events. Events that no longer block time (cancelled, shown as
        free, this clinic's Porfin events) and those ended by ``keep_after`` are dropped."""
        kept = {} if changes.full else {e.external_id: e for e in self.events}
        for event in changes.events:
            if event.external_id is None:
                continue
            kept.pop(event.external_id, None)
            if event.blocks_time() and not event.is_porfin_event(self.clinic_id):
                kept[event.external_id] = BusyEvent(event.external_id, event.start, event.end)
        for external_id in changes.deleted:
            kept.pop(external_id, None)
        self.events = sorted(
            (e for e in kept.values() if e.end > keep_after),
            key=lambda e: (e.start, e.external_id),
        )
        self.updated_at = at

    def intervals(self, start: datetime, end: datetime) -> list[BusyInterval]:
        """The busy time overlapping ``[start, end)``, merged."""
        return merge_intervals(
            BusyInterval(e.start, e.end)
            for e in self.events
            if e.start < end and start < e.end and e.end > e.start
        )


@attrs.define(kw_only=True)
class CalendarFeed:
    """A professional's private calendar feed (ICS): the credential is a random token in its
    URL, of which only the SHA-256 is kept.

    Attributes:
        clinic_id: The clinic.
        professional_id: Whose appointments the feed lists.
        token_hash: Hex SHA-256 of the token.
        created_at: When the token was made (a new token replaces the old one).
    """

    clinic_id: str
    professional_id: str
    token_hash: str
    created_at: datetime = attrs.field(validator=_aware)
