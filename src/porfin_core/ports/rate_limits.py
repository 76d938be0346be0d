"""Abuse limits: token buckets kept per key (a user, a client address) by a rate limiter."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from porfin_core.errors import ValidationError

MAX_UNITS = 2**53 // 1_000_000
"""Upper bound of ``capacity * period_seconds``.

The bucket is counted in microsecond-scaled integers that must stay exact when a Redis Lua
script (whose numbers are doubles) does the same arithmetic: below 2**53.
"""


def _positive(instance: Rate, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 1:
        raise ValidationError(f"{attribute.name} must be at least 1", field=attribute.name)


def _not_negative(instance: Rate, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ValidationError(f"{attribute.name} must not be negative", field=attribute.name)


@attrs.frozen
class Rate:
    """The shape of a token bucket: a steady rate plus a burst allowance.

    The bucket holds ``capacity`` tokens (``requests + burst``) and starts full; each request
    takes one; tokens come back at ``requests`` per ``period_seconds``, evenly (100 per
    minute: one every 0.6 s), never above ``capacity``.

    Attributes:
        requests: Tokens refilled per period (the steady rate).
        period_seconds: Length of the period.
        burst: Extra tokens a full bucket holds above ``requests``.

    Raises:
        ValidationError: a non-positive rate or period, a negative burst, or a bucket too large
            to count exactly (``capacity * period_seconds`` above :data:`MAX_UNITS`).
    """

    requests: int = attrs.field(validator=_positive)
    period_seconds: int = attrs.field(default=60, validator=_positive)
    burst: int = attrs.field(default=0, validator=_not_negative)

    def __attrs_post_init__(self) -> None:
        if self.capacity * self.period_seconds > MAX_UNITS:
            raise ValidationError("rate limit too large to count exactly", field="requests")

    @property
    def capacity(self) -> int:
        """Tokens in a full bucket: what a rested caller may spend at once."""
        return self.requests + self.burst

    @property
    def policy(self) -> str:
        """The rate as a quota policy (``100;w=60;burst=50``) for the ``RateLimit-Policy`` field."""
        text = f"{self.requests};w={self.period_seconds}"
        return f"{text};burst={self.burst}" if self.burst else text


@attrs.frozen
class Decision:
    """The answer to one request for a token.

    Attributes:
        allowed: True when a token was taken; False when the bucket had none (nothing taken).
        limit: Tokens in a full bucket (the rate's capacity).
        remaining: Whole tokens left after this request.
        reset_seconds: Seconds until the bucket is full again (0 when it is full).
        retry_after_seconds: When refused, seconds until a token is back; 0 when allowed.
    """

    allowed: bool
    limit: int
    remaining: int
    reset_seconds: int
    retry_after_seconds: int


class RateLimiter(Protocol):
    """Token buckets by key, shared by everything that uses the same limiter.

    Keys name what is limited (``user:<clinic>:<user>``, ``ip:<address>``); one key should
    always be used with the same :class:`Rate`. Time comes from the caller, so every process
    sharing a limiter must pass the same clock's readings.
    """

    async def take(self, key: str, limit: Rate, now: datetime) -> Decision:
        """Take one token from ``key``'s bucket at ``now``, if it has one.

        A key never seen (or whose bucket refilled completely and was forgotten) starts full.
        Taking is atomic: concurrent calls, from any process sharing the limiter, never hand
        out more tokens than the bucket holds.

        Raises:
            StorageUnavailable: the shared store of the buckets cannot be reached.
        """
        ...
