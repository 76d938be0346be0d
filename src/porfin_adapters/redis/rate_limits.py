"""Token buckets in Redis, shared by every API instance: one atomic script call per request."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from porfin_core.errors import StorageUnavailable
from porfin_core.ports.rate_limits import Decision, Rate
from porfin_core.token_bucket import micros

DEFAULT_PREFIX = "porfin:ratelimit:"

# porfin_core.token_bucket.take, in Lua, so that read-refill-take-write is one atomic step on
# the server. The time comes from the caller (ARGV[1]), not from Redis TIME: every instance
# and the tests decide with the same clock as the memory limiter. All values are integers
# below 2^53, exact in Lua's doubles; the divisions are corrected to exact floor/ceil.
# A bucket is stored as "<level> <updated_at>" and expires once it would be full again (the
# same as no bucket), plus one period of slack for instance clocks that disagree. A refused
# request changes nothing, so it writes nothing.
TAKE_SCRIPT = """
local now = tonumber(ARGV[1])
local requests = tonumber(ARGV[2])
local period = tonumber(ARGV[3])
local cost = period * 1000000
local full = tonumber(ARGV[4]) * cost

local function floor_div(a, b)
  local q = math.floor(a / b)
  while q * b > a do q = q - 1 end
  while (q + 1) * b <= a do q = q + 1 end
  return q
end

local function ceil_div(a, b)
  local q = floor_div(a, b)
  if q * b < a then q = q + 1 end
  return q
end

local level = full
local updated_at = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local sep = string.find(stored, ' ', 1, true)
  level = tonumber(string.sub(stored, 1, sep - 1))
  updated_at = tonumber(string.sub(stored, sep + 1))
  if now > updated_at then
    level = math.min(full, level + (now - updated_at) * requests)
    updated_at = now
  end
end

local per_second = requests * 1000000
local allowed = 0
local retry_after = 0
if level >= cost then
  allowed = 1
  level = level - cost
  local ttl_ms = ceil_div(ceil_div(full - level, requests), 1000) + period * 1000
  redis.call('SET', KEYS[1], string.format('%d %d', level, updated_at),
             'PX', string.format('%d', ttl_ms))
else
  retry_after = ceil_div(cost - level, per_second)
end
return {allowed, floor_div(level, cost), ceil_div(full - level, per_second), retry_after}
"""


class RedisRateLimiter:
    """A :class:`~porfin_core.ports.rate_limits.RateLimiter` whose buckets live in Redis.

    Every key is stored under ``prefix`` (several installations may share a server). The
    script is registered once and run with EVALSHA (loaded again if the server forgot it).
    The client belongs to the caller, who closes it.
    """

    def __init__(self, client: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self._script = client.register_script(TAKE_SCRIPT)

    async def take(self, key: str, limit: Rate, now: datetime) -> Decision:
        """Take a token from ``key``'s bucket (see the port).

        Raises:
            StorageUnavailable: Redis did not answer or refused the script.
        """
        try:
            allowed, remaining, reset, retry_after = await self._script(
                keys=[self.prefix + key],
                args=[micros(now), limit.requests, limit.period_seconds, limit.capacity],
            )
        except RedisError as exc:
            raise StorageUnavailable(f"rate-limit store unavailable: {type(exc).__name__}") from exc
        return Decision(
            allowed=allowed == 1,
            limit=limit.capacity,
            remaining=int(remaining),
            reset_seconds=int(reset),
            retry_after_seconds=int(retry_after),
        )
