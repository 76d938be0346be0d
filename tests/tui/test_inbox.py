"""The inbox screen against a running API: chats arrive live, the secretary takes one over,
answers, moves to the next waiting chat, filters and searches, sends a template when the
window is closed, attaches a file, and sees why WhatsApp refused a message."""

from __future__ import annotations

import contextlib
import struct
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, OptionList
from textual.worker import WorkerCancelled

from porfin_tui.app import InboxApp
from porfin_tui.screens.booking import BookingDialog
from porfin_tui.screens.charge import ChargeDialog
from porfin_tui.screens.help import HelpScreen
from porfin_tui.screens.inbox import InboxScreen
from porfin_tui.screens.pause import AttachDialog, PauseDialog
from porfin_tui.screens.template import TemplatePicker
from porfin_tui.widgets.chat_list import ChatList
from porfin_tui.widgets.composer import Composer
from tests.tui.conftest import PASSWORD, SECRETARY

ANA = "+5511911112222"
CARLOS = "+5521933334444"
DORA = "+5531955556666"


async def until(pilot: Pilot[Any], condition: Callable[[], bool], rounds: int = 300) -> None:
    """Let the app work until ``condition`` holds (bounded: fails instead of hanging)."""
    for _ in range(rounds):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError("the inbox did not get there")


@asynccontextmanager
async def inbox(
    live_api: Any, *, live: bool = False, size: tuple[int, int] = (120, 36)
) -> AsyncIterator[tuple[Pilot[Any], InboxScreen]]:
    """The secretary's inbox, logged in, with its first page of chats on screen."""
    app = live_api.app(live=live)
    await app.api.log_in(SECRETARY, PASSWORD)
    async with app.run_test(size=size) as pilot:
        await until(pilot, lambda: isinstance(app.screen, InboxScreen))
        screen = app.screen
        assert isinstance(screen, InboxScreen)
        await until(pilot, lambda: screen.loaded)
        if live:
            await until(pilot, lambda: app.connected)
        try:
            yield pilot, screen
        finally:
            await _stop_realtime(app)


async def _stop_realtime(app: InboxApp) -> None:
    # The WebSocket closes cleanly only when its worker ends before the loop does.
    for worker in list(app.workers):
        if worker.group == "realtime":
            worker.cancel()
            with contextlib.suppress(WorkerCancelled):
                await worker.wait()


def names(screen: InboxScreen) -> list[str]:
    return [chat["customer_name"] for chat in screen.query_one(ChatList).chats]


def bubbles(screen: InboxScreen) -> list[str]:
    return screen.timeline.text


def chat_of(live_api: Any, phone: str) -> dict[str, Any]:
    chats = live_api.admin("GET", "/api/v1/chats", limit=200)["items"]
    return next(c for c in chats if c["customer_phone"] == phone)


async def open_chat(pilot: Pilot[Any], screen: InboxScreen, name: str) -> None:
    index = names(screen).index(name)
    options = screen.query_one("#chats", OptionList)
    options.focus()
    options.highlighted = index
    await pilot.press("enter")
    await until(pilot, lambda: screen.open_chat is not None and screen.timeline.count > 0)
    await until(pilot, lambda: (screen.open_chat or {}).get("customer_name") == name)


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


# -- live ---------------------------------------------------------------------------------


async def test_a_patient_message_arrives_live_and_the_secretary_takes_over_and_answers(
    live_api,
):
    live_api.patient_says("Oi, quero marcar uma limpeza", ANA, "Ana Lima")
    async with inbox(live_api, live=True) as (pilot, screen):
        assert names(screen) == ["Ana Lima"]
        live_api.patient_says("Pode ser amanhã?", CARLOS, "Carlos Souza")
        await until(pilot, lambda: names(screen) == ["Carlos Souza", "Ana Lima"])
        await pilot.press("home", "enter")  # the cursor stayed on Ana; Carlos is on top
        await until(pilot, lambda: screen.timeline.count == 1)
        assert screen.open_chat_id == chat_of(live_api, CARLOS)["id"]

        await pilot.press("t")
        me = pilot.app.api.me["id"]
        await until(pilot, lambda: (screen.open_chat or {}).get("assignee_id") == me)
        assert screen.open_chat["mode"] == "human"
        assert "com você" in str(screen.query_one("#chat-header").render())

        await pilot.press(*"Temos amanhã às 9h", "enter")
        await until(pilot, lambda: screen.timeline.count == 2)
        sent = live_api.admin("GET", f"/api/v1/chats/{screen.open_chat_id}/messages")["items"]
        assert (sent[0]["author"], sent[0]["body"]) == ("staff", "Temos amanhã às 9h")
        await until(pilot, lambda: "✓" in bubbles(screen)[-1])
        assert "equipe (você)" in bubbles(screen)[-1]

        live_api.patient_says("Perfeito, obrigado", CARLOS)  # the open chat: shown and read
        await until(pilot, lambda: screen.timeline.count == 3)
        await until(pilot, lambda: chat_of(live_api, CARLOS)["unread_count"] == 0)


