"""What went wrong with a call to an OpenAI-compatible server, and whether trying again can help.

Every failure of the SDK (or of the answer it brought) becomes a :class:`Failure`; only
:class:`~porfin_core.errors.ModelUnavailable` leaves this package:

======================================  ==================  =========  ==================
What happened                           ``reason``          Retried    Fallback model
======================================  ==================  =========  ==================
429 rate limit                          ``rate_limited``    yes        yes
429 ``insufficient_quota`` (billing)    ``rate_limited``    no         no
500, 502, 503, 504, 409, other 5xx      ``server_error``    yes        yes
malformed or cut-short answer           ``server_error``    yes        yes
408, read/connect timeout               ``timeout``         yes        yes
connection refused or dropped           ``unreachable``     yes        yes
404 (unknown model)                     ``bad_request``     no         yes
400, 413, 422, other 4xx                ``bad_request``     no         no
401, 403                                ``unauthorized``    no         no
======================================  ==================  =========  ==================
"""

from __future__ import annotations

import asyncio
import email.utils
import math
from collections.abc import Callable
from typing import Any

import attrs
import httpx2
import openai

from porfin_core.errors import ModelUnavailable

PROVIDER = "openai"


@attrs.define(kw_only=True)
class Failure(Exception):
    """One attempt failed.

    Attributes:
        reason: The :class:`ModelUnavailable` reason it maps to.
        message: What happened, for logs (never the request's content).
        retryable: Whether the same model may succeed if asked again.
        try_fallback: Whether another model may succeed.
        http_status: The server's status, when it answered.
        provider_code: The server's error code (``rate_limit_exceeded``...), when it gave one.
        retry_after: Seconds the server asked to wait (``retry-after``), when it did.
        param: The request parameter the server blamed (a 400's ``param``), when it did.
    """

    reason: str
    message: str
    retryable: bool
    try_fallback: bool = True
    http_status: int | None = None
    provider_code: str | None = None
    retry_after: float | None = None
    param: str | None = None

    def __str__(self) -> str:
        return self.message

    def to_error(self, **fields: Any) -> ModelUnavailable:
        """The error the port promises, with what is known about the failure."""
        extra: dict[str, Any] = {"provider": PROVIDER, **fields}
        if self.http_status is not None:
            extra["http_status"] = self.http_status
        if self.provider_code is not None:
            extra["provider_code"] = self.provider_code
        return ModelUnavailable(self.message, reason=self.reason, **extra)


def retry_after_seconds(headers: httpx2.Headers | None, now: Callable[[], float]) -> float | None:
    """Seconds the server asked to wait: ``retry-after-ms``, ``retry-after`` in seconds, or
    ``retry-after`` as an HTTP date; None when absent or unreadable."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now())


def _code(exc: openai.APIError) -> str | None:
    code = getattr(exc, "code", None)
    if code is None and isinstance(exc.body, dict):
        code = exc.body.get("code") or exc.body.get("type")
    return str(code) if code else None


def classify(exc: BaseException, *, now: Callable[[], float]) -> Failure:
    """The :class:`Failure` for an exception the SDK (or reading its answer) raised."""
    if isinstance(exc, openai.APITimeoutError | asyncio.TimeoutError | httpx2.TimeoutException):
        return Failure(reason="timeout", message="the model did not answer in time", retryable=True)
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        return Failure(
            reason="unreachable",
            message="the model's server could not be reached or dropped the connection",
            retryable=True,
        )
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        code = _code(exc)
        retry_after = retry_after_seconds(exc.response.headers, now)
        if status == 429 and code == "insufficient_quota":
            return Failure(
                reason="rate_limited",
                message="the OpenAI account has no quota left (billing)",
                retryable=False,
                try_fallback=False,
                http_status=status,
                provider_code=code,
            )
        if status == 429:
            return Failure(
                reason="rate_limited",
                message="the model's rate limit was reached",
                retryable=True,
                http_status=status,
                provider_code=code,
                retry_after=retry_after,
            )
        if status == 408:
            return Failure(
                reason="timeout",
                message="the model's server timed out (HTTP 408)",
                retryable=True,
                http_status=status,
                provider_code=code,
                retry_after=retry_after,
            )
        if status >= 500 or status == 409:
            return Failure(
                reason="server_error",
                message=f"the model's server failed (HTTP {status})",
                retryable=True,
                http_status=status,
                provider_code=code,
                retry_after=retry_after,
            )
        if status in (401, 403):
            return Failure(
                reason="unauthorized",
                message=f"the model's server refused the API key (HTTP {status})",
                retryable=False,
                try_fallback=False,
                http_status=status,
                provider_code=code,
            )
        return Failure(
            reason="bad_request",
            message=f"the model's server refused the request (HTTP {status}): {exc.message}",
            retryable=False,
            # Another model may exist or accept what this one refused (context length...);
            # a malformed request fails on any model, but only 404 is surely model-specific.
            try_fallback=status == 404,
            http_status=status,
            provider_code=code,
            param=exc.param if isinstance(exc.param, str) else None,
        )
    # A body that is not the JSON promised (APIResponseValidationError, a JSON error in a
    # stream's event): the server misbehaved, perhaps only this time.
    return Failure(
        reason="server_error",
        message=f"the model's server sent a malformed answer ({type(exc).__name__})",
        retryable=True,
    )


TRANSLATED: tuple[type[BaseException], ...] = (
    openai.OpenAIError,
    httpx2.HTTPError,
    asyncio.TimeoutError,
    ValueError,
)
"""Exceptions a call may raise that are the server's or the network's doing."""
