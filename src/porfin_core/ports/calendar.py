"""External calendars: connecting a professional's calendar and keeping it in step.

Two roles, both implemented for Google Calendar by ``porfin_adapters.google_calendar``:

- :class:`CalendarAuthorization`: the OAuth consent (a URL for the professional, then the
  code Google sends back becomes a :class:`~porfin_core.domain.calendar.CalendarConnection`);
- :class:`CalendarSync`: what the sync does with one connected calendar (write Porfin's
  events, read the calendar's changes, ask for busy time).

The caller keeps the connection (and each appointment's external id and last etag) in its
records; the adapters keep nothing but caches. Those records are the repositories at the end
of this module (attributes of the :class:`~porfin_core.ports.storage.UnitOfWork`), which every
storage adapter implements (``tests/contract/test_calendar_contract.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from porfin_core.domain.calendar import (
    BusyInterval,
    CalendarBusyTime,
    CalendarChanges,
    CalendarConnection,
    CalendarEvent,
    CalendarFeed,
    CalendarLink,
)


@attrs.frozen(kw_only=True)
class ConsentRequest:
    """Where to send a professional to connect a calendar.

    Attributes:
        url: The provider's consent page, with every parameter set.
        state: The opaque ``state`` the provider hands back with the code (it is in ``url``
            too); the callback passes it to :meth:`CalendarAuthorization.complete`.
        expires_at: After this the state is refused: ask for a new URL.
    """

    url: str
    state: str
    expires_at: datetime


class CalendarAuthorization(Protocol):
    """The OAuth 2.0 authorization-code flow (offline access) that connects a calendar."""

    async def consent_url(
        self, clinic_id: str, professional_id: str, redirect_uri: str
    ) -> ConsentRequest:
        """A consent URL for the professional's calendar.

        The returned ``state`` is self-contained and tamper-proof (it names the clinic, the
        professional and the redirect URI), so the process that completes the flow need not
        be the one that started it.

        Raises:
            CalendarError: the installation has no OAuth client configured (not retryable).
            ValidationError: ``redirect_uri`` is not an http(s) URL.
            StorageUnavailable: the key that protects the state could not be read or made.
        """
        ...

    async def complete(self, state: str, code: str) -> CalendarConnection:
        """Exchange the code the provider sent back for tokens and make the connection.

        The refresh token is stored encrypted with the clinic's key; the connection holds
        only its reference. The caller stores the connection (replacing, and calling
        :meth:`disconnect` on, an older one of the same professional).

        Raises:
            ValidationError: ``state`` was not made by this installation, was altered or has
                expired.
            CalendarError: the provider refused the code (used, expired, wrong client) or
                granted no offline access or not the events scope (not retryable), or could
                not be reached (retryable).
            StorageUnavailable: the token could not be stored.
        """
        ...

    async def disconnect(self, connection: CalendarConnection) -> None:
        """Forget the connection's tokens (the stored refresh token and cached access
        tokens). Idempotent.

        Raises:
            StorageUnavailable: the stored token could not be deleted.
        """
        ...


class CalendarSync(Protocol):
    """Keeps one connected calendar in step with Porfin.

    Every method takes the connection it works on. Every method raises
    :class:`~porfin_core.errors.CalendarAccessRevoked` when the connection is revoked or the
    provider says access was withdrawn (the caller marks the connection revoked), and
    :class:`~porfin_core.errors.CalendarError` (``retryable`` set) for other failures, after
    the adapter's own backoff on rate limits and server errors.
    """

    async def push(
        self,
        connection: CalendarConnection,
        event: CalendarEvent,
        *,
        if_match: str | None = None,
    ) -> CalendarEvent:
        """Create (``event.external_id`` None) or update the event; return it as the
        calendar stored it (external id, new etag, ``updated``).

        A create is idempotent for events carrying an ``appointment_id``: retried after a
        lost answer, it updates the event the first attempt made instead of adding another.
        An update writes every field Porfin owns (see
        :data:`~porfin_core.domain.calendar.OWNED_FIELDS`) and leaves the others alone.

        Args:
            connection: The calendar.
            event: Porfin's version of the event (``clinic_id`` and ``appointment_id`` are
                written to the event's private properties).
            if_match: Write only if the calendar's etag is still this one.

        Raises:
            CalendarEventChanged: ``if_match`` was given and the event changed meanwhile.
            CalendarError: e.g. ``provider_code`` ``notFound`` for an update of an event the
                calendar does not have.
        """
        ...

    async def delete(
        self,
        connection: CalendarConnection,
        external_id: str,
        *,
        if_match: str | None = None,
    ) -> None:
        """Delete the event; an event already gone counts as deleted.

        Raises:
            CalendarEventChanged: ``if_match`` was given and the event changed meanwhile.
        """
        ...

    async def pull(
        self,
        connection: CalendarConnection,
        *,
        time_min: datetime,
        time_max: datetime | None = None,
    ) -> CalendarChanges:
        """The calendar's changes since ``connection.sync_token``, or, without a token, a
        full sync of the events ending after ``time_min`` (and starting before
        ``time_max``). Recurring events come as their single instances. Store the returned
        ``next_sync_token`` on the connection
        (:meth:`~porfin_core.domain.calendar.CalendarConnection.record_sync`).

        Raises:
            CalendarResyncRequired: the calendar refused the sync token (HTTP 410): call
                :meth:`~porfin_core.domain.calendar.CalendarConnection.require_full_sync`,
                drop what was synced and pull again.
        """
        ...

    async def free_busy(
        self, connection: CalendarConnection, start: datetime, end: datetime
    ) -> list[BusyInterval]:
        """The calendar's busy time in ``[start, end)``, merged (Porfin's own events
        included: the provider cannot tell them apart).

        Raises:
            CalendarError: e.g. an empty range (``timeRangeEmpty``, not retryable).
        """
        ...


# -- storage (attributes of the UnitOfWork) ---------------------------------------------------


class CalendarConnectionRepository(Protocol):
    """Professionals' connected calendars (``uow.calendar_connections``): at most one per
    professional; connecting again replaces it."""

    async def get(self, clinic_id: str, professional_id: str) -> CalendarConnection:
        """The professional's connection. Raises: NotFound (none, or another clinic's)."""
        ...

    async def find(self, clinic_id: str, professional_id: str) -> CalendarConnection | None:
        """The professional's connection, or None."""
        ...

    async def list(self, clinic_id: str) -> list[CalendarConnection]:
        """The clinic's connections, revoked ones included, by professional id."""
        ...

    async def save(self, connection: CalendarConnection) -> None:
        """Insert or replace the professional's connection.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...

    async def remove(self, connection: CalendarConnection) -> None:
        """Delete the professional's connection (nothing happens when there is none)."""
        ...


