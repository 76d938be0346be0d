"""Inbox (TUI) benchmark: the terminal inbox against a clinic of 10,000 chats and a
5,000-message chat.

Seeds a SQLite data directory through the container's own repositories (one unit of work:
real entities, real schema, written as the adapter writes them; no HTTP), serves it with the
real API in a thread on a loopback port (as tests/tui/conftest.py does), logs in as a
secretary and drives :class:`~porfin_tui.app.InboxApp` headless with ``run_test``, printing:

    tui: open <x> ms, switch chat p50 <y> ms, filter <z> ms, open 5000-msg chat <w> ms

- open: from starting the app (logged in) to the first frame showing the first page of
  chats;
- switch chat: Enter on another chat until the first frame showing its newest messages
  (p50 of 20);
- filter: a filter key (aguardando, não lidas, IA, minhas, todas) or a search (Enter) until
  the first frame showing the server's answer (p50; the slowest in brackets);
- open 5000-msg chat: Enter on the chat with 5,000 messages until the first frame showing
  its newest page.

Figures stop at the frame drawn, not when ``pilot.press`` returns: the pilot adds its own
waits for idleness that a person at the terminal does not see.

Usage: ``python bench/tui.py [--chats 10000] [--messages 5000] [--rounds 20]``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from dependency_injector import providers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.support: the fixed clock

from tests.support import FixedClock  # noqa: E402

import porfin_adapters.container as composition  # noqa: E402
from porfin_adapters.container import Container, create_container  # noqa: E402
from porfin_adapters.settings import Settings, StorageKind  # noqa: E402
from porfin_core.domain.chat import Chat  # noqa: E402
from porfin_core.domain.customer import Customer, Identity  # noqa: E402
from porfin_core.domain.message import (  # noqa: E402
    Author,
    DeliveryStatus,
    Direction,
    Message,
    MessageKind,
    StatusChange,
)
from porfin_core.use_cases.create_staff_user import NewStaffUser  # noqa: E402
from porfin_http.app import create_app  # noqa: E402
from porfin_tui.api import Api  # noqa: E402
from porfin_tui.app import InboxApp  # noqa: E402
from porfin_tui.screens.inbox import InboxScreen  # noqa: E402

TOKEN = "bench-token"
EMAIL = "bia@clinica.com.br"
PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
NAMES = ["Maria", "Ana", "João", "Pedro", "Carla", "Lucas", "Beatriz", "Rafael", "Júlia"]
SURNAMES = ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Almeida"]
BIG = "Paciente Cinco Mil"


def settings_for(data_dir: Path) -> Settings:
    return Settings(
        storage=StorageKind.SQLITE,
        data_dir=data_dir,
        admin_token=TOKEN,
        inbound_media_downloads=0,
        rate_limit_per_minute=1_000_000,
        auth_rate_limit_per_minute=1_000_000,
    )


def container_for(settings: Settings, clock: FixedClock) -> Container:
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    return container


async def seed(settings: Settings, clock: FixedClock, chats: int, messages: int) -> None:
    """The clinic, a secretary, ``chats`` chats of one patient message each (one in ten
    waiting for a person) and one chat of ``messages`` messages, the most recent."""
    container = container_for(settings, clock)
    await composition.start(container)
    try:
        installation = await container.set_up_installation()()
        clinic_id, channel_id = installation.clinic.id, installation.channel.id
        await container.create_staff_user()(
            NewStaffUser(
                clinic_id=clinic_id,
                name="Bia Souza",
                email=EMAIL,
                role="secretary",
                password=PASSWORD,
            )
        )
        ids = container.ids()
        uow_factory = container.uow_factory()
        start = NOW - timedelta(days=60)

        def message(chat: Chat, at: datetime, n: int, inbound: bool) -> Message:
            status = DeliveryStatus.RECEIVED if inbound else DeliveryStatus.READ
            return Message(
                id=ids.new_id(),
                clinic_id=clinic_id,
                chat_id=chat.id,
                channel_id=channel_id,
                direction=Direction.INBOUND if inbound else Direction.OUTBOUND,
                author=Author.PATIENT if inbound else Author.AI,
                kind=MessageKind.TEXT,
                body=f"Mensagem {n}: gostaria de saber o horário de quinta-feira",
                provider_message_id=f"wamid.bench.{chat.id}.{n}",
                status=status,
                history=[StatusChange(status, at)],
                sent_at=at if inbound else None,
                created_at=at,
            )

        def new_chat(index: int, name: str, at: datetime) -> tuple[Customer, Chat]:
            phone = f"+55119{index:08d}"
            customer = Customer.first_contact(
                id=ids.new_id(),
                clinic_id=clinic_id,
                name=name,
                identities=[Identity.of_phone(phone)],
                at=at,
            )
            chat = Chat.start(
                id=ids.new_id(),
                clinic_id=clinic_id,
                customer_id=customer.id,
                channel_id=channel_id,
                customer_name=customer.name,
                customer_phone=customer.phone,
                at=at,
            )
            return customer, chat

        step = timedelta(days=59) / max(chats, 1)
        for first in range(0, chats, 1000):
            async with uow_factory() as uow:
                for index in range(first, min(first + 1000, chats)):
                    at = start + step * index
                    name = f"{NAMES[index % len(NAMES)]} {SURNAMES[index // 9 % 8]} {index}"
                    customer, chat = new_chat(index, name, at)
                    inbound = message(chat, at, 0, inbound=True)
                    chat.add_message(inbound, at)
                    if index % 10 == 0:
                        chat.turn_ai_off(at)  # waiting for a person
                    await uow.customers.save(customer)
                    await uow.chats.save(chat)
                    await uow.messages.save(inbound)
                await uow.commit()
        at = NOW - timedelta(hours=5)
        customer, big = new_chat(chats, BIG, at)
        async with uow_factory() as uow:
            await uow.customers.save(customer)
            for n in range(messages):
                moment = at + timedelta(seconds=3 * n)
                item = message(big, moment, n, inbound=n % 2 == 0)
                big.add_message(item, moment)
                await uow.messages.save(item)
            await uow.chats.save(big)
            await uow.commit()
    finally:
        await composition.stop(container)


class Server:
    """The API on a free loopback port, in a thread."""

    def __init__(self, settings: Settings, clock: FixedClock) -> None:
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.server = uvicorn.Server(
            uvicorn.Config(
                create_app(container_for(settings, clock)), log_level="warning", lifespan="on"
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.listener]}, daemon=True
        )
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise SystemExit("the API did not start")
            self.thread.join(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.listener.close()


async def until(pilot: Any, condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.perf_counter() + seconds
    while not condition():
        if time.perf_counter() > deadline:
            raise SystemExit("the inbox did not get there in time")
        await pilot.pause(0.001)


def ms(seconds: float) -> int:
    return round(seconds * 1000)


class Paint:
    """When the screen was last drawn after the thing measured happened.

    The figures are taken up to the first frame drawn after the data reached the widgets,
    not up to when ``pilot.press`` returns: the pilot adds its own waits for idleness (about
    150 ms) that a person at the terminal does not see.
    """

    def __init__(self, screen: InboxScreen) -> None:
        self.screen = screen
        self.shown_at = 0.0
        self.painted_at = 0.0
        draw = screen._compositor_refresh

        def drawn() -> None:
            draw()
            if self.shown_at and not self.painted_at:
                self.painted_at = time.perf_counter()

        screen._compositor_refresh = drawn  # type: ignore[method-assign]
        for widget, method in ((screen.timeline, "show"), (screen.chat_list, "show")):
            self._watch(widget, method)

    def _watch(self, widget: Any, method: str) -> None:
        original = getattr(widget, method)

        def shown(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            self.shown_at = time.perf_counter()
            return result

        setattr(widget, method, shown)

    def reset(self) -> None:
        self.shown_at = self.painted_at = 0.0

    async def wait(self, pilot: Any, begun: float) -> float:
        await until(pilot, lambda: bool(self.painted_at))
        return self.painted_at - begun


async def drive(url: str, clock: FixedClock, rounds: int, big_messages: int) -> dict[str, int]:
    api = Api(url)
    await api.log_in(EMAIL, PASSWORD)
    app = InboxApp(api, clock=clock.now, live=False)
    figures: dict[str, int] = {}
    started = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot, lambda: isinstance(app.screen, InboxScreen) and bool(app.screen.query("#chats"))
        )
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        paint = Paint(screen)
        await until(pilot, lambda: screen.loaded)
        if not paint.shown_at:  # shown before the hooks were in place: the next frame
            paint.shown_at = time.perf_counter()
        figures["open"] = ms(await paint.wait(pilot, started))
        await pilot.pause()
        chat_list = screen.chat_list
        assert chat_list.chats[0]["customer_name"] == BIG

        async def open_row(index: int) -> float:
            chat_id = chat_list.chats[index]["id"]
            options = chat_list.query_one("#chats")
            options.focus()
            options.highlighted = index  # type: ignore[attr-defined]
            await pilot.pause()
            paint.reset()
            begun = time.perf_counter()
            await pilot.press("enter")
            await until(pilot, lambda: screen.open_chat_id == chat_id and screen.timeline.count > 0)
            took = await paint.wait(pilot, begun)
            await until(pilot, lambda: screen.card[0] is not None)  # settle before the next
            return took

        figures["big"] = ms(await open_row(0))
        assert screen.timeline.count == min(50, big_messages)
        switches = [await open_row(1 + (n % 40)) for n in range(rounds)]
        figures["switch"] = ms(statistics.median(switches))

        async def apply(*keys: str) -> float:
            generation = screen._generation
            await pilot.pause()
            paint.reset()
            begun = time.perf_counter()
            await pilot.press(*keys)
            await until(
                pilot,
                lambda: (
                    screen._generation > generation
                    and not any(w.group == "chats" and w.is_running for w in app.workers)
                ),
            )
            return await paint.wait(pilot, begun)

        chat_list.focus_list()
        filters = [await apply(key) for key in ("2", "6", "5", "3", "1")]
        await pilot.press("slash")
        screen.chat_list.query_one("#search").value = "oliveira 42"  # type: ignore[attr-defined]
        filters.append(await apply("enter"))
        figures["filter"] = ms(statistics.median(filters))
        figures["filter_max"] = ms(max(filters))
        chat_list.focus_list()
        await pilot.press("end")  # the next pages load as the cursor reaches the end
        await until(pilot, lambda: not screen._loading_more)
    await api.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    clock = FixedClock(NOW)
    with tempfile.TemporaryDirectory(prefix="porfin-bench-tui-") as directory:
        settings = settings_for(Path(directory))
        begun = time.perf_counter()
        asyncio.run(seed(settings, clock, args.chats, args.messages))
        print(
            f"seeded {args.chats} chats + a {args.messages}-message chat"
            f" in {time.perf_counter() - begun:.1f} s",
            flush=True,
        )
        with Server(settings, clock) as server:
            figures = asyncio.run(drive(server.url, clock, args.rounds, args.messages))
    print(
        f"tui: open {figures['open']} ms, switch chat p50 {figures['switch']} ms,"
        f" filter {figures['filter']} ms (slowest {figures['filter_max']} ms),"
        f" open {args.messages}-msg chat {figures['big']} ms"
    )


if __name__ == "__main__":
    main()
