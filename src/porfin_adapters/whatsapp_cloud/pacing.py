"""Pacing outbound Cloud API sends: waiting for a slot instead of hitting 130429 / 131056.

Two limits hold at once (reference §A.6):

- per business number: 80 messages per second by default, up to 1,000 after Meta's upgrade;
- per pair (number, patient): about one message every 6 seconds on average, with short bursts
  allowed ("up to 45 messages in a 6-second burst, but this borrows from your future quota").

Each limit is described by a :class:`porfin_core.ports.rate_limits.Rate` and kept as a
*reservation* (the "virtual scheduling" form of the token bucket, GCRA): a caller takes the
next free slot at once and sleeps until it comes. Waiters are served in arrival order and
nobody wakes just to find the bucket empty again, which keeps a 1,000 msg/s rate exact. Time is
counted in integers (microseconds x requests) like ``porfin_core.token_bucket``.

Unlike the API's abuse limits, the slots of a period are spread evenly: ``Rate(80, 1)`` is one
message every 12.5 ms, so no one-second window ever holds more than 80 (a bucket of 80 tokens
would let 160 through in the first second). ``burst`` is how many messages a rested key may
send at once beyond the first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from porfin_core.ports.rate_limits import Rate
from porfin_core.token_bucket import MICROS

DEFAULT_MESSAGES_PER_SECOND = 80
MAX_MESSAGES_PER_SECOND = 1_000
PAIR_RATE = Rate(requests=1, period_seconds=6, burst=5)
"""Per patient: one message per 6 s on average, six at once from rest (a staff member's
quick replies go out without waiting; a bulk send settles at Meta's pair rate)."""


def number_rate(messages_per_second: int) -> Rate:
    """The per-number schedule for ``messages_per_second``: evenly spaced, no burst."""
    return Rate(requests=messages_per_second, period_seconds=1)


class Schedule:
    """One token bucket as a reservation book, keyed (a number, a pair).

    A key's state is its *theoretical arrival time* (TAT), in units of
    ``microseconds * rate.requests``: every slot moves it by ``period_seconds * 1e6`` units,
    and a slot is free once ``now >= TAT - burst * slot``. A key whose TAT has passed is a
    rested (full) bucket and is forgotten.
    """

    def __init__(self, max_keys: int = 100_000) -> None:
        self._tat: dict[str, tuple[Rate, int]] = {}
        self._max_keys = max_keys

    def reserve(self, key: str, rate: Rate, now_micros: int) -> int:
        """Take the next slot of ``key``; returns the microseconds to wait for it (0: now)."""
        slot = rate.period_seconds * MICROS
        now = now_micros * rate.requests
        previous = self._tat.get(key)
        tat = now if previous is None or previous[0] != rate else max(previous[1], now)
        allowed_at = tat - rate.burst * slot
        wait_units = max(0, allowed_at - now)
        self._tat[key] = (rate, tat + slot)
        if len(self._tat) > self._max_keys:
            self._forget(now_micros)
        return -(-wait_units // rate.requests)

    def _forget(self, now_micros: int) -> None:
        for key, (rate, tat) in list(self._tat.items()):
            if tat <= now_micros * rate.requests:
                del self._tat[key]

    def __len__(self) -> int:
        return len(self._tat)


class CloudApiPacer:
    """Waits (asyncio) until a send to ``recipient`` through ``phone_number_id`` may go out.

    Args:
        messages_per_second: Default per-number rate (1-1,000).
        pair_rate: Per-recipient bucket shape.
        monotonic: Seconds from a monotonic clock (tests inject a fake one).
        sleep: Coroutine that waits so many seconds (tests inject one that moves the fake
            clock).
    """

    def __init__(
        self,
        messages_per_second: int = DEFAULT_MESSAGES_PER_SECOND,
        *,
        pair_rate: Rate = PAIR_RATE,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not 1 <= messages_per_second <= MAX_MESSAGES_PER_SECOND:
            raise ValueError(f"messages_per_second must be 1-{MAX_MESSAGES_PER_SECOND}")
        self.messages_per_second = messages_per_second
        self.pair_rate = pair_rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._numbers = Schedule()
        self._pairs = Schedule()

    def _now(self) -> int:
        return int(self._monotonic() * MICROS)

    async def wait_turn(
        self, phone_number_id: str, recipient: str | None, messages_per_second: int | None = None
    ) -> float:
        """Sleep until both buckets allow one more message; returns the seconds waited.

        The pair slot is taken first, and the number slot only once the pair's turn has come,
        so a patient written to too often does not hold up the number's other patients.
        """
        waited = 0
        if recipient is not None:
            wait = self._pairs.reserve(
                f"{phone_number_id}:{recipient}", self.pair_rate, self._now()
            )
            if wait:
                await self._sleep(wait / MICROS)
                waited += wait
        rate = number_rate(messages_per_second or self.messages_per_second)
        wait = self._numbers.reserve(phone_number_id, rate, self._now())
        if wait:
            await self._sleep(wait / MICROS)
            waited += wait
        return waited / MICROS
