"""One SDK client per event loop, and the retry loop every call goes through."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

import attrs
import openai

from porfin_adapters.openai.config import DEFAULT_BASE_URL
from porfin_adapters.openai.failures import Failure

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[None]]
"""Waits that many seconds (``asyncio.sleep``; a recorder in tests)."""


class LoopClient:
    """An :class:`openai.AsyncOpenAI` for the running event loop (a new one on another loop:
    its pooled connections belong to the loop that opened them).

    The SDK's own retries are off (``max_retries=0``): :func:`with_retries` retries, with
    Porfin's policy and a fallback model.

    Args:
        api_key: Sent as ``Authorization: Bearer``; any non-empty string for local servers.
        base_url: The OpenAI-compatible API's root (``.../v1``).
        timeout: Seconds for connecting, and for each read of the answer (per call).
        default_headers: Extra headers on every request.
    """

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 20.0,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        if not api_key:
            raise ValueError("an API key is required (any non-empty string for local servers)")
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._headers = dict(default_headers or {})
        self._client: openai.AsyncOpenAI | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> openai.AsyncOpenAI:
        """The client of the running event loop."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
                default_headers=self._headers or None,
            )
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        """Close the pooled connections (a client of another, finished loop is dropped)."""
        client, loop = self._client, self._loop
        self._client, self._loop = None, None
        if client is not None and loop is asyncio.get_running_loop():
            await client.close()


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How failed calls are retried.

    Attributes:
        max_attempts: Attempts per model (the first included).
        base_delay: Seconds before the second attempt; doubled for each further one.
        max_delay: Cap on the backoff delay.
        max_retry_after: The longest ``retry-after`` honoured; a server asking for more is
            not retried (the next model is tried at once): the patient is waiting.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 20.0

    def delay(self, attempt: int, failure: Failure, jitter: float) -> float | None:
        """Seconds to wait after failed attempt number ``attempt`` (1-based) before the next;
        None when the same model should not be asked again.

        ``retry-after`` wins when the server sent it; otherwise exponential backoff with
        "equal jitter" (half the delay fixed, half random, ``jitter`` in [0, 1)).
        """
        if not failure.retryable or attempt >= self.max_attempts:
            return None
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self.max_retry_after else None
        backoff = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return backoff / 2 + backoff / 2 * jitter


@attrs.frozen
class Outcome(Generic[T]):
    """A call that succeeded: its value, the model that gave it, attempts made in all."""

    value: T
    model: str
    attempts: int


async def with_retries(
    call: Callable[[str], Awaitable[T]],
    models: Sequence[str],
    *,
    policy: RetryPolicy,
    sleep: Sleep,
    jitter: Callable[[], float],
    now: Callable[[], float],
    fields: Mapping[str, object] | None = None,
) -> Outcome[T]:
    """Call ``call(model)`` for each model in turn, retrying each as ``policy`` says.

    ``call`` raises :class:`Failure` (or an exception :func:`classify` knows); anything else
    (a bug, cancellation) goes through untouched.

    Raises:
        ModelUnavailable: Every model failed; ``reason`` is the last failure's.
    """
    attempts = 0
    last: Failure | None = None
    for model in models:
        attempt = 0
        while True:
            attempt += 1
            attempts += 1
            try:
                return Outcome(await call(model), model, attempts)
            except Failure as failure:
                last = failure
            wait = policy.delay(attempt, last, jitter())
            if wait is None:
                break
            await sleep(wait)
        if not last.try_fallback:
            break
    assert last is not None, "with_retries needs at least one model"
    raise last.to_error(models=list(models), attempts=attempts, **(fields or {})) from last