async def test_a_failed_delivery_shows_the_cross_and_the_reason(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api, live=True) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("r", *"Confirmado!", "enter")
        await until(pilot, lambda: screen.timeline.count == 2)
        sent = live_api.admin("GET", f"/api/v1/chats/{screen.open_chat_id}/messages")["items"][0]
        live_api.admin(
            "POST",
            f"/webhooks/simulator/{live_api.channel_id}",
            {
                "status": {
                    "id": sent["provider_message_id"],
                    "status": "failed",
                    "error_code": "131047",
                    "error_detail": "Mais de 24 horas desde a última mensagem do cliente",
                }
            },
        )
        await until(pilot, lambda: "✗ falhou" in bubbles(screen)[-1])
        assert "Mais de 24 horas desde a última mensagem do cliente" in bubbles(screen)[-1]
        assert "131047" in bubbles(screen)[-1]


async def test_a_chat_given_to_someone_else_leaves_the_secretarys_screen(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    admin_id = next(u["id"] for u in live_api.admin("GET", "/api/v1/users") if u["role"] == "admin")
    async with inbox(live_api, live=True) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        live_api.admin("PATCH", f"/api/v1/chats/{screen.open_chat_id}", {"assignee_id": admin_id})
        await until(pilot, lambda: names(screen) == [])
        assert screen.open_chat_id is None
        assert "outra pessoa" in str(screen.query_one("#messages").render())


# -- the AI switch ------------------------------------------------------------------------


async def test_the_ai_is_switched_off_on_and_paused_for_some_hours(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("d")
        await until(pilot, lambda: chat_of(live_api, ANA)["mode"] == "human")
        await until(pilot, lambda: "desligada" in str(screen.query_one("#chat-header").render()))
        await pilot.press("a")
        await until(pilot, lambda: chat_of(live_api, ANA)["mode"] == "ai")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, PauseDialog))
        await pilot.press("backspace", "3", "enter")
        await until(pilot, lambda: chat_of(live_api, ANA)["mode"] == "paused")
        assert chat_of(live_api, ANA)["paused_until"] == "2026-11-25T16:00:00Z"
        header = screen.query_one("#chat-header")
        await until(pilot, lambda: "pausada até 13:00" in str(header.render()))


