"""The Redis client of an installation that sets ``redis_url``."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from porfin_adapters.settings import Settings

# Redis sits on the request path (every API call takes a rate-limit token): a server that
# does not answer must fail the call within about a second, not after redis-py's default
# ten retries with backoff. One immediate retry covers a pooled connection the server closed.
TIMEOUT_SECONDS = 1.0
RETRIES = 1


def redis_client(settings: Settings) -> Redis | None:
    """A client for ``settings.redis_url`` (None when unset); it connects on first use."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_timeout=TIMEOUT_SECONDS,
        socket_connect_timeout=TIMEOUT_SECONDS,
        retry=Retry(NoBackoff(), RETRIES),
        health_check_interval=30,
    )
