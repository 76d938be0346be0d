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

MARK_EVERY_SECONDS = 0.25
MARK_BATCH = 5000
MARK_CHUNK = 64
"""Delivered events are marked (deleted from the outbox) this many per write: one delete of a
quarter second's events (hundreds under load) held the write lock, and so every process's
commits, for about 7 ms."""


class EventDispatcher:
    """Delivers committed events to the handlers subscribed to their type."""

    def __init__(self, outbox: EventOutbox) -> None:
        self._outbox = outbox
        self._handlers: dict[type[DomainEvent], list[EventHandler]] = defaultdict(list)
        self._by_class: dict[type[DomainEvent], list[EventHandler]] = {}
        self._queue: asyncio.Queue[list[StoredEvent]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._running = False

    def subscribe(self, event_type: type[DomainEvent], handler: EventHandler) -> None:
        """Call ``handler`` for every committed event of ``event_type`` (or a subclass)."""
        self._handlers[event_type].append(handler)
        self._by_class.clear()

    def committed(self, events: list[StoredEvent]) -> None:
        """Hook for the unit-of-work factory: these events were just committed."""
        if self._queue is not None:
            self._queue.put_nowait(events)

    async def start(self) -> None:
        """Dispatch what an earlier run left in the outbox, then follow new commits."""
        if self._task is not None:
            return
        self._queue = asyncio.Queue()
        self._running = True
        await self.drain()
        self._task = asyncio.create_task(self._run(), name="event-dispatcher")

    async def stop(self) -> None:
        """Finish the events already handed over, mark them dispatched, then stop."""
        if self._task is None or self._queue is None:
            return
        self._running = False
        self._queue.put_nowait([])  # wakes the loop so it marks what it delivered
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        self._queue = None

    async def settled(self) -> None:
        """Wait until every event handed over so far has reached its handlers (tests; what
        handlers started in the background is theirs to wait for)."""
        if self._queue is not None:
            await self._queue.join()

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
        unmarked: list[str] = []
        while True:
            # Events are delivered at once; marking them dispatched (a write) waits up to
            # MARK_EVERY_SECONDS to cover many commits, so it costs little however busy the
            # process is. Events delivered but not yet marked when the process dies are
            # delivered again at the next start (at least once).
            try:
                first = await asyncio.wait_for(
                    self._queue.get(), MARK_EVERY_SECONDS if unmarked else None
                )
            except TimeoutError:
                unmarked = await self._mark(unmarked)
                continue
            batches = [first]
            while not self._queue.empty():
                batches.append(self._queue.get_nowait())
            try:
                unmarked += await self._deliver(
                    [event for batch in batches for event in batch], mark=False
                )
                if len(unmarked) >= MARK_BATCH or (self._queue.empty() and not self._running):
                    unmarked = await self._mark(unmarked)
            except Exception:
                # The events stay in the outbox and are dispatched at the next start.
                log.exception("event.dispatch_failed", events=sum(map(len, batches)))
            finally:
                for _ in batches:
                    self._queue.task_done()

    async def _mark(self, event_ids: list[str]) -> list[str]:
        try:
            for start in range(0, len(event_ids), MARK_CHUNK):
                await self._outbox.mark_dispatched(event_ids[start : start + MARK_CHUNK])
        except Exception:
            log.exception("event.mark_failed", events=len(event_ids))
        return []

    async def _deliver(self, batch: list[StoredEvent], *, mark: bool = True) -> list[str]:
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
        if mark:
            await self._outbox.mark_dispatched(delivered)
        return delivered

    def _handlers_for(self, event: DomainEvent) -> list[EventHandler]:
        # Computed once per event class (the ingest path dispatches thousands a second).
        found = self._by_class.get(type(event))
        if found is None:
            found = self._by_class[type(event)] = [
                handler
                for event_type, handlers in self._handlers.items()
                if isinstance(event, event_type)
                for handler in handlers
            ]
        return found