async def test_the_pause_dialog_refuses_what_is_not_a_number_of_hours(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("p")
        await until(pilot, lambda: isinstance(pilot.app.screen, PauseDialog))
        await pilot.press("backspace", "x", "enter")
        assert "número de horas" in str(pilot.app.screen.query_one("#error").render())
        await pilot.press("escape")
        assert pilot.app.screen is screen
        assert chat_of(live_api, ANA)["mode"] == "ai"


# -- finding chats ------------------------------------------------------------------------


def _seed_three(live_api: Any) -> None:
    """Ana waits 10 min for a person, Carlos waits since now, Dora is with the AI."""
    live_api.patient_says("Quero falar com alguém", ANA, "Ana Lima")
    live_api.admin("PATCH", f"/api/v1/chats/{chat_of(live_api, ANA)['id']}", {"mode": "human"})
    live_api.clock.advance(minutes=10)
    live_api.patient_says("Vocês atendem convênio?", CARLOS, "Carlos Souza")
    live_api.admin("PATCH", f"/api/v1/chats/{chat_of(live_api, CARLOS)['id']}", {"mode": "human"})
    live_api.clock.advance(minutes=1)
    live_api.patient_says("Qual o endereço da clínica?", DORA, "Dora Mendes")


async def test_next_waiting_opens_the_chat_waiting_longest(live_api):
    _seed_three(live_api)
    async with inbox(live_api) as (pilot, screen):
        assert names(screen) == ["Dora Mendes", "Carlos Souza", "Ana Lima"]
        await pilot.press("n")
        await until(pilot, lambda: screen.open_chat_id == chat_of(live_api, ANA)["id"])
        await until(pilot, lambda: screen.timeline.count == 1)
        assert "aguardando há 11 min" in str(screen.query_one("#chat-header").render())


async def test_filters_ask_the_server_and_keep_its_order(live_api):
    _seed_three(live_api)
    async with inbox(live_api) as (pilot, screen):
        await pilot.press("2")  # aguardando: oldest wait first
        await until(pilot, lambda: names(screen) == ["Ana Lima", "Carlos Souza"])
        assert "aguardando" in str(screen.query_one("#filter").render())
        await pilot.press("5")  # IA
        await until(pilot, lambda: names(screen) == ["Dora Mendes"])
        await pilot.press("3")  # minhas
        await until(pilot, lambda: names(screen) == [])
        await pilot.press("4")  # sem responsável
        await until(pilot, lambda: len(names(screen)) == 3)
        await pilot.press("f")  # next: IA
        await until(pilot, lambda: names(screen) == ["Dora Mendes"])
        await pilot.press("f")  # next: não lidas
        await until(pilot, lambda: len(names(screen)) == 3)
        await open_chat(pilot, screen, "Carlos Souza")  # read: leaves "não lidas"
        await until(pilot, lambda: "Carlos Souza" not in names(screen))
        await pilot.press("1")
        await until(pilot, lambda: len(names(screen)) == 3)


async def test_search_finds_by_name_phone_or_text(live_api):
    _seed_three(live_api)
    async with inbox(live_api) as (pilot, screen):
        await pilot.press("slash")
        assert isinstance(pilot.app.focused, Input)
        await pilot.press(*"convenio", "enter")
        await until(pilot, lambda: names(screen) == ["Carlos Souza"])
        await pilot.press("slash", *(["backspace"] * 8), *"5555", "enter")
        await until(pilot, lambda: names(screen) == ["Dora Mendes"])
        await pilot.press("slash", *(["backspace"] * 4), "enter")
        await until(pilot, lambda: len(names(screen)) == 3)


async def test_the_list_loads_the_next_page_at_its_end(live_api):
    for n in range(55):
        live_api.patient_says(f"mensagem {n}", f"+55119{n:08d}", f"Paciente {n:02d}")
    async with inbox(live_api) as (pilot, screen):
        assert len(names(screen)) == 50
        assert "(50+)" in str(screen.query_one("#filter").render())
        await pilot.press("end")
        await until(pilot, lambda: len(names(screen)) == 55)
        assert names(screen)[-1] == "Paciente 00"
        assert "(55)" in str(screen.query_one("#filter").render())


async def test_older_messages_load_above_the_newest_page(live_api):
    for n in range(110):
        live_api.patient_says(f"mensagem {n}", ANA, "Ana Lima")
        live_api.clock.advance(seconds=1)
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        assert screen.timeline.count == 50
        assert "mensagem 109" in bubbles(screen)[-1]
        await pilot.press("o")  # the key
        await until(pilot, lambda: screen.timeline.count == 100)
        await pilot.pause()
        assert screen.timeline.scroll_y > 0  # what was on screen stayed on screen
        screen.timeline.scroll_home(animate=False)  # scrolling to the top
        await until(pilot, lambda: screen.timeline.count == 110)
        assert "mensagem 0" in bubbles(screen)[0]
        assert "início da conversa" in str(screen.query_one("#older").render())


# -- outside the window, files ------------------------------------------------------------


async def test_a_closed_window_offers_the_templates_instead_of_free_text(live_api):
    live_api.admin(
        "PATCH",
        f"/api/v1/channels/{live_api.channel_id}",
        {"templates": [{"name": "retorno", "body": "Olá {{1}}, podemos falar sobre {{2}}?"}]},
    )
    # The patient wrote almost 24 h ago. (The clock cannot jump a day ahead: the server's JWTs
    # would carry an `iat` later than the real time, which PyJWT refuses.)
    live_api.admin(
        "POST",
        f"/webhooks/simulator/{live_api.channel_id}",
        {
            "message": {
                "id": "sim-old",
                "from": ANA,
                "name": "Ana Lima",
                "text": "Oi",
                "timestamp": "2026-11-24T13:10:00Z",
            }
        },
    )
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        composer = screen.query_one(Composer)
        assert not composer.window_closed
        live_api.clock.advance(minutes=15)  # 24 h and 5 min since the patient wrote
        await pilot.press("f5")
        await until(pilot, lambda: composer.window_closed)
        assert "janela 24 h fechada" in str(screen.query_one("#chat-header").render())
        await pilot.press("r")  # replying means choosing a template
        await until(pilot, lambda: isinstance(pilot.app.screen, TemplatePicker))
        picker = pilot.app.screen
        await until(pilot, lambda: len(picker.query(".parameter")) == 2)
        assert picker.query(".parameter").first(Input).value == "Ana"
        await pilot.press("enter", "enter", *"sua consulta", "enter")
        await until(pilot, lambda: pilot.app.screen is screen)
        await until(pilot, lambda: screen.timeline.count == 2)
        sent = live_api.admin("GET", f"/api/v1/chats/{screen.open_chat_id}/messages")["items"][0]
        assert sent["kind"] == "template"
        assert sent["body"] == "Olá Ana, podemos falar sobre sua consulta?"
        assert "[modelo retorno]" in bubbles(screen)[-1]


async def test_a_file_is_attached_by_its_path(live_api, tmp_path):
    photo = tmp_path / "raio-x.png"
    photo.write_bytes(png())
    live_api.patient_says("Pode mandar a imagem?", ANA, "Ana Lima")
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("r", *"Segue o exame")
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(pilot.app.screen, AttachDialog))
        await pilot.press(*str(tmp_path / "nada.png"), "enter")
        assert "não encontrado" in str(pilot.app.screen.query_one("#error").render())
        pilot.app.screen.query_one("#answer", Input).value = str(photo)
        await pilot.press("enter")
        await until(pilot, lambda: screen.timeline.count == 2)
        sent = live_api.admin("GET", f"/api/v1/chats/{screen.open_chat_id}/messages")["items"][0]
        assert (sent["kind"], sent["body"]) == ("image", "Segue o exame")
        assert sent["media"]["filename"] == "raio-x.png"
        assert "[imagem] raio-x.png" in bubbles(screen)[-1]


