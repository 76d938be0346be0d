"""In-process dispatch of committed domain events (the outbox's consumer).

After each commit the unit-of-work factory hands the stored events to the dispatcher, which
delivers them to their handlers in the background and then marks them dispatched. Events
committed but not dispatched when the process died are still in the outbox: ``start`` sends
them first. Delivery is at least once; handlers are idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict

import structlog

from porfin_core.domain.events import DomainEvent
from porfin_core.ports.events import EventHandler
from porfin_core.ports.storage import EventOutbox, StoredEvent

log = structlog.get_logger(__name__)


class EventDispatcher:
    """Delivers committed events to the handlers subscribed to their type."""

    def __init__(self, outbox: EventOutbox) -> None:
        self._outbox = outbox
        self._handlers: dict[type[DomainEvent], list[EventHandler]] = defaultdict(list)
        self._queue: asyncio.Queue[list[StoredEvent]] | None = None
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None:
        """Call ``handler`` for every committed event of ``event_type`` (or a subclass)."""
        self._handlers[event_type].append(handler)

    def committed(self, events: list[StoredEvent]) -> None:
        """Hook for the unit-of-work factory: these events were just committed."""
        if self._queue is not None:
            self._queue.put_nowait(events)

    async def start(self) -> None:
        """Dispatch what an earlier run left in the outbox, then follow new commits."""
        if self._task is not None:
            return
        self._queue = asyncio.Queue()
        await self.drain()
        self._task = asyncio.create_task(self._run(), name="event-dispatcher")

    async def stop(self) -> None:
        """Finish the events already handed over, then stop."""
        if self._task is None or self._queue is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._queue = None

    async def drain(self) -> int:
        """Dispatch every event waiting in the outbox; returns how many were dispatched."""
        total = 0
        while batch := await self._outbox.pending(500):
            delivered = await self._deliver(batch)
            total += len(delivered)
            if len(delivered) < len(batch):
                break
        return total

    async def _run(self) -> None:
        assert self._queue is not None
        while True:
            # Everything committed while the previous batch was delivered goes in one batch,
            # so marking events dispatched costs one write however busy the process is.
            batches = [await self._queue.get()]
            while not self._queue.empty():
                batches.append(self._queue.get_nowait())
            try:
                await self._deliver([event for batch in batches for event in batch])
            except Exception:
                # The events stay in the outbox and are dispatched at the next start.
                log.exception("event.dispatch_failed", events=sum(map(len, batches)))
            finally:
                for _ in batches:
                    self._queue.task_done()

    async def _deliver(self, batch: list[StoredEvent]) -> list[str]:
        delivered = []
        for stored in batch:
            try:
                for handler in self._handlers_for(stored.event):
                    await handler(stored.event)
            except Exception:
                # Left in the outbox: retried at the next start.
                log.exception("event.handler_failed", event_name=stored.event.name, id=stored.id)
                continue
            delivered.append(stored.id)
        await self._outbox.mark_dispatched(delivered)
        return delivered

    def _handlers_for(self, event: DomainEvent) -> list[EventHandler]:
        return [
            handler
            for event_type, handlers in self._handlers.items()
            if isinstance(event, event_type)
            for handler in handlers
        ]
