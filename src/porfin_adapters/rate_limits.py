"""Choosing the rate limiter: Redis when the installation has one, else the process's memory."""

from __future__ import annotations

from redis.asyncio import Redis

from porfin_adapters.memory.rate_limits import MemoryRateLimiter
from porfin_adapters.redis.rate_limits import RedisRateLimiter
from porfin_core.ports.rate_limits import RateLimiter


def build_rate_limiter(redis: Redis | None) -> RateLimiter:
    """Buckets in Redis (shared by every API instance) or, without Redis, in this process."""
    if redis is None:
        return MemoryRateLimiter()
    return RedisRateLimiter(redis)
