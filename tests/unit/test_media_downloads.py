"""The background downloads of patients' files: scheduled from ``message.created`` without
holding up the dispatcher, a few at a time, retried with backoff on passing failures, once per
message, and stopped cleanly."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from porfin_adapters.media_downloads import InboundMediaDownloads
from porfin_core.domain.events import MessageCreated
from porfin_core.errors import GatewayError, NotFound
from porfin_core.use_cases.store_inbound_media import MediaOutcome, MediaResult, StoreMedia

AT = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def created(message_id: str, kind: str | None = "image", author: str = "patient"):
    return MessageCreated(
        clinic_id="clinic1",
        occurred_at=AT,
        chat_id="chat1",
        message_id=message_id,
        direction="outbound" if author in ("staff", "clinic_phone") else "inbound",
        author=author,
        kind=kind,
    )


class FakeStore:
    """StoreInboundMedia's stand-in: answers from a script, optionally waits to be released,
    and counts how many run at once."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.script: dict[str, list[Exception | MediaResult]] = {}
        self.release = asyncio.Event()
        self.release.set()
        self.running = 0
        self.most_at_once = 0
        self._changed = asyncio.Condition()

    async def __call__(self, command: StoreMedia) -> MediaResult:
        await self._change(command.message_id, +1)
        try:
            await self.release.wait()
        finally:
            await self._change(None, -1)
        script = self.script.get(command.message_id)
        answer = script.pop(0) if script else MediaResult(MediaOutcome.STORED, "wa-1")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def _change(self, message_id: str | None, running: int) -> None:
        async with self._changed:
            if message_id is not None:
                self.calls.append(message_id)
            self.running += running
            self.most_at_once = max(self.most_at_once, self.running)
            self._changed.notify_all()

    async def until(self, condition) -> None:
        """Wait (without polling) until ``condition()`` holds."""
        async with self._changed:
            await self._changed.wait_for(condition)


class Sleeps:
    def __init__(self) -> None:
        self.waited: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waited.append(seconds)


def passing() -> GatewayError:
    return GatewayError("WhatsApp answered HTTP 500; retrying", retryable=True)


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def downloads(store, sleeps, **options) -> InboundMediaDownloads:
    return InboundMediaDownloads(store, sleep=sleeps, **options)


async def test_only_received_media_messages_are_downloaded(store, sleeps):
    runner = downloads(store, sleeps)
    for event in (
        created("image"),
        created("sticker", kind="sticker"),
        created("from-phone", kind="document", author="clinic_phone"),
        created("old-event", kind=None),  # stored before events carried the kind
        created("text", kind="text"),
        created("staff-upload", kind="image", author="staff"),
        created("ai", kind="text", author="ai"),
    ):
        await runner(event)
    await runner.idle()
    assert sorted(store.calls) == ["from-phone", "image", "old-event", "sticker"]
    assert runner.outcomes == {"stored": 4}


async def test_the_handler_returns_before_the_download_finishes(store, sleeps):
    store.release.clear()
    runner = downloads(store, sleeps)
    await runner(created("m1"))  # returns although the download is blocked
    assert runner.pending == 1
    store.release.set()
    await runner.idle()
    assert runner.pending == 0 and store.calls == ["m1"]


async def test_at_most_concurrency_downloads_run_at_once(store, sleeps):
    store.release.clear()
    runner = downloads(store, sleeps, concurrency=2)
    for n in range(6):
        await runner(created(f"m{n}"))
    await store.until(lambda: store.running == 2)
    for _ in range(5):  # the others had their chance to start
        await asyncio.sleep(0)
    assert store.running == 2
    store.release.set()
    await runner.idle()
    assert store.most_at_once == 2 and len(store.calls) == 6


async def test_a_message_asked_for_twice_is_downloaded_once(store, sleeps):
    store.release.clear()
    runner = downloads(store, sleeps)
    await runner(created("m1"))
    await runner(created("m1"))  # at-least-once delivery: the same event again
    store.release.set()
    await runner.idle()
    assert store.calls == ["m1"]


