"""Time and identity come from outside the core, so tests can fix them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The current time."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    """New unique identifiers."""

    def new_id(self) -> str:
        """Return a new identifier, unique across the installation and roughly time-ordered."""
        ...


class Timer(Protocol):
    """A monotonic clock for measuring how long steps take (never for dates)."""

    def monotonic_ms(self) -> float:
        """Milliseconds since an arbitrary origin; never goes back."""
        ...
