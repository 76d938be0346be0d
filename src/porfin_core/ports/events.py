"""Event handlers: code that reacts to committed domain events."""

from __future__ import annotations

from typing import Protocol

from porfin_core.domain.events import DomainEvent


class EventHandler(Protocol):
    """Reacts to one committed event. Must be idempotent: delivery is at least once."""

    async def __call__(self, event: DomainEvent) -> None:
        """Handle ``event``; an exception leaves it in the outbox for a later attempt."""
        ...