async def test_passing_failures_are_retried_with_growing_waits(store, sleeps):
    store.script["m1"] = [passing(), passing(), MediaResult(MediaOutcome.STORED, "wa-1")]
    runner = downloads(store, sleeps, base_delay=2.0, factor=3.0)
    await runner(created("m1"))
    await runner.idle()
    assert store.calls == ["m1"] * 3
    assert sleeps.waited == [2.0, 6.0]
    assert runner.outcomes == {"stored": 1}


async def test_after_the_last_attempt_the_download_is_given_up(store, sleeps):
    store.script["m1"] = [passing() for _ in range(10)]
    runner = downloads(store, sleeps, attempts=4, base_delay=2.0, factor=3.0, max_delay=10.0)
    await runner(created("m1"))
    await runner.idle()
    assert len(store.calls) == 4
    assert sleeps.waited == [2.0, 6.0, 10.0]
    assert runner.outcomes == {"gave_up": 1}


async def test_lasting_failures_and_removed_messages_are_not_retried(store, sleeps):
    store.script["failed"] = [MediaResult(MediaOutcome.FAILED, reason="expired")]
    store.script["gone"] = [NotFound("message not found")]
    store.script["bug"] = [RuntimeError("a bug")]
    runner = downloads(store, sleeps)
    for message_id in ("failed", "gone", "bug"):
        await runner(created(message_id))
    await runner.idle()
    assert sorted(store.calls) == ["bug", "failed", "gone"]
    assert runner.outcomes == {"failed": 1, "gone": 1, "crashed": 1}
    assert sleeps.waited == []


async def test_stop_lets_downloads_under_way_finish_and_cancels_the_waiting_ones(store):
    store.release.clear()
    runner = InboundMediaDownloads(store, concurrency=1, grace_seconds=5.0)
    await runner(created("running"))
    await runner(created("waiting"))
    await store.until(lambda: store.running == 1)
    stopping = asyncio.create_task(runner.stop())
    await asyncio.sleep(0)
    store.release.set()  # the download under way ends within the grace period
    await stopping
    assert store.calls == ["running"]
    assert runner.outcomes == {"stored": 1}
    assert runner.pending == 0


async def test_stop_cancels_downloads_that_outlast_the_grace_period(store):
    store.release.clear()
    runner = InboundMediaDownloads(store, grace_seconds=0.01)
    await runner(created("stuck"))
    await store.until(lambda: store.running == 1)
    await runner.stop()
    assert runner.pending == 0 and runner.outcomes == {}
    # Still usable afterwards (a container that starts again).
    store.release.set()
    await runner(created("next"))
    await runner.idle()
    assert runner.outcomes == {"stored": 1}


async def test_stop_cancels_a_download_waiting_for_its_next_attempt(store):
    store.script["m1"] = [passing(), MediaResult(MediaOutcome.STORED, "wa-1")]
    runner = InboundMediaDownloads(store, base_delay=3600.0, grace_seconds=5.0)
    await runner(created("m1"))
    await store.until(lambda: len(store.calls) == 1 and not store.running)
    await runner.stop()  # does not wait an hour
    assert store.calls == ["m1"] and runner.pending == 0


def test_zero_concurrency_turns_downloading_off(store, sleeps):
    class Dispatcher:
        def __init__(self) -> None:
            self.subscribed: list[object] = []

        def subscribe(self, event_type, handler):
            self.subscribed.append(handler)

    dispatcher = Dispatcher()
    downloads(store, sleeps, concurrency=0).attach(dispatcher)  # type: ignore[arg-type]
    assert dispatcher.subscribed == []
    on = downloads(store, sleeps)
    on.attach(dispatcher)  # type: ignore[arg-type]
    on.attach(dispatcher)  # type: ignore[arg-type]
    assert dispatcher.subscribed == [on]
