"""Google Calendar API v3 as Porfin's :class:`~porfin_core.ports.calendar.CalendarSync`.

Calls (reference §2.1): ``events.insert`` (with an id derived from the appointment id, so a
retry cannot duplicate), ``events.patch`` (only Porfin's fields, ``If-Match`` on request),
``events.delete``, ``events.get`` (after a 409), ``events.list`` (``singleEvents=true``;
``timeMin``/``timeMax`` on a full sync, ``syncToken`` + ``showDeleted`` on an incremental one,
every page followed to the one carrying ``nextSyncToken``) and ``freeBusy``. Every modifying
call sends ``sendUpdates=none``: Porfin tells the patient itself, over WhatsApp.

Errors: a 401 refreshes the access token once and repeats the call; 429, 5xx, 403 rate limits
and requests without an answer are retried with backoff (see ``transport``); a 410 on a pull
is :class:`~porfin_core.errors.CalendarResyncRequired`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import structlog

from porfin_adapters.google_calendar.oauth import GoogleCalendarOAuth
from porfin_adapters.google_calendar.payloads import (
    event_body,
    google_event_id,
    parse_busy,
    parse_event,
    rfc3339,
)
from porfin_adapters.google_calendar.transport import (
    PROVIDER,
    Answer,
    Backoff,
    HttpSession,
    bad_response,
    classify,
    retrying,
)
from porfin_core.domain.calendar import (
    BusyInterval,
    CalendarChanges,
    CalendarConnection,
    CalendarEvent,
    EventStatus,
    merge_intervals,
)
from porfin_core.errors import CalendarError, ValidationError

log = structlog.get_logger(__name__)

DEFAULT_CALENDAR_URL = "https://www.googleapis.com/calendar/v3"
PAGE_SIZE = 250
"""Events per ``events.list`` page (Google's default; at most 2,500)."""
MAX_PAGES = 1_000
"""Pages followed at most in one pull (a guard against a server that never ends)."""


class GoogleCalendarSync:
    """Keeps connected Google calendars in step (implements
    :class:`~porfin_core.ports.calendar.CalendarSync`).

    Args:
        oauth: Gives each connection's access token.
        base_url: ``https://www.googleapis.com/calendar/v3``, or a fake in tests.
        backoff: Retries on rate limits, server errors and requests without an answer.
        page_size: Events per ``events.list`` page.
        timeout: Seconds for connecting and for each read.
    """

    def __init__(
        self,
        oauth: GoogleCalendarOAuth,
        *,
        base_url: str = DEFAULT_CALENDAR_URL,
        backoff: Backoff | None = None,
        page_size: int = PAGE_SIZE,
        timeout: float = 20.0,
    ) -> None:
        self._oauth = oauth
        self.base_url = base_url.rstrip("/")
        self._backoff = backoff or Backoff()
        self._page_size = page_size
        self._http = HttpSession(timeout)

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    # -- CalendarSync -------------------------------------------------------------------

    async def push(
        self,
        connection: CalendarConnection,
        event: CalendarEvent,
        *,
        if_match: str | None = None,
    ) -> CalendarEvent:
        """Create or update the event (see :class:`~porfin_core.ports.calendar.CalendarSync`)."""
        body = event_body(event)
        if event.external_id is not None:
            return await self._patch(connection, event.external_id, body, event, if_match)
        event_id = google_event_id(event.appointment_id) if event.appointment_id else None
        answer = await self._insert(connection, body, event_id)
        if answer.status == 409 and event_id is not None:
            # The id exists: a first attempt whose answer was lost, or an event deleted in
            # Google (ids of deleted events stay taken).
            existing = await self._call(
                connection, "GET", self._event_path(connection, event_id), operation="push"
            )
            if existing.ok and isinstance(existing.body, dict):
                try:
                    mine: CalendarEvent | None = parse_event(existing.body, event.time_zone)
                except (ValueError, ValidationError):
                    mine = None
                if (
                    mine is not None
                    and mine.status is not EventStatus.CANCELLED
                    and mine.appointment_id == event.appointment_id
                ):
                    return await self._patch(connection, event_id, body, event, None)
            answer = await self._insert(connection, body, None)
        return self._event(self._expect_ok(answer, "push"), event.time_zone, "push")

    async def delete(
        self,
        connection: CalendarConnection,
        external_id: str,
        *,
        if_match: str | None = None,
    ) -> None:
        """Delete the event; one already gone (404, 410) counts as deleted."""
        answer = await self._call(
            connection,
            "DELETE",
            self._event_path(connection, external_id),
            operation="delete",
            params={"sendUpdates": "none"},
            headers={"If-Match": if_match} if if_match else None,
        )
        if answer.ok or answer.status in (404, 410):
            return
        raise classify(answer, operation="delete")

    async def pull(
        self,
        connection: CalendarConnection,
        *,
        time_min: datetime,
        time_max: datetime | None = None,
    ) -> CalendarChanges:
        """Incremental changes since ``connection.sync_token``, or a full sync without one."""
        full = connection.sync_token is None
        params: dict[str, str] = {"singleEvents": "true", "maxResults": str(self._page_size)}
        if full:
            params["timeMin"] = rfc3339(time_min)
            if time_max is not None:
                params["timeMax"] = rfc3339(time_max)
        else:
            # syncToken forbids timeMin/timeMax/orderBy/q/updatedMin/privateExtendedProperty;
            # deleted events always come with it, showDeleted only says so.
            params["syncToken"] = str(connection.sync_token)
            params["showDeleted"] = "true"
        events: dict[str, CalendarEvent] = {}
        deleted: dict[str, None] = {}
        page_token: str | None = None
        seen_pages: set[str] = set()
        for _ in range(MAX_PAGES):
            page_params = dict(params)
            if page_token is not None:
                page_params["pageToken"] = page_token
            answer = await self._call(
                connection,
                "GET",
                self._events_path(connection),
                operation="pull",
                params=page_params,
            )
            page = self._expect_ok(answer, "pull")
            zone = page.get("timeZone") if isinstance(page.get("timeZone"), str) else None
            for item in page.get("items") or []:
                self._take(item, zone, events, deleted, full=full)
            next_page = page.get("nextPageToken")
            if not next_page:
                token = page.get("nextSyncToken")
                return CalendarChanges(
                    events=tuple(events.values()),
                    deleted=tuple(deleted),
                    next_sync_token=str(token) if token else None,
                    full=full,
                )
            if next_page in seen_pages:
                break
            seen_pages.add(str(next_page))
            page_token = str(next_page)
        reason = "Google's event list did not end"
        raise CalendarError(
            reason,
            retryable=True,
            provider=PROVIDER,
            provider_code="endless_pages",
            reason=reason,
            operation="pull",
        )

    async def free_busy(
        self, connection: CalendarConnection, start: datetime, end: datetime
    ) -> list[BusyInterval]:
        """The calendar's busy time in ``[start, end)`` from ``freeBusy``, merged."""
        answer = await self._call(
            connection,
            "POST",
            f"{self.base_url}/freeBusy",
            operation="free_busy",
            json_body={
                "timeMin": rfc3339(start),
                "timeMax": rfc3339(end),
                "items": [{"id": connection.calendar_id}],
            },
        )
        body = self._expect_ok(answer, "free_busy")
        calendars = body.get("calendars")
        entry = calendars.get(connection.calendar_id) if isinstance(calendars, dict) else None
        if not isinstance(entry, dict):
            raise bad_response(answer, operation="free_busy")
        errors = entry.get("errors")
        if isinstance(errors, list) and errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            reason = str(first.get("reason") or "unknown")
            message = f"Google could not give the calendar's busy time ({reason})"
            raise CalendarError(
                message,
                retryable=reason in ("internalError", "backendError"),
                provider=PROVIDER,
                provider_code=reason,
                reason=message,
                operation="free_busy",
            )
        try:
            return merge_intervals(parse_busy(entry.get("busy")))
        except (ValueError, ValidationError):
            raise bad_response(answer, operation="free_busy") from None

    # -- helpers ------------------------------------------------------------------------

    def _events_path(self, connection: CalendarConnection) -> str:
        return f"{self.base_url}/calendars/{quote(connection.calendar_id, safe='')}/events"

    def _event_path(self, connection: CalendarConnection, event_id: str) -> str:
        return f"{self._events_path(connection)}/{quote(event_id, safe='')}"

    async def _insert(
        self, connection: CalendarConnection, body: dict[str, Any], event_id: str | None
    ) -> Answer:
        return await self._call(
            connection,
            "POST",
            self._events_path(connection),
            operation="push",
            params={"sendUpdates": "none"},
            json_body={"id": event_id, **body} if event_id else body,
        )

    async def _patch(
        self,
        connection: CalendarConnection,
        event_id: str,
        body: dict[str, Any],
        event: CalendarEvent,
        if_match: str | None,
    ) -> CalendarEvent:
        answer = await self._call(
            connection,
            "PATCH",
            self._event_path(connection, event_id),
            operation="push",
            params={"sendUpdates": "none"},
            json_body=body,
            headers={"If-Match": if_match} if if_match else None,
        )
        return self._event(self._expect_ok(answer, "push"), event.time_zone, "push")

    def _event(self, body: dict[str, Any], zone: str, operation: str) -> CalendarEvent:
        try:
            return parse_event(body, zone)
        except (ValueError, ValidationError):
            raise bad_response(Answer(200, {}, body), operation=operation) from None

    @staticmethod
    def _take(
        item: Any,
        zone: str | None,
        events: dict[str, CalendarEvent],
        deleted: dict[str, None],
        *,
        full: bool,
    ) -> None:
        if not isinstance(item, dict) or not item.get("id"):
            return
        event_id = str(item["id"])
        if item.get("status") == EventStatus.CANCELLED.value:
            events.pop(event_id, None)
            if not full:
                deleted[event_id] = None
            return
        try:
            event = parse_event(item, zone)
        except (ValueError, ValidationError) as exc:
            # One odd event must not stop the calendar's sync for good.
            log.warning("calendar.event_skipped", event_id=event_id, error=str(exc))
            return
        deleted.pop(event_id, None)
        events[event_id] = event

    @staticmethod
    def _expect_ok(answer: Answer, operation: str) -> dict[str, Any]:
        if not answer.ok:
            raise classify(answer, operation=operation)
        if not isinstance(answer.body, dict):
            raise bad_response(answer, operation=operation)
        return answer.body

    async def _call(
        self,
        connection: CalendarConnection,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """One API call with backoff; a 401 refreshes the access token and repeats it once.
        The answer is returned whatever its status."""
        answer = await self._attempts(
            connection, method, url, operation, params, json_body, headers
        )
        if answer.status == 401:
            self._oauth.forget_access_token(connection)
            answer = await self._attempts(
                connection, method, url, operation, params, json_body, headers
            )
        return answer

    async def _attempts(
        self,
        connection: CalendarConnection,
        method: str,
        url: str,
        operation: str,
        params: Mapping[str, str] | None,
        json_body: Any,
        headers: Mapping[str, str] | None,
    ) -> Answer:
        token = await self._oauth.access_token(connection)
        request_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        return await retrying(
            lambda: self._http.send(
                method,
                url,
                operation=operation,
                headers=request_headers,
                params=params,
                json_body=json_body,
            ),
            self._backoff,
            operation=operation,
        )
