"""A fake of Google's OAuth 2.0 endpoints and Calendar API v3, served by uvicorn on 127.0.0.1.

It speaks the documented wire format (reference ``integrations.md`` §2) and answers with the
shapes of ``../shared/fixtures/gcal``:

- ``GET /o/oauth2/v2/auth``: the consent page; the "user" consents at once and is redirected
  to ``redirect_uri?code=...&state=...`` (or ``error=access_denied`` when told to refuse);
- ``POST /token``: ``authorization_code`` (checks client, redirect URI, PKCE ``S256``; a code
  works once) answering ``oauth_token_response_authorization_code.json`` with fresh tokens,
  and ``refresh_token`` (a new access token; ``invalid_grant`` once revoked);
- ``/calendar/v3/calendars/{calendarId}/events``: insert (client ids checked against
  base32hex, 409 ``duplicate``), get, patch (``extendedProperties`` merged key by key,
  ``If-Match`` -> 412), delete (a tombstone with status ``cancelled``; again -> 410
  ``deleted``), list (``timeMin``/``timeMax``, ``showDeleted``, ``maxResults`` +
  ``pageToken``, ``nextSyncToken`` on the last page only, ``syncToken`` with the changes
  since, forbidden parameters refused; tokens can be invalidated -> 410 ``fullSyncRequired``);
- ``POST /calendar/v3/freeBusy``: busy periods of the opaque events, merged, clipped to the
  range; an empty range -> ``error_400_timeRangeEmpty.json``; an unknown calendar -> a
  per-calendar ``errors`` entry;
- every Calendar call needs a live bearer token (else ``error_401_authError.json``), and
  :meth:`GoogleCalendarFake.fail_next` scripts failures (403 ``userRateLimitExceeded`` from
  the fixture, 403 ``rateLimitExceeded``/``quotaExceeded``, 429, 500, 503, 401, 410).

Bodies marked "constructed" below follow the documented envelope; their exact text is not in
the fixtures (reference §6 lists them as unverified).

Use :meth:`GoogleCalendarFake.serving` (a context manager) to run it in a thread.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import re
import secrets
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from typing import Any
from urllib.parse import urlencode

import attrs
import uvicorn
from litestar import Litestar, Request, Response, delete, get, patch, post
from litestar.params import FromPath

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("gcal")
CLIENT_ID = "1234567890-porfin.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-fake-client-secret-for-tests"
OWNER = "dra.ana@example.com"
EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
FORBIDDEN_WITH_SYNC = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


def fixture(name: str) -> Any:
    """A Google Calendar fixture, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def google_error(
    code: int,
    domain: str,
    reason: str,
    message: str,
    *,
    location_type: str | None = None,
    location: str | None = None,
) -> dict[str, Any]:
    """Google's error envelope (constructed, in the shape of the fixtures)."""
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location_type:
        item["locationType"] = location_type
    if location:
        item["location"] = location
    return {"error": {"errors": [item], "code": code, "message": message}}


