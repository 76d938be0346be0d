"""Token-bucket arithmetic, rate validation and the memory limiter's bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from porfin_adapters.memory.rate_limits import MemoryRateLimiter
from porfin_core.errors import ValidationError
from porfin_core.ports.rate_limits import Rate
from porfin_core.token_bucket import Bucket, micros, take
from tests.support import FixedClock


def test_a_rate_is_a_steady_rate_plus_a_burst():
    rate = Rate(100, 60, burst=50)
    assert rate.capacity == 150
    assert rate.policy == "100;w=60;burst=50"
    assert Rate(10).policy == "10;w=60"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"requests": 0},
        {"requests": 10, "period_seconds": 0},
        {"requests": 10, "burst": -1},
        {"requests": 10_000_000, "period_seconds": 86_400},  # not exact in doubles
    ],
)
def test_impossible_rates_are_refused(kwargs):
    with pytest.raises(ValidationError):
        Rate(**kwargs)


def test_time_is_counted_in_exact_microseconds():
    at = datetime(2255, 6, 1, 12, 0, 0, 999_999, tzinfo=UTC)
    assert micros(at) % 1_000_000 == 999_999
    assert micros(at + timedelta(microseconds=1)) - micros(at) == 1
    assert micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0


def test_a_bucket_knows_when_it_is_full_again():
    rate = Rate(60, 60, burst=10)
    bucket, _ = take(None, rate, 0)
    assert bucket.full_at(rate) == 1_000_000  # one token back, a second later
    bucket, _ = take(bucket, rate, 0)
    assert bucket.full_at(rate) == 2_000_000
    assert Bucket(level=70 * 60_000_000, updated_at=5).full_at(rate) == 5


async def test_the_memory_limiter_forgets_full_buckets_first():
    clock = FixedClock()
    limiter = MemoryRateLimiter(max_keys=8)
    rate = Rate(60, 60)  # a spent token is back after one second
    for n in range(4):
        await limiter.take(f"resting{n}", rate, clock.now())
    clock.advance(seconds=2)
    for n in range(4):
        await limiter.take(f"busy{n}", rate, clock.now())
    await limiter.take("newcomer", rate, clock.now())
    assert len(limiter) == 5  # the four full buckets went, nothing else did
    for n in range(4):
        decision = await limiter.take(f"busy{n}", rate, clock.now())
        assert decision.remaining == 58


async def test_the_memory_limiter_stays_bounded_under_a_flood_of_keys():
    clock = FixedClock()
    limiter = MemoryRateLimiter(max_keys=100)
    rate = Rate(10, 3600)
    await limiter.take("regular", rate, clock.now())
    for n in range(1_000):
        await limiter.take(f"ip:{n}", rate, clock.now())
        await limiter.take("regular", rate, clock.now())  # used all along: never evicted
        clock.advance(milliseconds=1)
    assert len(limiter) <= 100
    assert (await limiter.take("regular", rate, clock.now())).allowed is False
