"""The rate limiter contract: the memory and the Redis limiter hand out the same tokens.

Time comes from a fixed clock the tests move (the Redis script takes it as an argument rather
than reading Redis's TIME), so every answer is exact.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from redis.asyncio import Redis

from porfin_adapters.memory.rate_limits import MemoryRateLimiter
from porfin_adapters.redis.rate_limits import DEFAULT_PREFIX, RedisRateLimiter
from porfin_core.errors import StorageUnavailable
from porfin_core.ports.rate_limits import Decision, Rate, RateLimiter
from porfin_core.token_bucket import micros, take


class Limiters:
    """A limiter under test, and ``second()``: another instance on the same buckets (another
    API process) where the adapter has shared state; the memory limiter lives in one process,
    so its "second instance" is itself."""

    def __init__(self, limiter: RateLimiter, second: Callable[[], Awaitable[RateLimiter]]):
        self.limiter = limiter
        self.second = second


async def _memory(request) -> AsyncIterator[Limiters]:
    limiter = MemoryRateLimiter()

    async def second() -> RateLimiter:
        return limiter

    yield Limiters(limiter, second)


async def _redis(request) -> AsyncIterator[Limiters]:
    url = request.getfixturevalue("redis_url")
    clients = [Redis.from_url(url)]

    async def second() -> RateLimiter:
        clients.append(Redis.from_url(url))
        return RedisRateLimiter(clients[-1])

    yield Limiters(RedisRateLimiter(clients[0]), second)
    for client in clients:
        await client.aclose()


ADAPTERS = {"memory": _memory, "redis": _redis}


@pytest.fixture(params=sorted(ADAPTERS))
async def limiters(request) -> AsyncIterator[Limiters]:
    async for value in ADAPTERS[request.param](request):
        yield value


@pytest.fixture
def limiter(limiters) -> RateLimiter:
    return limiters.limiter


PER_SECOND = Rate(60, 60, burst=10)  # one token a second, 70 in a full bucket


async def _spend(limiter, clock, n, key="user:c1:u1", rate=PER_SECOND) -> list[Decision]:
    return [await limiter.take(key, rate, clock.now()) for _ in range(n)]


async def test_a_new_key_starts_with_a_full_bucket(limiter, clock):
    decision = await limiter.take("user:c1:u1", PER_SECOND, clock.now())
    assert decision == Decision(
        allowed=True, limit=70, remaining=69, reset_seconds=1, retry_after_seconds=0
    )


async def test_the_burst_is_spent_then_requests_are_refused(limiter, clock):
    spent = await _spend(limiter, clock, 70)
    assert all(d.allowed for d in spent)
    assert [d.remaining for d in spent] == list(range(69, -1, -1))
    assert spent[-1].reset_seconds == 70
    refused = await limiter.take("user:c1:u1", PER_SECOND, clock.now())
    assert refused == Decision(
        allowed=False, limit=70, remaining=0, reset_seconds=70, retry_after_seconds=1
    )


async def test_tokens_come_back_at_the_steady_rate(limiter, clock):
    await _spend(limiter, clock, 70)
    clock.advance(seconds=1)
    assert [d.allowed for d in await _spend(limiter, clock, 2)] == [True, False]
    clock.advance(seconds=10)
    assert [d.allowed for d in await _spend(limiter, clock, 11)] == [True] * 10 + [False]


async def test_a_rested_bucket_holds_no_more_than_its_capacity(limiter, clock):
    await _spend(limiter, clock, 5)
    clock.advance(hours=5)
    decision = await limiter.take("user:c1:u1", PER_SECOND, clock.now())
    assert (decision.remaining, decision.reset_seconds) == (69, 1)


async def test_refused_requests_take_nothing(limiter, clock):
    await _spend(limiter, clock, 70)
    refused = await _spend(limiter, clock, 5)
    assert not any(d.allowed for d in refused)
    clock.advance(seconds=refused[-1].retry_after_seconds)
    assert (await limiter.take("user:c1:u1", PER_SECOND, clock.now())).allowed


async def test_a_rate_that_does_not_divide_its_period(limiter, clock):
    seven = Rate(7, 60)  # a token every 8.57 s
    await _spend(limiter, clock, 7, rate=seven)
    refused = await limiter.take("user:c1:u1", seven, clock.now())
    assert (refused.allowed, refused.retry_after_seconds, refused.reset_seconds) == (False, 9, 60)
    clock.advance(seconds=8)
    refused = await limiter.take("user:c1:u1", seven, clock.now())
    assert (refused.allowed, refused.retry_after_seconds) == (False, 1)
    clock.advance(seconds=1)
    allowed = await limiter.take("user:c1:u1", seven, clock.now())
    assert (allowed.allowed, allowed.remaining) == (True, 0)


async def test_keys_have_buckets_of_their_own(limiter, clock):
    await _spend(limiter, clock, 70, key="user:c1:u1")
    assert not (await limiter.take("user:c1:u1", PER_SECOND, clock.now())).allowed
    other = await limiter.take("user:c1:u2", PER_SECOND, clock.now())
    assert (other.allowed, other.remaining) == (True, 69)
    ip = await limiter.take("ip:192.0.2.7", Rate(10, 60), clock.now())
    assert (ip.allowed, ip.limit, ip.remaining) == (True, 10, 9)


async def test_a_clock_behind_the_bucket_refills_nothing(limiter, clock):
    await _spend(limiter, clock, 3)
    clock.advance(seconds=-30)  # another instance whose clock is late
    late = await limiter.take("user:c1:u1", PER_SECOND, clock.now())
    assert (late.allowed, late.remaining) == (True, 66)
    clock.advance(seconds=30)
    on_time = await limiter.take("user:c1:u1", PER_SECOND, clock.now())
    assert on_time.remaining == 65


async def test_concurrent_takes_never_hand_out_more_than_the_bucket_holds(limiters, clock):
    ten = Rate(10, 60)
    others = [await limiters.second() for _ in range(3)]
    everyone = [limiters.limiter, *others]
    decisions = await asyncio.gather(
        *(everyone[n % 4].take("user:c1:u1", ten, clock.now()) for n in range(40))
    )
    assert sum(d.allowed for d in decisions) == 10
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(10))


async def test_every_instance_sees_the_same_bucket(limiters, clock):
    other = await limiters.second()
    await _spend(limiters.limiter, clock, 40)
    await _spend(other, clock, 30)
    assert not (await limiters.limiter.take("user:c1:u1", PER_SECOND, clock.now())).allowed
    assert not (await other.take("user:c1:u1", PER_SECOND, clock.now())).allowed


async def test_large_rates_are_counted_exactly(limiter, clock):
    huge = Rate(1_000_000, 60, burst=1_000_000)
    first = await limiter.take("user:c1:u1", huge, clock.now())
    assert (first.limit, first.remaining, first.reset_seconds) == (2_000_000, 1_999_999, 1)
    clock.advance(microseconds=59)  # 59 units of 60 per token: nothing back yet
    second = await limiter.take("user:c1:u1", huge, clock.now())
    assert second.remaining == 1_999_998


async def test_answers_are_those_of_the_pure_token_bucket(limiter, clock):
    """A seeded random walk of requests and pauses, against porfin_core.token_bucket.take."""
    rng = random.Random(20261125)
    rates = [Rate(100, 60, burst=50), Rate(7, 60), Rate(3, 1, burst=2), Rate(10, 3600)]
    buckets: dict[tuple[str, Rate], object] = {}
    for step in range(400):
        rate = rng.choice(rates)
        key = f"k{rates.index(rate)}"
        if rng.random() < 0.3:
            clock.advance(microseconds=rng.randrange(0, 5_000_000))
        bucket, expected = take(buckets.get((key, rate)), rate, micros(clock.now()))
        if expected.allowed:
            buckets[(key, rate)] = bucket
        assert await limiter.take(key, rate, clock.now()) == expected, step


# -- Redis only ------------------------------------------------------------------------------


async def test_redis_keys_carry_the_prefix_and_expire_once_full(redis_url, clock):
    client = Redis.from_url(redis_url)
    try:
        limiter = RedisRateLimiter(client)
        await limiter.take("user:c1:u1", Rate(10, 60), clock.now())
        assert await client.keys("*") == [f"{DEFAULT_PREFIX}user:c1:u1".encode()]
        # full again in 6 s (a token every 6 s), kept one more period of 60 s for late clocks
        ttl = await client.pttl(f"{DEFAULT_PREFIX}user:c1:u1")
        assert 60_000 < ttl <= 66_000
        own = RedisRateLimiter(client, prefix="clinica-b:")
        assert (await own.take("user:c1:u1", Rate(10, 60), clock.now())).remaining == 9
    finally:
        await client.aclose()


async def test_redis_loads_the_script_again_when_the_server_forgot_it(redis_url, clock):
    client = Redis.from_url(redis_url)
    try:
        limiter = RedisRateLimiter(client)
        await limiter.take("user:c1:u1", Rate(10, 60), clock.now())
        await client.script_flush()  # a restarted or failed-over server has no scripts
        assert (await limiter.take("user:c1:u1", Rate(10, 60), clock.now())).remaining == 8
    finally:
        await client.aclose()


async def test_redis_unreachable_is_storage_unavailable(clock):
    from porfin_adapters.redis.client import redis_client
    from porfin_adapters.settings import Settings

    # Nothing listens on port 1: refused at once.
    client = redis_client(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert client is not None
    try:
        with pytest.raises(StorageUnavailable):
            await RedisRateLimiter(client).take("user:c1:u1", Rate(10, 60), clock.now())
    finally:
        await client.aclose()
