"""Token-bucket arithmetic: pure and exact, shared by every rate limiter adapter.

Everything is an integer so that a Redis Lua script (``porfin_adapters/redis/rate_limits.py``)
can mirror :func:`take` exactly: time is counted in microseconds since the Unix epoch and a
bucket's ``level`` in *units*, where one request costs ``period_seconds * 1_000_000`` units and
the bucket gains ``requests`` units every microsecond. A full bucket holds
``capacity * period_seconds * 1_000_000`` units (below 2**53: :class:`Rate` checks it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs

from porfin_core.ports.rate_limits import Decision, Rate

MICROS = 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


def micros(at: datetime) -> int:
    """``at`` (timezone-aware) as whole microseconds since the Unix epoch, exactly."""
    return (at - _EPOCH) // _ONE_MICROSECOND


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


@attrs.frozen
class Bucket:
    """What a limiter stores per key.

    Attributes:
        level: Units in the bucket at ``updated_at`` (see the module's docstring).
        updated_at: Microseconds since the epoch of the last refill.
    """

    level: int
    updated_at: int

    def full_at(self, limit: Rate) -> int:
        """When (microseconds since the epoch) the bucket will be full if nobody takes from it.

        From then on it is the same as a bucket never used, so a limiter may forget it.
        """
        missing = limit.capacity * limit.period_seconds * MICROS - self.level
        return self.updated_at + _ceil_div(max(0, missing), limit.requests)


def take(bucket: Bucket | None, limit: Rate, now: int) -> tuple[Bucket, Decision]:
    """Refill ``bucket`` up to ``now`` and take one token if there is one.

    Args:
        bucket: The key's stored state; None for a key never seen (a full bucket).
        limit: The bucket's shape.
        now: The current time, microseconds since the epoch (:func:`micros`).

    Returns:
        The state to store and the decision. A clock behind the bucket's last update (another
        process's clock, slightly late) refills nothing and never moves the bucket back.
    """
    cost = limit.period_seconds * MICROS
    full = limit.capacity * cost
    if bucket is None:
        level, updated_at = full, now
    else:
        level, updated_at = bucket.level, bucket.updated_at
        if now > updated_at:
            level = min(full, level + (now - updated_at) * limit.requests)
            updated_at = now
    allowed = level >= cost
    if allowed:
        level -= cost
    per_second = limit.requests * MICROS
    decision = Decision(
        allowed=allowed,
        limit=limit.capacity,
        remaining=level // cost,
        reset_seconds=_ceil_div(full - level, per_second),
        retry_after_seconds=0 if allowed else _ceil_div(cost - level, per_second),
    )
    return Bucket(level, updated_at), decision
