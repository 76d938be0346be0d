"""Downloads of the files patients send, after their messages are committed.

Webhook requests only verify, parse, commit and answer: the file is fetched afterwards, from
the ``message.created`` event. The event dispatcher calls its handlers one after another and a
download takes seconds, so the handler only schedules: each download runs as a task of its
own, at most ``concurrency`` at once, and the dispatcher moves on at once (the inbox's
realtime frames are never held up behind a large video).

A passing failure (provider unreachable, 5xx, timeout, an expired download URL, storage
hiccups) is retried here with exponential backoff; a lasting one is recorded on the message by
:class:`~porfin_core.use_cases.store_inbound_media.StoreInboundMedia`
(``extra["media_error"]``) and not retried.

What this does not cover: the dispatcher marks the event dispatched once the download is
scheduled, so a download still failing after its last attempt, or cut short because the
process ended, is not retried by itself. The message keeps its provider reference, and the
file is fetched when someone asks for it (``GET /api/v1/chats/{chat_id}/messages/{id}/media``).
Media ids in Cloud API webhooks live 7 days.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from porfin_adapters.events import EventDispatcher
from porfin_core.domain.events import DomainEvent, MessageCreated
from porfin_core.errors import GatewayError, NotFound, StorageUnavailable, TransactionConflict
from porfin_core.use_cases.store_inbound_media import MEDIA_MESSAGE_KINDS, MediaResult, StoreMedia

log = structlog.get_logger(__name__)

Store = Callable[[StoreMedia], Awaitable[MediaResult]]
Sleep = Callable[[float], Awaitable[None]]

_KINDS = frozenset(kind.value for kind in MEDIA_MESSAGE_KINDS)
# Messages that came from a provider's webhook: the patient's, and those typed on the clinic's
# own phone (Evolution); staff attachments are in the media store from the start.
_AUTHORS = frozenset({"patient", "clinic_phone"})
_PASSING = (GatewayError, StorageUnavailable, TransactionConflict)


class InboundMediaDownloads:
    """Event handler: keeps a copy of each received file, in the background.

    Args:
        store: ``StoreInboundMedia``.
        concurrency: Downloads running at once; 0 turns downloading off.
        attempts: Tries per file before giving up on a passing failure.
        base_delay: Seconds before the second try; each next wait is ``factor`` times longer.
        factor: Growth of the wait between tries.
        max_delay: Longest wait between tries.
        grace_seconds: How long :meth:`stop` lets downloads under way finish.
        sleep: Waits between tries (tests pass one that does not wait).
    """

    def __init__(
        self,
        store: Store,
        *,
        concurrency: int = 4,
        attempts: int = 5,
        base_delay: float = 2.0,
        factor: float = 3.0,
        max_delay: float = 120.0,
        grace_seconds: float = 10.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self.enabled = concurrency > 0
        self._concurrency = max(concurrency, 1)
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._attempts = max(attempts, 1)
        self._base_delay = base_delay
        self._factor = factor
        self._max_delay = max_delay
        self._grace = grace_seconds
        self._sleep = sleep
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._downloading: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._subscribed: weakref.WeakSet[EventDispatcher] = weakref.WeakSet()
        self.outcomes: dict[str, int] = {}
        """Finished downloads by outcome (``stored``, ``failed``, ``gave_up``...), for ops."""

    def attach(self, dispatcher: EventDispatcher) -> None:
        """Follow ``dispatcher``'s ``message.created`` events (once per dispatcher; nothing
        when downloading is off)."""
        if not self.enabled or dispatcher in self._subscribed:
            return
        self._subscribed.add(dispatcher)
        dispatcher.subscribe(MessageCreated, self)

    async def __call__(self, event: DomainEvent) -> None:
        """Schedule the download of a received media message's file; returns at once."""
        if not isinstance(event, MessageCreated) or event.author not in _AUTHORS:
            return
        # Events stored before ``kind`` existed carry None: the use case decides.
        if event.kind is not None and event.kind not in _KINDS:
            return
        self.schedule(event.clinic_id, event.message_id)

    def schedule(self, clinic_id: str, message_id: str) -> None:
        """Download a message's file in the background (once, however often it is asked)."""
        key = (clinic_id, message_id)
        if self._closing or key in self._tasks:
            return
        task = asyncio.create_task(self._download(key), name=f"media-download-{message_id}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._forget(key, done))

    @property
    def pending(self) -> int:
        """Downloads scheduled and not finished."""
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until every scheduled download has finished (tests, the CLI)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def stop(self) -> None:
        """Let the downloads under way finish (for up to ``grace_seconds``); cancel those
        waiting for a slot or for their next try. Cancelled files are fetched on demand."""
        self._closing = True
        try:
            tasks = list(self._tasks.values())
            for task in tasks:
                if task not in self._downloading:
                    task.cancel()
            if tasks:
                _, late = await asyncio.wait(tasks, timeout=self._grace)
                for task in late:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._closing = False

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]

    async def _download(self, key: tuple[str, str]) -> None:
        clinic_id, message_id = key
        command = StoreMedia(clinic_id=clinic_id, message_id=message_id)
        current = asyncio.current_task()
        assert current is not None
        for attempt in range(1, self._attempts + 1):
            try:
                async with self._slots_of_this_loop():
                    self._downloading.add(current)
                    try:
                        result = await self._store(command)
                    finally:
                        self._downloading.discard(current)
            except NotFound:
                self._count("gone")  # the message (or its channel) was removed meanwhile
                return
            except _PASSING as exc:
                if attempt == self._attempts or self._closing:
                    self._count("gave_up")
                    log.warning(
                        "media.download_gave_up",
                        message_id=message_id,
                        attempts=attempt,
                        error=str(exc),
                    )
                    return
                delay = min(self._max_delay, self._base_delay * self._factor ** (attempt - 1))
                log.info(
                    "media.download_retry",
                    message_id=message_id,
                    attempt=attempt,
                    delay=delay,
                    error=str(exc),
                )
                await self._sleep(delay)
                continue
            except Exception:
                self._count("crashed")
                log.exception("media.download_crashed", message_id=message_id)
                return
            self._count(result.outcome.value)
            if result.reason is not None:
                log.warning("media.download_failed", message_id=message_id, reason=result.reason)
            return

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        # A semaphore belongs to one event loop; a container may outlive one (tests).
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._slots, self._loop = asyncio.Semaphore(self._concurrency), loop
        return self._slots

    def _count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