FULL_SYNC_REQUIRED = google_error(
    410,
    "calendar",
    "fullSyncRequired",
    "Sync token is no longer valid, a full sync is required.",
    location_type="parameter",
    location="syncToken",
)
FAILURES: dict[str, tuple[int, Any]] = {
    "403_userRateLimitExceeded": (403, fixture("error_403_userRateLimitExceeded.json")),
    "403_rateLimitExceeded": (
        403,
        google_error(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded"),
    ),
    "403_quotaExceeded": (
        403,
        google_error(403, "usageLimits", "quotaExceeded", "Calendar usage limits exceeded."),
    ),
    "429": (429, google_error(429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")),
    "500": (500, google_error(500, "global", "backendError", "Backend Error")),
    "503": (503, google_error(503, "global", "backendError", "Backend Error")),
    "401": (401, fixture("error_401_authError.json")),
    "410": (410, FULL_SYNC_REQUIRED),
}
"""Scripted failures of the Calendar API: HTTP status and body, by name."""


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode()


def _unb64(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text.encode()))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _moment(value: Any) -> datetime | None:
    """An ``EventDateTime`` as an aware datetime (whole days as UTC midnights)."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("dateTime"), str):
        try:
            moment = datetime.fromisoformat(value["dateTime"])
        except ValueError:
            return None
        if moment.tzinfo is None and not value.get("timeZone"):
            return None  # "A time zone offset is required unless a time zone is specified"
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if isinstance(value.get("date"), str):
        try:
            return datetime.combine(date.fromisoformat(value["date"]), time(0), tzinfo=UTC)
        except ValueError:
            return None
    return None


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    form: dict[str, str] = attrs.field(factory=dict)


@attrs.define
class Grant:
    """What a consent granted, until its code is exchanged."""

    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    offline: bool
    challenge: str | None
    challenge_method: str | None


@attrs.define
class Calendar:
    """One calendar: its events as Google returns them and the change number of each."""

    time_zone: str = "America/Sao_Paulo"
    events: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    changed: dict[str, int] = attrs.field(factory=dict)
    generation: int = 0


class GoogleCalendarFake:
    """State of the fake: OAuth grants and tokens, calendars, scripted failures."""

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.url = ""
        self.requests: list[Recorded] = []
        self.calendars: dict[str, Calendar] = {}
        self.codes: dict[str, Grant] = {}
        self.refresh_tokens: dict[str, tuple[str, ...]] = {}
        """Live refresh tokens and their scopes (revoked ones are removed)."""
        self.access_tokens: set[str] = set()
        self.granted_scopes: tuple[str, ...] | None = None
        """Scopes the "user" grants (None: everything asked for)."""
        self.refuse_consent = False
        self._failures: deque[tuple[int, Any, dict[str, str]]] = deque()
        self._token_failures: deque[tuple[int, Any]] = deque()
        self._changes = itertools.count(1)
        self._last_change = 0
        self._lock = threading.RLock()
        self._started = threading.Event()
        self.reset()
        self.app = self._build_app()

    # -- test controls ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests, tokens, events and scripted failures; one empty ``primary``."""
        with self._lock:
            self.requests.clear()
            self.calendars = {"primary": Calendar()}
            self.codes.clear()
            self.refresh_tokens.clear()
            self.access_tokens.clear()
            self.granted_scopes = None
            self.refuse_consent = False
            self._failures.clear()
            self._token_failures.clear()

    def fail_next(
        self, name: str, times: int = 1, *, headers: dict[str, str] | None = None
    ) -> None:
        """Answer the next ``times`` Calendar calls with failure ``name`` (:data:`FAILURES`)."""
        status, body = FAILURES[name]
        with self._lock:
            self._failures.extend([(status, body, dict(headers or {}))] * times)

    def fail_token_next(self, status: int, body: Any, times: int = 1) -> None:
        """Answer the next ``times`` token requests with ``status`` and ``body``."""
        with self._lock:
            self._token_failures.extend([(status, body)] * times)

    def revoke(self, refresh_token: str | None = None) -> None:
        """Revoke one refresh token (or all), as the owner removing Porfin's access does."""
        with self._lock:
            if refresh_token is None:
                self.refresh_tokens.clear()
            else:
                self.refresh_tokens.pop(refresh_token, None)
            self.access_tokens.clear()

    def expire_access_tokens(self) -> None:
        """Every access token handed out stops working (401 ``authError``)."""
        with self._lock:
            self.access_tokens.clear()

    def invalidate_sync_tokens(self, calendar_id: str = "primary") -> None:
        """Sync tokens handed out for the calendar get 410 ``fullSyncRequired`` from now on."""
        with self._lock:
            self.calendars[calendar_id].generation += 1

    def load_fixture_events(self, calendar_id: str = "primary") -> list[str]:
        """Put the events of ``events_list_full_sync_response.json`` in the calendar, as
        they are there (ids, etags, times); returns their ids."""
        page = fixture("events_list_full_sync_response.json")
        with self._lock:
            calendar = self.calendars.setdefault(calendar_id, Calendar())
            calendar.time_zone = page["timeZone"]
            for item in page["items"]:
                calendar.events[item["id"]] = copy.deepcopy(item)
                calendar.changed[item["id"]] = self._next_change()
        return [item["id"] for item in page["items"]]

    def add_event(
        self,
        summary: str,
        start: datetime,
        end: datetime,
        *,
        calendar_id: str = "primary",
        time_zone: str = "America/Sao_Paulo",
        **fields: Any,
    ) -> dict[str, Any]:
        """The calendar's owner creates an event in Google (not through Porfin)."""
        body = {
            "summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": time_zone},
            "end": {"dateTime": end.isoformat(), "timeZone": time_zone},
            **fields,
        }
        with self._lock:
            return copy.deepcopy(self._insert(calendar_id, body, secrets.token_hex(13)))

    def edit_event(self, event_id: str, *, calendar_id: str = "primary", **fields: Any) -> None:
        """The owner edits an event in Google (a drag to another time, a new colour...).
        ``start``/``end`` may be given as datetimes."""
        with self._lock:
            calendar = self.calendars[calendar_id]
            for name in ("start", "end"):
                if isinstance(fields.get(name), datetime):
                    current = calendar.events[event_id].get(name) or {}
                    fields[name] = {**current, "dateTime": fields[name].isoformat()}
            self._patch(calendar, event_id, fields)

    def delete_event(self, event_id: str, *, calendar_id: str = "primary") -> None:
        """The owner deletes an event in Google."""
        with self._lock:
            calendar = self.calendars[calendar_id]
            calendar.events[event_id]["status"] = "cancelled"
            self._stamp(calendar, event_id)

    def event(self, event_id: str, calendar_id: str = "primary") -> dict[str, Any]:
        """An event as the fake holds it (a copy)."""
        with self._lock:
            return copy.deepcopy(self.calendars[calendar_id].events[event_id])

    def live_events(self, calendar_id: str = "primary") -> list[dict[str, Any]]:
        """The calendar's events that are not cancelled."""
        with self._lock:
            events = self.calendars[calendar_id].events.values()
            return [copy.deepcopy(e) for e in events if e.get("status") != "cancelled"]

    def calls(self, method: str, path_suffix: str = "") -> list[Recorded]:
        """The requests of one method whose path ends with ``path_suffix``."""
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    def token_grants(self) -> list[str]:
        """The ``grant_type`` of every token request, in order."""
        return [r.form.get("grant_type", "") for r in self.calls("POST", "/token")]

    # -- state changes (under the lock) -------------------------------------------------

    def _next_change(self) -> int:
        self._last_change = next(self._changes)
        return self._last_change

    def _stamp(self, calendar: Calendar, event_id: str) -> dict[str, Any]:
        change = self._next_change()
        event = calendar.events[event_id]
        event["etag"] = f'"{3470837371874000 + change * 1000}"'
        event["updated"] = _now_text()
        calendar.changed[event_id] = change
        return event

    def _insert(self, calendar_id: str, body: dict[str, Any], event_id: str) -> dict[str, Any]:
        calendar = self.calendars[calendar_id]
        now = _now_text()
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://www.google.com/calendar/event?eid={event_id}",
            "created": now,
            "creator": {"email": OWNER, "self": True},
            "organizer": {"email": OWNER, "self": True},
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "reminders": {"useDefault": True},
            "eventType": "default",
        }
        for key, value in body.items():
            if key not in ("id", "etag", "kind", "created", "updated", "htmlLink", "iCalUID"):
                event[key] = copy.deepcopy(value)
        calendar.events[event_id] = event
        return self._stamp(calendar, event_id)

    def _patch(self, calendar: Calendar, event_id: str, body: dict[str, Any]) -> dict[str, Any]:
        event = calendar.events[event_id]
        for key, value in body.items():
            if key in ("id", "etag", "kind", "created", "updated", "htmlLink", "iCalUID"):
                continue
            if key == "extendedProperties" and isinstance(value, dict):
                properties = event.setdefault("extendedProperties", {})
                for scope in ("private", "shared"):
                    if isinstance(value.get(scope), dict):
                        properties.setdefault(scope, {}).update(value[scope])
            else:
                event[key] = copy.deepcopy(value)
        if "start" in body or "end" in body:
            event["sequence"] = int(event.get("sequence", 0)) + 1
        return self._stamp(calendar, event_id)

    # -- the app ------------------------------------------------------------------------

    def _record(self, request: Request[Any, Any, Any], **fields: Any) -> None:
        recorded = Recorded(
            request.method,
            request.url.path,
            dict(request.query_params),
            dict(request.headers),
            **fields,
        )
        with self._lock:
            self.requests.append(recorded)

    def _refuse(self, request: Request[Any, Any, Any]) -> Response[Any] | None:
        """401 without a live token, else the next scripted failure, else None."""
        header = request.headers.get("authorization", "")
        with self._lock:
            if not header.startswith("Bearer ") or header[7:] not in self.access_tokens:
                return Response(fixture("error_401_authError.json"), status_code=401)
            if not self._failures:
                return None
            status, body, headers = self._failures.popleft()
        return Response(copy.deepcopy(body), status_code=status, headers=headers)

    @staticmethod
    def _bad(message: str, reason: str = "invalid", **where: str) -> Response[Any]:
        return Response(google_error(400, "global", reason, message, **where), status_code=400)

    def _calendar(self, calendar_id: str) -> Calendar | None:
        return self.calendars.get(calendar_id)

    @staticmethod
    def _not_found() -> Response[Any]:
        return Response(google_error(404, "global", "notFound", "Not Found"), status_code=404)

    @staticmethod
    def _check_times(body: dict[str, Any], *, partial: bool) -> Response[Any] | None:
        start, end = _moment(body.get("start")), _moment(body.get("end"))
        if not partial and (start is None or end is None):
            missing = "start" if start is None else "end"
            return GoogleCalendarFake._bad(f"Missing {missing} time.", "required")
        if start is not None and end is not None and end < start:
            return Response(fixture("error_400_timeRangeEmpty.json"), status_code=400)
        return None

    def _list(self, calendar: Calendar, query: dict[str, str]) -> Response[Any]:
        sync_token = query.get("syncToken")
        if sync_token and any(name in query for name in FORBIDDEN_WITH_SYNC):
            return self._bad("Sync token is not compatible with the given filters.")
        if sync_token and query.get("showDeleted") == "false":
            return self._bad("showDeleted=false is not allowed with a sync token.")
        try:
            page_size = int(query.get("maxResults", "250"))
        except ValueError:
            return self._bad("Invalid maxResults value.")
        if not 1 <= page_size <= 2500:
            return self._bad("Invalid maxResults value.")
        if query.get("pageToken"):
            cursor = _unb64(query["pageToken"])
            if cursor is None:
                return self._bad("Invalid page token value.")
            snapshot, offset = int(cursor["s"]), int(cursor["o"])
        else:
            snapshot, offset = self._last_change, 0
        if sync_token:
            token = _unb64(sync_token)
            if token is None or token.get("g") != calendar.generation:
                return Response(FULL_SYNC_REQUIRED, status_code=410)
            since = int(token["c"])
            ids = sorted(
                (i for i, c in calendar.changed.items() if since < c <= snapshot),
                key=lambda i: calendar.changed[i],
            )
            items = [self._listed(calendar.events[i]) for i in ids]
        else:
            low = _moment({"dateTime": query["timeMin"]}) if query.get("timeMin") else None
            high = _moment({"dateTime": query["timeMax"]}) if query.get("timeMax") else None
            show_deleted = query.get("showDeleted") == "true"
            items = []
            for event_id, event in calendar.events.items():
                if calendar.changed[event_id] > snapshot:
                    continue  # changed after this listing began: the next sync brings it
                if event.get("status") == "cancelled" and not show_deleted:
                    continue
                start, end = _moment(event.get("start")), _moment(event.get("end"))
                if low is not None and end is not None and end <= low:
                    continue
                if high is not None and start is not None and start >= high:
                    continue
                items.append(self._listed(event))
            items.sort(key=lambda e: (e.get("start", {}).get("dateTime", ""), e["id"]))
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"p{snapshot:016d}"',
            "summary": OWNER,
            "description": "",
            "updated": _now_text(),
            "timeZone": calendar.time_zone,
            "accessRole": "owner",
            "defaultReminders": [{"method": "popup", "minutes": 30}],
            "items": items[offset : offset + page_size],
        }
        if offset + page_size < len(items):
            body["nextPageToken"] = _b64({"s": snapshot, "o": offset + page_size})
        else:
            body["nextSyncToken"] = _b64({"g": calendar.generation, "c": snapshot})
        return Response(body)

    @staticmethod
    def _listed(event: dict[str, Any]) -> dict[str, Any]:
        if event.get("status") == "cancelled":
            # Deleted events may come with little more than their id.
            return {
                "kind": "calendar#event",
                "etag": event["etag"],
                "id": event["id"],
                "status": "cancelled",
            }
        return copy.deepcopy(event)

    def _free_busy(self, body: Any) -> Response[Any]:
        if not isinstance(body, dict):
            return self._bad("Invalid request body.")
        low = _moment({"dateTime": body.get("timeMin")})
        high = _moment({"dateTime": body.get("timeMax")})
        if low is None or high is None:
            return self._bad("Missing time range.", "required")
        if high <= low:
            return Response(fixture("error_400_timeRangeEmpty.json"), status_code=400)
        calendars: dict[str, Any] = {}
        for item in body.get("items") or []:
            calendar_id = str(item.get("id"))
            calendar = self.calendars.get(calendar_id)
            if calendar is None:
                calendars[calendar_id] = {
                    "errors": [{"domain": "global", "reason": "notFound"}],
                    "busy": [],
                }
                continue
            periods: list[tuple[datetime, datetime]] = []
            for event in calendar.events.values():
                if event.get("status") == "cancelled" or event.get("transparency") == (
                    "transparent"
                ):
                    continue
                start, end = _moment(event.get("start")), _moment(event.get("end"))
                if start is None or end is None or end <= low or start >= high:
                    continue
                periods.append((max(start, low), min(end, high)))
            merged: list[tuple[datetime, datetime]] = []
            for start, end in sorted(periods):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
                else:
                    merged.append((start, end))
            calendars[calendar_id] = {
                "busy": [{"start": _rfc3339(s), "end": _rfc3339(e)} for s, e in merged]
            }
        return Response(
            {
                "kind": "calendar#freeBusy",
                "timeMin": body["timeMin"],
                "timeMax": body["timeMax"],
                "calendars": calendars,
            }
        )

    def _token(self, form: dict[str, str]) -> Response[Any]:
        with self._lock:
            if self._token_failures:
                status, failure = self._token_failures.popleft()
                return Response(copy.deepcopy(failure), status_code=status)
        if form.get("client_id") != self.client_id or form.get("client_secret") != (
            self.client_secret
        ):
            return Response(
                {"error": "invalid_client", "error_description": "The OAuth client was not found."},
                status_code=401,
            )
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self._lock:
                grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant.redirect_uri != form.get("redirect_uri"):
                return Response(
                    {"error": "invalid_grant", "error_description": "Malformed auth code."},
                    status_code=400,
                )
            if grant.challenge is not None:
                verifier = form.get("code_verifier", "")
                digest = hashlib.sha256(verifier.encode()).digest()
                expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                if grant.challenge_method != "S256" or expected != grant.challenge:
                    return Response(
                        {"error": "invalid_grant", "error_description": "Invalid code verifier."},
                        status_code=400,
                    )
            answer = fixture("oauth_token_response_authorization_code.json")
            access = f"ya29.fake-{secrets.token_urlsafe(24)}"
            answer["access_token"] = access
            answer["scope"] = " ".join(grant.scopes)
            with self._lock:
                self.access_tokens.add(access)
                if grant.offline:
                    refresh = f"1//fake-{secrets.token_urlsafe(32)}"
                    answer["refresh_token"] = refresh
                    self.refresh_tokens[refresh] = grant.scopes
                else:
                    answer.pop("refresh_token", None)
            return Response(answer)
        if grant_type == "refresh_token":
            with self._lock:
                scopes = self.refresh_tokens.get(form.get("refresh_token", ""))
                if scopes is None:
                    return Response(
                        {
                            "error": "invalid_grant",
                            "error_description": "Token has been expired or revoked.",
                        },
                        status_code=400,
                    )
                access = f"ya29.fake-{secrets.token_urlsafe(24)}"
                self.access_tokens.add(access)
            answer = fixture("oauth_token_response_authorization_code.json")
            answer.pop("refresh_token")
            answer.update(access_token=access, scope=" ".join(scopes))
            return Response(answer)
        return Response(
            {"error": "unsupported_grant_type", "error_description": "Invalid grant_type."},
            status_code=400,
        )

    def _build_app(self) -> Litestar:
        fake = self
        events_path = "/calendar/v3/calendars/{calendar_id:str}/events"

        @get("/o/oauth2/v2/auth")
        async def authorize(request: Request[Any, Any, Any]) -> Response[Any]:
            fake._record(request)
            query = dict(request.query_params)
            redirect_uri = query.get("redirect_uri", "")
            if query.get("client_id") != fake.client_id or not redirect_uri:
                return Response(
                    "Error 401: invalid_client", status_code=401, media_type="text/plain"
                )
            if query.get("response_type") != "code" or not query.get("scope"):
                return Response(
                    "Error 400: invalid_request", status_code=400, media_type="text/plain"
                )
            state = {"state": query["state"]} if "state" in query else {}
            if fake.refuse_consent:
                target = f"{redirect_uri}?{urlencode({'error': 'access_denied', **state})}"
                return Response(None, status_code=302, headers={"Location": target})
            asked = tuple(query["scope"].split())
            granted = fake.granted_scopes if fake.granted_scopes is not None else asked
            code = f"4/0Afake-{secrets.token_urlsafe(24)}"
            with fake._lock:
                fake.codes[code] = Grant(
                    client_id=query["client_id"],
                    redirect_uri=redirect_uri,
                    scopes=granted,
                    offline=query.get("access_type") == "offline",
                    challenge=query.get("code_challenge"),
                    challenge_method=query.get("code_challenge_method"),
                )
            params = {"code": code, **state, "scope": " ".join(granted)}
            return Response(
                None, status_code=302, headers={"Location": f"{redirect_uri}?{urlencode(params)}"}
            )

        @post("/token", status_code=200)
        async def token(request: Request[Any, Any, Any]) -> Response[Any]:
            form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
            fake._record(request, form=form)
            return fake._token(form)

        @get(events_path)
        async def list_events(
            request: Request[Any, Any, Any], calendar_id: FromPath[str]
        ) -> Response[Any]:
            fake._record(request)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            with fake._lock:
                calendar = fake._calendar(calendar_id)
                if calendar is None:
                    return fake._not_found()
                return fake._list(calendar, dict(request.query_params))

        @post(events_path, status_code=200)
        async def insert_event(
            request: Request[Any, Any, Any], calendar_id: FromPath[str]
        ) -> Response[Any]:
            body = json.loads(await request.body() or b"null")
            fake._record(request, json=body)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            if not isinstance(body, dict):
                return fake._bad("Invalid request body.")
            problem = fake._check_times(body, partial=False)
            if problem is not None:
                return problem
            event_id = body.get("id") or secrets.token_hex(13)
            if not isinstance(event_id, str) or not EVENT_ID.fullmatch(event_id):
                return fake._bad("Invalid resource id value.")
            with fake._lock:
                if fake._calendar(calendar_id) is None:
                    return fake._not_found()
                if event_id in fake.calendars[calendar_id].events:
                    return Response(
                        google_error(
                            409, "global", "duplicate", "The requested identifier already exists."
                        ),
                        status_code=409,
                    )
                return Response(copy.deepcopy(fake._insert(calendar_id, body, event_id)))

        @get(events_path + "/{event_id:str}")
        async def get_event(
            request: Request[Any, Any, Any], calendar_id: FromPath[str], event_id: FromPath[str]
        ) -> Response[Any]:
            fake._record(request)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            with fake._lock:
                calendar = fake._calendar(calendar_id)
                if calendar is None or event_id not in calendar.events:
                    return fake._not_found()
                return Response(copy.deepcopy(calendar.events[event_id]))

        @patch(events_path + "/{event_id:str}", status_code=200)
        async def patch_event(
            request: Request[Any, Any, Any], calendar_id: FromPath[str], event_id: FromPath[str]
        ) -> Response[Any]:
            body = json.loads(await request.body() or b"null")
            fake._record(request, json=body)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            if not isinstance(body, dict):
                return fake._bad("Invalid request body.")
            with fake._lock:
                calendar = fake._calendar(calendar_id)
                if calendar is None or event_id not in calendar.events:
                    return fake._not_found()
                event = calendar.events[event_id]
                if_match = request.headers.get("if-match")
                if if_match is not None and if_match != event["etag"]:
                    return Response(
                        google_error(
                            412,
                            "global",
                            "conditionNotMet",
                            "Precondition Failed",
                            location_type="header",
                            location="If-Match",
                        ),
                        status_code=412,
                    )
                problem = fake._check_times({**event, **body}, partial=False)
                if problem is not None:
                    return problem
                return Response(copy.deepcopy(fake._patch(calendar, event_id, body)))

        @delete(events_path + "/{event_id:str}", status_code=200)
        async def delete_event(
            request: Request[Any, Any, Any], calendar_id: FromPath[str], event_id: FromPath[str]
        ) -> Response[Any]:
            fake._record(request)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            with fake._lock:
                calendar = fake._calendar(calendar_id)
                if calendar is None or event_id not in calendar.events:
                    return fake._not_found()
                event = calendar.events[event_id]
                if event.get("status") == "cancelled":
                    return Response(
                        google_error(410, "global", "deleted", "Resource has been deleted"),
                        status_code=410,
                    )
                if_match = request.headers.get("if-match")
                if if_match is not None and if_match != event["etag"]:
                    return Response(
                        google_error(412, "global", "conditionNotMet", "Precondition Failed"),
                        status_code=412,
                    )
                event["status"] = "cancelled"
                fake._stamp(calendar, event_id)
            return Response(None, status_code=204)

        @post("/calendar/v3/freeBusy", status_code=200)
        async def free_busy(request: Request[Any, Any, Any]) -> Response[Any]:
            body = json.loads(await request.body() or b"null")
            fake._record(request, json=body)
            refused = fake._refuse(request)
            if refused is not None:
                return refused
            with fake._lock:
                return fake._free_busy(body)

        return Litestar(
            [
                authorize,
                token,
                list_events,
                insert_event,
                get_event,
                patch_event,
                delete_event,
                free_busy,
            ],
            on_startup=[lambda: fake._started.set()],
            openapi_config=None,
        )

    # -- serving ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serving(cls) -> Iterator[GoogleCalendarFake]:
        """Run a fake on a free loopback port in a thread for the duration of the block."""
        fake = cls()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(fake.app, log_level="warning", lifespan="on", ws="none")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            if not fake._started.wait(timeout=10):
                raise RuntimeError("the fake Google Calendar did not start")
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
