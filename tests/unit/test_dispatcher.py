"""The event dispatcher: committed events reach their handlers, at least once."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from porfin_adapters.container import Container, start, stop
from porfin_adapters.events import MARK_CHUNK, EventDispatcher
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.customer import Identity
from porfin_core.domain.events import (
    ChatOpened,
    CustomerCreated,
    DomainEvent,
    MessageCreated,
)
from porfin_core.errors import WindowClosed
from porfin_core.ports.storage import StoredEvent
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.send_staff_message import SendText
from tests.support import FixedClock, SequentialIds


def build(tmp_path, clock, ids, storage=StorageKind.MEMORY) -> Container:
    container = Container(settings=Settings(storage=storage, data_dir=tmp_path))
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(ids))
    return container


def hello(channel_id: str, pid: str = "wamid.1") -> ReceiveMessage:
    return ReceiveMessage(
        channel_id=channel_id,
        provider_message_id=pid,
        sender=[Identity.of_phone("+5511987654321")],
        sender_name="Maria",
        body="Olá",
    )


class Recorder:
    """A handler that remembers what it got, optionally failing for some event types."""

    def __init__(self, fail_on: tuple[type[DomainEvent], ...] = ()) -> None:
        self.events: list[DomainEvent] = []
        self.fail_on = fail_on

    async def __call__(self, event: DomainEvent) -> None:
        if isinstance(event, self.fail_on):
            raise RuntimeError(f"handler broke on {event.name}")
        self.events.append(event)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


async def test_committed_events_reach_subscribed_handlers_after_commit(tmp_path, clock):
    container = build(tmp_path, clock, SequentialIds())
    everything, customers = Recorder(), Recorder()
    seen_chats: list[str] = []

    async def reads_the_chat(event: DomainEvent) -> None:
        assert isinstance(event, ChatOpened)
        # Delivered after commit: the change is visible to a fresh reader.
        chat = await container.get_chat()(event.clinic_id, event.chat_id)
        seen_chats.append(chat.id)

    dispatcher = container.dispatcher()
    dispatcher.subscribe(DomainEvent, everything)
    dispatcher.subscribe(CustomerCreated, customers)
    dispatcher.subscribe(ChatOpened, reads_the_chat)
    await start(container)
    installation = await container.set_up_installation()()
    received = await container.receive_inbound_message()(hello(installation.channel.id))
    await stop(container)  # waits for the events already handed over

    assert [type(e) for e in everything.events] == [CustomerCreated, ChatOpened, MessageCreated]
    assert customers.events == everything.events[:1]
    assert seen_chats == [received.chat_id]
    assert await container.storage().outbox.pending() == []


async def test_nothing_is_dispatched_for_a_refused_change(tmp_path, clock):
    container = build(tmp_path, clock, SequentialIds())
    recorder = Recorder()
    container.dispatcher().subscribe(DomainEvent, recorder)
    await start(container)
    installation = await container.set_up_installation()()
    received = await container.receive_inbound_message()(hello(installation.channel.id))
    clock.advance(days=2)
    with pytest.raises(WindowClosed):
        await container.send_staff_message()(
            SendText(
                clinic_id=received.clinic_id, chat_id=received.chat_id, author_id="a", text="x"
            )
        )
    await stop(container)
    assert [type(e) for e in recorder.events] == [CustomerCreated, ChatOpened, MessageCreated]


async def test_a_failing_handler_leaves_its_event_in_the_outbox(tmp_path, clock):
    container = build(tmp_path, clock, SequentialIds())
    flaky = Recorder(fail_on=(ChatOpened,))
    container.dispatcher().subscribe(DomainEvent, flaky)
    await start(container)
    installation = await container.set_up_installation()()
    await container.receive_inbound_message()(hello(installation.channel.id))
    await stop(container)

    assert [type(e) for e in flaky.events] == [CustomerCreated, MessageCreated]
    left = await container.storage().outbox.pending()
    assert [type(s.event) for s in left] == [ChatOpened]

    flaky.fail_on = ()
    assert await container.dispatcher().drain() == 1
    assert isinstance(flaky.events[-1], ChatOpened)
    assert await container.storage().outbox.pending() == []


async def test_one_failing_handler_means_the_event_is_retried_for_all(tmp_path, clock):
    # Delivery is at least once: handlers that succeeded see the event again on retry.
    container = build(tmp_path, clock, SequentialIds())
    steady, broken = Recorder(), Recorder(fail_on=(CustomerCreated,))
    container.dispatcher().subscribe(CustomerCreated, steady)
    container.dispatcher().subscribe(CustomerCreated, broken)
    await start(container)
    installation = await container.set_up_installation()()
    await container.receive_inbound_message()(hello(installation.channel.id))
    await stop(container)
    broken.fail_on = ()
    await container.dispatcher().drain()
    assert len(steady.events) == 2
    assert len(broken.events) == 1


async def test_start_dispatches_events_left_by_a_previous_run(tmp_path, clock):
    # First run: the process commits and dies before anything is dispatched.
    first = build(tmp_path, clock, SequentialIds("a"), StorageKind.SQLITE)
    await first.storage().open()  # storage only: no dispatcher running
    installation = await first.set_up_installation()()
    received = await first.receive_inbound_message()(hello(installation.channel.id))
    await first.storage().close()

    # Second run on the same database.
    second = build(tmp_path, clock, SequentialIds("b"), StorageKind.SQLITE)
    recorder = Recorder()
    second.dispatcher().subscribe(DomainEvent, recorder)
    await start(second)
    try:
        assert [type(e) for e in recorder.events] == [CustomerCreated, ChatOpened, MessageCreated]
        assert recorder.events[1].chat_id == received.chat_id
        assert await second.storage().outbox.pending() == []
    finally:
        await stop(second)


async def test_events_a_handler_failed_on_are_retried_at_the_next_start(tmp_path, clock):
    first = build(tmp_path, clock, SequentialIds("a"), StorageKind.SQLITE)
    first.dispatcher().subscribe(DomainEvent, Recorder(fail_on=(MessageCreated,)))
    await start(first)
    installation = await first.set_up_installation()()
    await first.receive_inbound_message()(hello(installation.channel.id))
    await stop(first)

    second = build(tmp_path, clock, SequentialIds("b"), StorageKind.SQLITE)
    recorder = Recorder()
    second.dispatcher().subscribe(DomainEvent, recorder)
    await start(second)
    await stop(second)
    assert [type(e) for e in recorder.events] == [MessageCreated]


async def test_start_and_stop_are_idempotent(tmp_path, clock):
    container = build(tmp_path, clock, SequentialIds())
    dispatcher = container.dispatcher()
    await dispatcher.stop()  # never started: nothing to do
    await start(container)
    await dispatcher.start()
    await stop(container)
    await dispatcher.stop()


class MarkRecorder:
    """An outbox that only records how delivered events are marked."""

    def __init__(self) -> None:
        self.marked: list[list[str]] = []

    async def pending(self, limit: int = 100) -> list[StoredEvent]:
        return []

    async def mark_dispatched(self, event_ids: list[str]) -> None:
        self.marked.append(list(event_ids))


async def test_delivered_events_are_marked_in_short_writes(clock):
    # One long delete would hold the write lock (every process's commits wait) for
    # milliseconds; short ones join the commits around them.
    outbox = MarkRecorder()
    dispatcher = EventDispatcher(outbox)
    await dispatcher.start()
    stored = [
        StoredEvent(
            f"e{n}", CustomerCreated(clinic_id="c", occurred_at=clock.now(), customer_id="x")
        )
        for n in range(2 * MARK_CHUNK + 5)
    ]
    dispatcher.committed(stored)
    await dispatcher.stop()
    assert [len(ids) for ids in outbox.marked] == [MARK_CHUNK, MARK_CHUNK, 5]
    assert [i for ids in outbox.marked for i in ids] == [s.id for s in stored]
