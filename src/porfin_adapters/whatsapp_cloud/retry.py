"""Retrying gateway calls that failed for a passing reason (rate limits, 5xx, timeouts).

Backoff is exponential (``base_delay * factor**attempt``, capped at ``max_delay``); Meta's
pair rate limit (131056) asks for ``4**attempt`` seconds and says so in the error's
``backoff_base`` field. Sleep is injectable, so tests run without waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.message import Message
from porfin_core.errors import GatewayError
from porfin_core.ports.messaging import MessagingGateway, SendReceipt

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable :class:`GatewayError`.

    Attributes:
        attempts: Calls in all (the first one included).
        base_delay: Seconds before the first retry.
        factor: Growth of the delay per retry.
        max_delay: Longest single wait.
        retry_unknown_delivery: Also retry errors flagged ``delivery_unknown`` (a request
            whose answer was lost may have been accepted: only a caller that reconciles by
            status webhooks should say yes).
        sleep: The coroutine that waits (tests pass a recorder).
    """

    attempts: int = 5
    base_delay: float = 1.0
    factor: float = 2.0
    max_delay: float = 60.0
    retry_unknown_delivery: bool = False
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep

    def delay(self, attempt: int, error: GatewayError) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based) after ``error``."""
        base = error.fields.get("backoff_base")
        if isinstance(base, int | float) and base > 1:
            return float(min(self.max_delay, base**attempt))
        return float(min(self.max_delay, self.base_delay * self.factor**attempt))

    def should_retry(self, error: GatewayError) -> bool:
        """Whether ``error`` is worth another call."""
        if not error.retryable:
            return False
        return self.retry_unknown_delivery or not error.fields.get("delivery_unknown", False)

    async def run(self, call: Callable[[], Awaitable[T]]) -> T:
        """Call ``call`` until it succeeds, fails for good, or the attempts run out.

        Raises:
            GatewayError: the last error (not retryable, or retries exhausted).
        """
        attempt = 0
        while True:
            try:
                return await call()
            except GatewayError as error:
                if attempt + 1 >= self.attempts or not self.should_retry(error):
                    raise
                await self.sleep(self.delay(attempt, error))
                attempt += 1


class RetryingGateway:
    """A :class:`MessagingGateway` that retries another's retryable failures per a policy."""

    def __init__(self, inner: MessagingGateway, policy: RetryPolicy) -> None:
        self.inner = inner
        self.policy = policy

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        """Send through the inner gateway, retrying as the policy says.

        Raises:
            GatewayError: the last failure.
        """
        return await self.policy.run(lambda: self.inner.send(channel, recipient, message))
