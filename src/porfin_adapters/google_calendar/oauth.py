"""Connecting a professional's Google Calendar: OAuth 2.0 authorization code with offline
access and PKCE, refresh tokens encrypted with the clinic's key, access tokens cached.

The flow (reference §2.5):

1. :meth:`GoogleCalendarOAuth.consent_url` builds Google's consent URL with
   ``access_type=offline`` and ``prompt=consent`` (so Google hands out a refresh token even
   on a second consent), ``include_granted_scopes=true``, a PKCE ``S256`` challenge, and a
   ``state`` that is a Fernet token (encrypted and signed with an installation key kept in the
   secret store) holding the clinic, the professional, the redirect URI, the PKCE verifier
   and when it was made. The state is therefore verifiable by any process of the
   installation (the CLI makes the URL, the HTTP callback completes it), cannot be forged or
   altered, expires after ``state_ttl``, and keeps the verifier secret from the browser.
2. :meth:`GoogleCalendarOAuth.complete` checks the state, exchanges the code (with the
   verifier) at the token endpoint, encrypts the refresh token with the clinic's key and puts
   the ciphertext in the secret store; the returned connection holds only its reference.
3. :meth:`GoogleCalendarOAuth.access_token` gives an access token for a connection, refreshed
   with the refresh token when the cached one is within a minute of expiring; Google's
   ``invalid_grant`` on refresh becomes :class:`CalendarAccessRevoked`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import attrs
from cryptography.fernet import InvalidToken

from porfin_adapters.google_calendar.transport import (
    PROVIDER,
    Answer,
    Backoff,
    HttpSession,
    bad_response,
    retrying,
)
from porfin_adapters.security.clinic_keys import ClinicKeys, clinic_key_name
from porfin_core.domain.calendar import PRIMARY_CALENDAR, CalendarConnection
from porfin_core.errors import (
    CalendarAccessRevoked,
    CalendarError,
    NotFound,
    ValidationError,
)
from porfin_core.ports.calendar import ConsentRequest
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.secrets import SecretStore

DEFAULT_AUTH_URL = "https://accounts.google.com/o/oauth2/v2/auth"
DEFAULT_TOKEN_URL = "https://oauth2.googleapis.com/token"
EVENTS_SCOPE = "https://www.googleapis.com/auth/calendar.events"
FREEBUSY_SCOPE = "https://www.googleapis.com/auth/calendar.freebusy"
SCOPES = (EVENTS_SCOPE, FREEBUSY_SCOPE)
"""What Porfin asks for: read and write events, and query free/busy (nothing else of the
account; calendar.freebusy is the narrowest scope freeBusy.query accepts)."""
STATE_KEY_NAME = "gcal-oauth-state-key"
"""Secret store key of the installation key that seals the OAuth ``state``."""
STATE_TTL = timedelta(minutes=15)
REFRESH_MARGIN = timedelta(seconds=60)
"""An access token this close to its expiry is refreshed before use."""


@attrs.frozen
class _CachedToken:
    value: str
    expires_at: datetime


def _pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)  # 86 characters, inside RFC 7636's 43-128
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _oauth_error(answer: Answer) -> tuple[str | None, str | None]:
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error")
    description = body.get("error_description")
    return (
        str(error) if isinstance(error, str) else None,
        str(description) if isinstance(description, str) else None,
    )


class GoogleCalendarOAuth:
    """Google's OAuth for calendars (implements
    :class:`~porfin_core.ports.calendar.CalendarAuthorization`) and the access tokens of
    connected calendars.

    Args:
        client_id: The OAuth client's id (Google Cloud console, type "Web application");
            None: calendars cannot be connected (every call raises ``not_configured``).
        client_secret: The OAuth client's secret.
        secrets: Where the state key, the clinic keys and the encrypted refresh tokens live.
        clock: The current time (state expiry, access token expiry).
        ids: New ids (connections, secret keys).
        auth_url: Google's consent page (a fake in tests).
        token_url: Google's token endpoint (a fake in tests).
        scopes: Scopes asked for.
        state_ttl: How long a consent URL stays usable.
        backoff: Retries of the token endpoint on 429, 5xx and no answer.
        timeout: Seconds for connecting and for each read.
        keys: The clinic keys (shared with other adapters; one is made when omitted).
    """

    def __init__(
        self,
        *,
        client_id: str | None,
        client_secret: str | None,
        secrets: SecretStore,
        clock: Clock,
        ids: IdGenerator,
        auth_url: str = DEFAULT_AUTH_URL,
        token_url: str = DEFAULT_TOKEN_URL,
        scopes: tuple[str, ...] = SCOPES,
        state_ttl: timedelta = STATE_TTL,
        backoff: Backoff | None = None,
        timeout: float = 20.0,
        keys: ClinicKeys | None = None,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._secrets = secrets
        self._clock = clock
        self._ids = ids
        self.auth_url = auth_url
        self.token_url = token_url
        self.scopes = scopes
        self._state_ttl = state_ttl
        self._backoff = backoff or Backoff()
        self._http = HttpSession(timeout)
        self._keys = keys or ClinicKeys(secrets)
        self._tokens: dict[str, _CachedToken] = {}
        self._refreshing: dict[str, asyncio.Lock] = {}

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    def _credentials(self) -> tuple[str, str]:
        if not self._client_id or not self._client_secret:
            reason = "Google Calendar is not configured: set google_client_id and secret"
            raise CalendarError(
                reason,
                retryable=False,
                provider=PROVIDER,
                provider_code="not_configured",
                reason=reason,
            )
        return self._client_id, self._client_secret

    # -- consent ------------------------------------------------------------------------

    async def consent_url(
        self, clinic_id: str, professional_id: str, redirect_uri: str
    ) -> ConsentRequest:
        """Google's consent URL for the professional's calendar (see the module's text)."""
        client_id, _ = self._credentials()
        clinic_key_name(clinic_id)  # a clinic id no key can be named after is refused now
        parts = urlsplit(redirect_uri)
        if parts.scheme not in ("https", "http") or not parts.netloc or parts.fragment:
            raise ValidationError("redirect_uri must be an http(s) URL", field="redirect_uri")
        verifier, challenge = _pkce_pair()
        now = self._clock.now()
        sealed = {
            "c": clinic_id,
            "p": professional_id,
            "r": redirect_uri,
            "v": verifier,
        }
        key = await self._keys.named(STATE_KEY_NAME)
        state = key.encrypt_at_time(
            json.dumps(sealed, separators=(",", ":")).encode("utf-8"), int(now.timestamp())
        ).decode("ascii")
        query = {
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(self.scopes),
            "access_type": "offline",
            "prompt": "consent",
            "include_granted_scopes": "true",
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
        return ConsentRequest(
            url=f"{self.auth_url}?{urlencode(query)}",
            state=state,
            expires_at=now + self._state_ttl,
        )

    async def _open_state(self, state: str) -> dict[str, str]:
        key = await self._keys.named(STATE_KEY_NAME)
        try:
            raw = key.decrypt_at_time(
                state.encode("ascii"),
                ttl=int(self._state_ttl.total_seconds()),
                current_time=int(self._clock.now().timestamp()),
            )
            sealed = json.loads(raw)
        except (InvalidToken, UnicodeError, ValueError) as exc:
            raise ValidationError(
                "the calendar consent link is invalid or expired: ask for a new one",
                field="state",
            ) from exc
        if not isinstance(sealed, dict) or not all(
            isinstance(sealed.get(k), str) for k in ("c", "p", "r", "v")
        ):
            raise ValidationError("the calendar consent state is malformed", field="state")
        return sealed

    async def complete(self, state: str, code: str) -> CalendarConnection:
        """Exchange ``code`` for tokens and make the connection (see the module's text)."""
        client_id, client_secret = self._credentials()
        sealed = await self._open_state(state)
        if not code.strip():
            raise ValidationError("the authorization code is empty", field="code")
        answer = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code.strip(),
                "client_id": client_id,
                "client_secret": client_secret,
                "redirect_uri": sealed["r"],
                "code_verifier": sealed["v"],
            },
            operation="authorize",
        )
        body = self._token_body(answer, operation="authorize", refreshing=False)
        refresh_token = body.get("refresh_token")
        if not isinstance(refresh_token, str) or not refresh_token:
            raise self._refused(
                "Google gave no refresh token (offline access was not granted): connect again",
                "no_refresh_token",
                "authorize",
            )
        granted = tuple(str(body.get("scope") or " ".join(self.scopes)).split())
        if EVENTS_SCOPE not in granted:
            raise self._refused(
                "the calendar's owner did not allow Porfin to manage events: connect again and "
                "tick the calendar permission",
                "missing_scope",
                "authorize",
            )
        clinic_id, professional_id = sealed["c"], sealed["p"]
        ciphertext = await self._keys.encrypt(
            clinic_id,
            json.dumps({"refresh_token": refresh_token, "professional_id": professional_id}),
        )
        ref = await self._secrets.put(f"gcal-refresh-{self._ids.new_id()}", ciphertext)
        now = self._clock.now()
        self._remember(ref.ref, body, now)
        return CalendarConnection(
            id=self._ids.new_id(),
            clinic_id=clinic_id,
            professional_id=professional_id,
            calendar_id=PRIMARY_CALENDAR,
            refresh_token=ref,
            scopes=granted,
            connected_at=now,
        )

    async def disconnect(self, connection: CalendarConnection) -> None:
        """Forget the connection's cached access token and delete its stored refresh token.

        Google still lists Porfin among the account's connected apps until the owner removes
        it (or the token is revoked at Google, which this does not do yet).
        """
        self.forget_access_token(connection)
        await self._secrets.delete(connection.refresh_token)

    # -- access tokens ------------------------------------------------------------------

    def forget_access_token(self, connection: CalendarConnection) -> None:
        """Drop the cached access token (Google refused it): the next use refreshes."""
        self._tokens.pop(connection.refresh_token.ref, None)

    async def access_token(self, connection: CalendarConnection) -> str:
        """A valid access token for the connection, refreshed when needed.

        Raises:
            CalendarAccessRevoked: the connection is revoked, its stored token is gone or
                unreadable, or Google answered ``invalid_grant`` (revoked, expired, or the
                account's password changed).
            CalendarError: the token endpoint failed (retryable) or refused the client.
        """
        if not connection.is_active:
            raise self._revoked(connection, "the calendar connection is revoked")
        ref = connection.refresh_token.ref
        cached = self._fresh(ref)
        if cached is not None:
            return cached
        lock = self._refreshing.setdefault(ref, asyncio.Lock())
        async with lock:
            cached = self._fresh(ref)  # another task refreshed while this one waited
            if cached is not None:
                return cached
            return await self._refresh(connection)

    def _fresh(self, ref: str) -> str | None:
        cached = self._tokens.get(ref)
        if cached is not None and self._clock.now() < cached.expires_at - REFRESH_MARGIN:
            return cached.value
        return None

    async def _refresh(self, connection: CalendarConnection) -> str:
        client_id, client_secret = self._credentials()
        try:
            ciphertext = await self._secrets.get(connection.refresh_token)
            stored = json.loads(await self._keys.decrypt(connection.clinic_id, ciphertext))
        except NotFound:
            raise self._revoked(connection, "the calendar's stored token is gone") from None
        except (ValidationError, ValueError):
            raise self._revoked(connection, "the calendar's stored token is unreadable") from None
        if not isinstance(stored, dict) or stored.get("professional_id") != (
            connection.professional_id
        ):
            raise self._revoked(connection, "the stored token belongs to another calendar")
        answer = await self._token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": str(stored.get("refresh_token")),
                "client_id": client_id,
                "client_secret": client_secret,
            },
            operation="refresh_token",
        )
        try:
            body = self._token_body(answer, operation="refresh_token", refreshing=True)
        except CalendarAccessRevoked as exc:
            self.forget_access_token(connection)
            raise self._revoked(connection, exc.message) from None
        return self._remember(connection.refresh_token.ref, body, self._clock.now())

    def _remember(self, ref: str, body: dict[str, Any], now: datetime) -> str:
        token = body.get("access_token")
        expires_in = body.get("expires_in", 3600)
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise self._refused(
                "Google's token answer has no access token", "bad_response", "refresh_token"
            )
        self._tokens[ref] = _CachedToken(token, now + timedelta(seconds=float(expires_in)))
        return token

    # -- the token endpoint -------------------------------------------------------------

    async def _token_request(self, form: dict[str, str], *, operation: str) -> Answer:
        return await retrying(
            lambda: self._http.send(
                "POST",
                self.token_url,
                operation=operation,
                form=form,
                headers={"Accept": "application/json"},
            ),
            self._backoff,
            operation=operation,
        )

    def _token_body(self, answer: Answer, *, operation: str, refreshing: bool) -> dict[str, Any]:
        if answer.ok:
            if not isinstance(answer.body, dict):
                raise bad_response(answer, operation=operation)
            return answer.body
        error, description = _oauth_error(answer)
        if error == "invalid_grant" and refreshing:
            raise CalendarAccessRevoked(
                "Google no longer accepts the calendar's refresh token (revoked or expired): "
                "connect the calendar again",
                provider=PROVIDER,
                provider_code="invalid_grant",
                reason=description or "revoked or expired",
                http_status=answer.status,
                operation=operation,
            )
        if error == "invalid_grant":
            message = "the authorization code is invalid, expired or already used: connect again"
        elif error in ("invalid_client", "unauthorized_client"):
            message = "Google refused the OAuth client: check google_client_id and secret"
        else:
            message = description or f"Google's token endpoint answered HTTP {answer.status}"
        raise CalendarError(
            message,
            retryable=answer.backs_off(),
            provider=PROVIDER,
            provider_code=error or f"http_{answer.status}",
            reason=message,
            http_status=answer.status,
            operation=operation,
        )

    @staticmethod
    def _refused(message: str, code: str, operation: str) -> CalendarError:
        return CalendarError(
            message,
            retryable=False,
            provider=PROVIDER,
            provider_code=code,
            reason=message,
            operation=operation,
        )

    @staticmethod
    def _revoked(connection: CalendarConnection, message: str) -> CalendarAccessRevoked:
        return CalendarAccessRevoked(
            message,
            provider=PROVIDER,
            provider_code="invalid_grant",
            reason=message,
            connection_id=connection.id,
            professional_id=connection.professional_id,
        )
