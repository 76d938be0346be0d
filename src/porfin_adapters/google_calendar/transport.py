"""HTTP for the Google adapters: one pooled session, backoff with jitter, Google's errors as
Porfin's.

Google's error envelope (reference §2.6, fixtures ``error_400_timeRangeEmpty.json``,
``error_401_authError.json``, ``error_403_userRateLimitExceeded.json``)::

    {"error": {"errors": [{"domain", "reason", "message", ...}], "code", "message"}}

Retried here with backoff, as ``googleapiclient`` does: 429, 5xx, and 403 whose reason is
``rateLimitExceeded`` or ``userRateLimitExceeded``; requests that got no answer too (every
call the adapter makes is safe to repeat). ``quotaExceeded`` (the calendar's usage limits) is
retryable only much later: it is raised at once, ``retryable`` set.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import attrs

from porfin_adapters.http import NO_ANSWER, LoopSession, never_sent, timed_out
from porfin_core.errors import (
    CalendarError,
    CalendarEventChanged,
    CalendarResyncRequired,
)

PROVIDER = "google_calendar"
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
"""403 reasons that mean "slow down" (reference §2.6)."""

_REASONS: Mapping[str, str] = {
    "rateLimitExceeded": "Google Calendar's rate limit was reached; retrying with backoff",
    "userRateLimitExceeded": "the calendar's per-user rate limit was reached; retrying with "
    "backoff",
    "quotaExceeded": "the calendar's usage limits were exceeded; try again later",
    "authError": "Google refused the access token",
    "forbidden": "the connected account may not change this calendar",
    "insufficientPermissions": "the connection lacks a permission: connect the calendar again",
    "notFound": "the calendar or event does not exist",
    "timeRangeEmpty": "the time range is empty",
    "duplicate": "an event with this id already exists",
    "deleted": "the event was deleted",
    "fullSyncRequired": "the sync token is no longer valid; a full sync is required",
    "conditionNotMet": "the event changed since Porfin last wrote it",
    "backendError": "Google Calendar failed; retrying",
}


@attrs.frozen
class Answer:
    """An HTTP answer: status, headers (lower-case names) and the JSON body (None if none)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        """A 2xx status."""
        return 200 <= self.status < 300

    @property
    def reason(self) -> str | None:
        """The first ``error.errors[].reason`` of a Google error, if any."""
        error = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(error, dict):
            errors = error.get("errors")
            if isinstance(errors, list) and errors and isinstance(errors[0], dict):
                reason = errors[0].get("reason")
                return str(reason) if reason else None
        return None

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` in seconds, when the server sent one as a number."""
        raw = self.headers.get("retry-after")
        try:
            return max(0.0, float(raw)) if raw is not None else None
        except ValueError:
            return None

    def backs_off(self) -> bool:
        """True for the answers retried with backoff: 429, 5xx, 403 rate limits."""
        return (
            self.status == 429
            or self.status >= 500
            or (self.status == 403 and self.reason in RATE_LIMIT_REASONS)
        )


def classify(answer: Answer, *, operation: str) -> CalendarError:
    """The Porfin error for a Google Calendar error answer.

    410 on a pull is :class:`CalendarResyncRequired` and 412 :class:`CalendarEventChanged`;
    the rest are :class:`CalendarError`, ``retryable`` for 429, 5xx and 403 rate and quota
    limits.
    """
    status = answer.status
    reason = answer.reason
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    google_message = error.get("message") if isinstance(error, dict) else None
    explanation = _REASONS.get(reason or "") or (
        str(google_message) if google_message else f"Google Calendar answered HTTP {status}"
    )
    fields: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_code": reason or f"http_{status}",
        "reason": explanation,
        "http_status": status,
        "operation": operation,
    }
    if status == 410 and operation == "pull":
        return CalendarResyncRequired(explanation, **fields)
    if status == 412:
        return CalendarEventChanged(explanation, **fields)
    retryable = answer.backs_off() or (status == 403 and reason == "quotaExceeded")
    if answer.retry_after is not None:
        fields["retry_after"] = answer.retry_after
    return CalendarError(explanation, retryable=retryable, **fields)


def transport_error(exc: BaseException, *, operation: str) -> CalendarError:
    """The retryable :class:`CalendarError` for a request that got no answer."""
    waited = timed_out(exc)
    reason = (
        "Google could not be reached"
        if never_sent(exc)
        else "Google did not answer in time"
        if waited
        else "the connection to Google failed"
    )
    return CalendarError(
        reason,
        retryable=True,
        provider=PROVIDER,
        provider_code="timeout" if waited else "unreachable",
        reason=reason,
        operation=operation,
    )


def bad_response(answer: Answer, *, operation: str) -> CalendarError:
    """The error for a 2xx answer whose body is not the JSON object expected."""
    reason = "Google answered something that is not the JSON object expected"
    return CalendarError(
        reason,
        retryable=False,
        provider=PROVIDER,
        provider_code="bad_response",
        reason=reason,
        http_status=answer.status,
        operation=operation,
    )


@attrs.define(kw_only=True)
class Backoff:
    """Exponential backoff with jitter (Google's advice: wait 2^n seconds plus a random part).

    The wait before retry ``n`` (0-based) is between half and all of
    ``min(cap, base * 2**n)``, or the server's ``Retry-After`` when longer. A wait longer
    than ``cap`` is not made: the error is raised instead.

    Attributes:
        max_attempts: Attempts in all, the first included.
        base: Seconds of the first wait's upper bound.
        cap: Longest wait.
        sleep: Waits (``asyncio.sleep``; tests record instead).
        random: A number in ``[0, 1)`` (``random.random``; tests fix it).
    """

    max_attempts: int = 5
    base: float = 1.0
    cap: float = 32.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random

    def delay(self, attempt: int, retry_after: float | None = None) -> float | None:
        """Seconds to wait before retry ``attempt``, or None when no retry should be made."""
        if attempt + 1 >= self.max_attempts:
            return None
        ceiling = min(self.cap, self.base * 2**attempt)
        wait = ceiling / 2 + self.random() * ceiling / 2
        if retry_after is not None:
            wait = max(wait, retry_after)
        return None if wait > self.cap else wait


async def retrying(
    send: Callable[[], Awaitable[Answer]], backoff: Backoff, *, operation: str
) -> Answer:
    """``send()`` again, with :class:`Backoff`, while it gets no answer or an answer that
    :meth:`Answer.backs_off`; the last answer is returned whatever it is.

    Raises:
        CalendarError: the last attempt got no answer (retryable).
    """
    attempt = 0
    while True:
        try:
            answer = await send()
        except CalendarError as exc:
            wait = backoff.delay(attempt) if exc.retryable else None
            if wait is None:
                raise
        else:
            wait = backoff.delay(attempt, answer.retry_after) if answer.backs_off() else None
            if wait is None:
                return answer
        await backoff.sleep(wait)
        attempt += 1


MAX_CONNECTIONS = 20
"""Connections to Google kept open at most (a clinic has a handful of calendars)."""


class HttpSession:
    """An aiohttp session per event loop, made on first use.

    Args:
        timeout: Seconds for connecting and for each read.
    """

    def __init__(self, timeout: float = 20.0) -> None:
        self._http = LoopSession(timeout, MAX_CONNECTIONS)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session of the running event loop (a new one on another loop)."""
        return self._http.get()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._http.aclose()

    async def send(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
    ) -> Answer:
        """Make one request; the answer, whatever its status.

        Raises:
            CalendarError: no answer (connection refused, timeout...), retryable.
        """
        try:
            async with self.session.request(
                method,
                url,
                headers=dict(headers or {}),
                params=dict(params) if params else None,
                json=json_body,
                data=dict(form) if form is not None else None,
            ) as response:
                status = response.status
                answer_headers = {k.lower(): v for k, v in response.headers.items()}
                raw = await response.read()
        except NO_ANSWER as exc:
            raise transport_error(exc, operation=operation) from exc
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return Answer(status, answer_headers, body)
