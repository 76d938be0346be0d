"""Token buckets in a dict: the embedded default (one process, one set of buckets)."""

from __future__ import annotations

from datetime import datetime

from porfin_core.ports.rate_limits import Decision, Rate
from porfin_core.token_bucket import Bucket, micros, take

DEFAULT_MAX_KEYS = 100_000


class MemoryRateLimiter:
    """A :class:`~porfin_core.ports.rate_limits.RateLimiter` keeping its buckets in the process.

    The dict is bounded: at ``max_keys`` buckets it forgets every full one (a full bucket is
    the same as none), and if that is not enough (a flood of new keys, e.g. many client
    addresses) the least recently used ones, down to three quarters of ``max_keys``, so the
    sweep runs at most once per ``max_keys / 4`` new keys.
    """

    def __init__(self, max_keys: int = DEFAULT_MAX_KEYS) -> None:
        if max_keys < 4:
            raise ValueError("max_keys must be at least 4")
        self.max_keys = max_keys
        # key -> (bucket, its rate); insertion order is recency of use.
        self._buckets: dict[str, tuple[Bucket, Rate]] = {}

    def __len__(self) -> int:
        return len(self._buckets)

    async def take(self, key: str, limit: Rate, now: datetime) -> Decision:
        """Take a token from ``key``'s bucket (see the port)."""
        at = micros(now)
        entry = self._buckets.pop(key, None)
        bucket, decision = take(entry[0] if entry is not None else None, limit, at)
        if len(self._buckets) >= self.max_keys:
            self._evict(at)
        self._buckets[key] = (bucket, limit)
        return decision

    def _evict(self, now: int) -> None:
        buckets = self._buckets
        for key in [key for key, (bucket, rate) in buckets.items() if bucket.full_at(rate) <= now]:
            del buckets[key]
        excess = len(buckets) - self.max_keys * 3 // 4
        if excess > 0:
            for key in list(buckets)[:excess]:
                del buckets[key]