class CalendarLinkRepository(Protocol):
    """Each appointment's event in a connected calendar (``uow.calendar_links``)."""

    async def get(self, clinic_id: str, appointment_id: str) -> CalendarLink | None:
        """The appointment's link, or None."""
        ...

    async def find_by_event(self, clinic_id: str, external_id: str) -> CalendarLink | None:
        """The link of the clinic whose event has this calendar id, or None."""
        ...

    async def list(self, clinic_id: str, professional_id: str) -> list[CalendarLink]:
        """The links of a professional's appointments, by appointment id."""
        ...

    async def save(self, link: CalendarLink) -> None:
        """Insert or replace the appointment's link.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...


class CalendarBusyRepository(Protocol):
    """What each connected calendar is busy with (``uow.calendar_busy``)."""

    async def get(self, clinic_id: str, professional_id: str) -> CalendarBusyTime | None:
        """The professional's busy time, or None (no calendar, or never pulled)."""
        ...

    async def save(self, busy: CalendarBusyTime) -> None:
        """Insert or replace the professional's busy time.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...

    async def remove(self, clinic_id: str, professional_id: str) -> None:
        """Forget the professional's busy time (nothing happens when there is none)."""
        ...


class CalendarFeedRepository(Protocol):
    """Professionals' private ICS feeds (``uow.calendar_feeds``): one token per
    professional."""

    async def find(self, clinic_id: str, professional_id: str) -> CalendarFeed | None:
        """The professional's feed, or None."""
        ...

    async def find_by_hash(self, token_hash: str) -> CalendarFeed | None:
        """The feed whose token has this SHA-256 (any clinic), or None."""
        ...

    async def save(self, feed: CalendarFeed) -> None:
        """Insert or replace the professional's feed; the previous token is no longer found.

        Raises:
            Conflict: another feed has this token hash.
            TransactionConflict: the feed changed since it was read (SQLite, Firestore).
        """
        ...
