"""The real clock and id generator."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class TimeOrderedIds:
    """32 lower-case hex digits: 48 bits of Unix milliseconds, then 80 random bits.

    Ids sort by creation time (B-tree inserts stay append-only) and ids made by one generator
    are strictly increasing, even within one millisecond. Hex keeps them URL- and
    document-id-safe and cheap to make.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_random = 0

    def new_id(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                ms = self._last_ms
                self._last_random = (self._last_random + 1) & ((1 << 80) - 1)
            else:
                self._last_random = int.from_bytes(os.urandom(10), "big") >> 1
            self._last_ms = ms
            return f"{ms:012x}{self._last_random:020x}"


class PerfCounterTimer:
    """:class:`~porfin_core.ports.clock.Timer` on ``time.perf_counter``."""

    def monotonic_ms(self) -> float:
        return time.perf_counter() * 1000.0