# -- keys ---------------------------------------------------------------------------------


async def test_the_help_lists_the_inbox_keys_in_portuguese(live_api):
    async with inbox(live_api) as (pilot, _):
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(pilot.app.screen, HelpScreen))
        text = str(pilot.app.screen.query_one("#help-text").render())
        assert "Conversas" in text
        for words in ("Próxima aguardando", "Assumir", "Pausar IA", "Anexar arquivo", "Agendar"):
            assert words in text


async def test_actions_on_a_chat_say_to_open_one_first(live_api):
    async with inbox(live_api) as (pilot, _):
        await pilot.press("t")
        await pilot.pause()
        assert any("Abra uma conversa" in n.message for n in pilot.app._notifications)


async def test_the_patient_card_shows_beside_the_chat_on_wide_terminals(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api, size=(80, 24)) as (pilot, screen):
        sidebar = screen.query_one("#sidebar")
        assert not sidebar.display
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("i")
        await pilot.pause()
        assert sidebar.display
        assert not screen.query_one(ChatList).display  # no room for both on 80 columns
        await until(pilot, lambda: "Etapa" in str(sidebar.query_one("#card").render()))
        await pilot.press("i")
        await pilot.pause()
        assert not sidebar.display


async def test_booking_and_charging_open_their_dialogs_for_the_patient(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api) as (pilot, screen):
        await open_chat(pilot, screen, "Ana Lima")
        chat = screen.open_chat
        for key, dialog in (("b", BookingDialog), ("c", ChargeDialog)):
            await pilot.press(key)
            await until(pilot, lambda dialog=dialog: isinstance(pilot.app.screen, dialog))
            opened = pilot.app.screen
            assert (opened.customer_id, opened.chat_id) == (chat["customer_id"], chat["id"])
            assert opened.customer_name == "Ana Lima"
            await pilot.press("escape")
            await until(pilot, lambda: pilot.app.screen is screen)


async def test_escape_leaves_the_reply_box_for_the_list(live_api):
    live_api.patient_says("Oi", ANA, "Ana Lima")
    async with inbox(live_api) as (pilot, screen):
        assert "Nenhuma" not in str(screen.query_one("#filter").render())
        await open_chat(pilot, screen, "Ana Lima")
        await pilot.press("r")
        assert pilot.app.focused is screen.query_one("#message")
        await pilot.press("escape")
        assert pilot.app.focused is screen.query_one("#chats")
        await pilot.press("3")  # minhas: none yet
        await until(pilot, lambda: names(screen) == [])
        options = screen.query_one("#chats", OptionList)
        assert "Nenhuma conversa aqui" in str(options.get_option_at_index(0).prompt)
