"""Conversas: the secretary's inbox.

Chats on the left (search, filters, a page at a time), the open chat in the middle (its
newest messages, the AI switch, the reply box) and the patient on the right. Every request
runs in a worker; realtime frames (``ServerEvent``, from the app) replace chats and messages
by id, so nothing is fetched again when something changes.
"""

from __future__ import annotations

import asyncio
import mimetypes
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Header

from porfin_tui.api import Api, ApiError
from porfin_tui.screens.booking import BookingDialog
from porfin_tui.screens.charge import ChargeDialog
from porfin_tui.screens.pause import AttachDialog, PauseDialog
from porfin_tui.screens.template import TemplatePicker
from porfin_tui.widgets.chat_header import ChatHeader
from porfin_tui.widgets.chat_list import FILTERS, PAGE, ChatList, filter_params, matches
from porfin_tui.widgets.composer import Composer
from porfin_tui.widgets.format import chat_name
from porfin_tui.widgets.keybar import KeyBar
from porfin_tui.widgets.sidebar import CustomerSidebar
from porfin_tui.widgets.timeline import Timeline

if TYPE_CHECKING:
    from porfin_tui.app import ServerEvent

Chat = dict[str, Any]
HINTS = [
    ("F1", "Ajuda"),
    ("n", "Próxima aguardando"),
    ("t", "Assumir"),
    ("r", "Responder"),
    ("/", "Buscar"),
    ("f", "Filtro"),
    ("i", "Ficha"),
    ("a/d/p", "IA liga/desliga/pausa"),
    ("b", "Agendar"),
    ("c", "Cobrar"),
    ("^O", "Anexar"),
    ("m", "Modelo"),
    ("F2-F4", "Telas"),
]
"""The key line at the bottom (F1 lists every key)."""
WIDE = 120
"""From this many columns the patient's card shows beside the chat without asking."""
REFRESH_SECONDS = 30


def problem(exc: ApiError) -> str:
    """An API failure in one Portuguese line."""
    if exc.status == 0:
        return "Sem resposta do servidor. Verifique a conexão."
    if exc.code == "window_closed":
        return "A janela de 24 h está fechada: envie um modelo aprovado (tecla M)."
    if exc.status == 404:
        return "Não encontrada (talvez passada para outra pessoa)."
    if exc.status == 403:
        return "Você não tem permissão para isso."
    if exc.code == "rate_limited":
        return "Muitas ações seguidas; tente em alguns segundos."
    return f"Não foi possível: {exc.detail}"


class InboxScreen(Screen[None]):
    """Conversas: chats, the open chat and the patient."""

    HELP_TITLE = "Conversas"

    DEFAULT_CSS = """
    InboxScreen #inbox {
        height: 1fr;
    }
    InboxScreen #conversation {
        width: 1fr;
        height: 1fr;
    }
    InboxScreen.narrow ChatList {
        width: 28;
    }
    InboxScreen.wide ChatList {
        width: 38;
    }
    InboxScreen.narrow.card ChatList {
        display: none;
    }
    InboxScreen CustomerSidebar {
        display: none;
    }
    InboxScreen.card CustomerSidebar {
        display: block;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "next_waiting", "Próxima aguardando"),
        Binding("t", "take_over", "Assumir"),
        Binding("r", "reply", "Responder"),
        Binding("slash", "search", "Buscar", key_display="/"),
        Binding("f", "cycle_filter", "Filtro"),
        Binding("i", "toggle_card", "Ficha"),
        Binding("a", "ai_on", "Ligar IA"),
        Binding("d", "ai_off", "Desligar IA"),
        Binding("p", "pause", "Pausar IA"),
        Binding("b", "book", "Agendar"),
        Binding("c", "charge", "Cobrar"),
        Binding("ctrl+o", "attach", "Anexar arquivo"),
        Binding("m", "template", "Modelo (janela fechada)"),
        Binding("o", "older", "Mensagens anteriores"),
        Binding("1", "filter('all')", "Filtro: todas"),
        Binding("2", "filter('waiting')", "Filtro: aguardando atendimento"),
        Binding("3", "filter('mine')", "Filtro: minhas"),
        Binding("4", "filter('unassigned')", "Filtro: sem responsável"),
        Binding("5", "filter('ai')", "Filtro: IA"),
        Binding("6", "filter('unread')", "Filtro: não lidas"),
        Binding("f5", "reload", "Atualizar"),
        Binding("escape", "back", "Voltar à lista"),
    ]

    open_chat_id: str | None = None
    """The chat on screen (the app does not ring for its messages)."""

    def __init__(self) -> None:
        super().__init__()
        self.open_chat: Chat | None = None
        self.zone: tzinfo | None = None
        self.filter = "all"
        self.search = ""
        self.next_cursor: str | None = None
        self.older_cursor: str | None = None
        self.card: tuple[Any, Any, Any] = (None, None, None)
        self.card_wanted: bool | None = None
        self._generation = 0
        self._loading_more = False
        self.loaded = False
        """True once the first page of chats is on screen."""
        self._was_connected = False
        self._lost = False

    # -- plumbing -------------------------------------------------------------------------

    @property
    def api(self) -> Api:
        """The app's API client."""
        return self.app.api  # type: ignore[attr-defined,no-any-return]

    @property
    def me(self) -> str:
        """The user's id."""
        return str(self.api.me.get("id") or "")

    def now(self) -> datetime:
        """The app's clock."""
        return self.app.now()  # type: ignore[attr-defined,no-any-return]

    @property
    def chat_list(self) -> ChatList:
        return self.query_one(ChatList)

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="inbox"):
            yield ChatList(id="chat-list")
            with Vertical(id="conversation"):
                yield ChatHeader(id="chat-header")
                yield Timeline(id="timeline")
                yield Composer(id="composer")
            yield CustomerSidebar(id="sidebar")
        yield KeyBar(HINTS, id="keys")

    def on_mount(self) -> None:
        self.app.listeners.add(self)  # type: ignore[attr-defined]
        self.chat_list.me = self.me
        self.chat_list.now = self.now()
        self.timeline.me = self.me
        self._show_chat()
        self._fit(self.app.size.width)
        self.chat_list.focus_list()
        self.set_interval(REFRESH_SECONDS, self._tick)
        self.set_interval(1, self._check_connection)
        self.start()

    def on_unmount(self) -> None:
        self.app.listeners.discard(self)  # type: ignore[attr-defined]

    def on_resize(self, event: Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        wide = width >= WIDE
        self.set_class(not wide, "narrow")
        self.set_class(wide, "wide")
        self.set_class(wide if self.card_wanted is None else self.card_wanted, "card")

    def _check_connection(self) -> None:
        """After the realtime connection comes back, load again what frames were missed."""
        connected = bool(getattr(self.app, "connected", False))
        if not connected and self._was_connected:
            self._lost = True
        elif connected and self._lost:
            self._lost = False
            self.action_reload()
        self._was_connected = connected

    def _tick(self) -> None:
        now = self.now()
        self.chat_list.now = now
        if any(chat.get("waiting_since") for chat in self.chat_list.chats):
            self.chat_list.refresh_rows()
        self._show_chat()

    # -- loading --------------------------------------------------------------------------

    @work(exclusive=True, group="chats")
    async def start(self) -> None:
        """The clinic's time zone, then the first page of chats."""
        try:
            clinic = await self.api.get("/api/v1/clinic")
            self.zone = ZoneInfo(clinic.get("timezone") or "America/Sao_Paulo")
        except (ApiError, ZoneInfoNotFoundError):
            self.zone = None  # the computer's own zone
        self.timeline.zone = self.zone
        await self._load_chats()

    @work(exclusive=True, group="chats")
    async def load_chats(self) -> None:
        """The first page of the list with the filter and search in force."""
        await self._load_chats()

    async def _load_chats(self) -> None:
        self._generation += 1
        generation = self._generation
        self.chat_list.set_filter(self.filter, self.search)
        try:
            page = await self.api.get("/api/v1/chats", **self._query())
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return
        if generation != self._generation:
            return
        self.next_cursor = page.get("next_cursor")
        self.chat_list.now = self.now()
        self.chat_list.show(page.get("items") or [], bool(self.next_cursor))
        self.loaded = True

    def _query(self) -> dict[str, Any]:
        query: dict[str, Any] = {**filter_params(self.filter, self.me), "limit": PAGE}
        if self.search:
            query["q"] = self.search
        return query

    @work(group="more")
    async def load_more(self) -> None:
        """The next page of the list."""
        if self._loading_more or not self.next_cursor:
            return
        self._loading_more = True
        generation = self._generation
        try:
            page = await self.api.get("/api/v1/chats", **self._query(), cursor=self.next_cursor)
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return
        finally:
            self._loading_more = False
        if generation != self._generation:
            return
        self.next_cursor = page.get("next_cursor")
        self.chat_list.extend(page.get("items") or [], bool(self.next_cursor))

    @on(ChatList.EndReached)
    def _end_reached(self) -> None:
        if self.next_cursor and not self._loading_more:
            self.load_more()

    @on(ChatList.SearchChanged)
    def _search_changed(self, event: ChatList.SearchChanged) -> None:
        if event.text != self.search:
            self.search = event.text
            self.load_chats()

    @on(ChatList.Opened)
    def _opened(self, event: ChatList.Opened) -> None:
        chat = self.chat_list.get(event.chat_id)
        if chat is not None:
            self.open(chat)

    # -- the open chat --------------------------------------------------------------------

    def open(self, chat: Chat) -> None:
        """Show ``chat``: header at once, then its newest messages and the patient's card."""
        self.open_chat = chat
        self.open_chat_id = chat["id"]
        self.older_cursor = None
        self.card = (None, None, None)
        self.chat_list.mark_open(chat["id"])
        self._show_chat()
        self.load_messages(chat)

    @work(exclusive=True, group="open")
    async def load_messages(self, chat: Chat) -> None:
        """The newest page of the chat; then the patient's card, and marks it read."""
        chat_id = chat["id"]
        try:
            page = await self.api.get(f"/api/v1/chats/{chat_id}/messages", limit=PAGE)
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return
        if chat_id != self.open_chat_id:
            return
        self.older_cursor = page.get("next_cursor")
        self.timeline.now = self.now()
        self.timeline.show(page.get("items") or [], bool(self.older_cursor))
        self.load_card(chat)  # after the messages: they matter first
        if int((self.open_chat or chat).get("unread_count") or 0) > 0:
            await self._patch(chat_id, {"read": True})

    @work(exclusive=True, group="older")
    async def load_older(self) -> None:
        """The page before the oldest message shown."""
        chat_id, cursor = self.open_chat_id, self.older_cursor
        if not chat_id or not cursor:
            return
        self.timeline.loading_older = True
        try:
            page = await self.api.get(
                f"/api/v1/chats/{chat_id}/messages", limit=PAGE, cursor=cursor
            )
        except ApiError as exc:
            self.timeline.loading_older = False
            self.notify(problem(exc), severity="error")
            return
        if chat_id != self.open_chat_id:
            return
        self.older_cursor = page.get("next_cursor")
        self.timeline.add_older(page.get("items") or [], bool(self.older_cursor))

    @on(Timeline.NeedOlder)
    def _need_older(self) -> None:
        self.load_older()

    @work(exclusive=True, group="card")
    async def load_card(self, chat: Chat) -> None:
        """The patient, their appointments and open charges, side by side."""
        customer_id = chat["customer_id"]
        results = await asyncio.gather(
            self.api.get(f"/api/v1/customers/{customer_id}"),
            self.api.get(
                "/api/v1/appointments", customer_id=customer_id, include_cancelled="false"
            ),
            self.api.get("/api/v1/charges", customer_id=customer_id, status="pending"),
            return_exceptions=True,
        )
        if chat["id"] != self.open_chat_id:
            return
        customer, appointments, charges = (
            None if isinstance(r, BaseException) else r for r in results
        )
        self.card = (customer or {}, appointments or [], charges or [])
        self._show_card()

    def _show_chat(self) -> None:
        chat, now = self.open_chat, self.now()
        self.query_one(ChatHeader).show(chat, self.me, self.zone, now)
        self.composer.set_state(
            open_chat=chat is not None, window_open=bool(chat and chat.get("window_open"))
        )
        self._show_card()

    def _show_card(self) -> None:
        customer, appointments, charges = self.card
        self.query_one(CustomerSidebar).show(
            self.open_chat, customer, appointments, charges, zone=self.zone, now=self.now()
        )

    def _close_open_chat(self, note: str) -> None:
        self.open_chat = None
        self.open_chat_id = None
        self.chat_list.mark_open(None)
        self._show_chat()
        self.timeline.clear(note)

    # -- realtime -------------------------------------------------------------------------

    def on_server_event(self, event: ServerEvent) -> None:
        """Apply a frame: replace the chat and the message by id."""
        frame = event.frame
        kind = str(frame.get("type") or "")
        chat_id = frame.get("chat_id")
        data = frame.get("data") if isinstance(frame.get("data"), dict) else {}
        assert isinstance(data, dict)
        if kind == "chat.hidden" and chat_id:
            self.chat_list.drop(chat_id)
            if chat_id == self.open_chat_id:
                self._close_open_chat("A conversa foi passada para outra pessoa.")
            return
        chat = data.get("chat")
        if isinstance(chat, dict) and chat.get("id"):
            self.chat_changed(chat)
        message = data.get("message")
        if isinstance(message, dict) and message.get("id") and chat_id == self.open_chat_id:
            self.timeline.now = self.now()
            self.timeline.upsert(message)
            if kind == "message.created" and message.get("author") == "patient":
                self.mark_read(chat_id)

    def chat_changed(self, chat: Chat) -> None:
        """A chat as it is now: its row, and the open chat if it is this one."""
        fits = matches(self.filter, chat, self.me)
        if self.search and self.chat_list.get(chat["id"]) is None:
            fits = False  # the server decides what a search finds
        self.chat_list.now = self.now()
        self.chat_list.upsert(chat, fits)
        if chat["id"] == self.open_chat_id:
            self.open_chat = chat
            self._show_chat()

    @work(group="read")
    async def mark_read(self, chat_id: str) -> None:
        """The patient's new message is on screen: it is read."""
        await self._patch(chat_id, {"read": True})

    async def _patch(self, chat_id: str, body: dict[str, Any], done: str = "") -> bool:
        try:
            chat = await self.api.patch(f"/api/v1/chats/{chat_id}", body)
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return False
        self.chat_changed(chat)
        if done:
            self.notify(done, timeout=3)
        return True

    # -- sending --------------------------------------------------------------------------

    @on(Composer.Send)
    def _send(self, event: Composer.Send) -> None:
        if self.open_chat_id:
            self.composer.text = ""
            self.send({"text": event.text}, restore=event.text)

    @work(group="send")
    async def send(self, body: dict[str, Any], restore: str = "") -> None:
        """Send a text, a file or a template in the open chat."""
        chat_id = self.open_chat_id
        if not chat_id:
            return
        try:
            message = await self.api.post(f"/api/v1/chats/{chat_id}/messages", body)
        except ApiError as exc:
            if restore and not self.composer.text:
                self.composer.text = restore
            if exc.code == "window_closed" and self.open_chat:
                self.chat_changed({**self.open_chat, "window_open": False})
            self.notify(problem(exc), severity="error")
            return
        if chat_id == self.open_chat_id:
            self.timeline.now = self.now()
            self.timeline.upsert(message)
            if message.get("status") == "failed":
                self.notify("O WhatsApp recusou a mensagem (veja o motivo).", severity="error")
        if not getattr(self.app, "connected", False):
            await self._refresh_chat(chat_id)  # no frames: the chat changed (mode, assignee)

    async def _refresh_chat(self, chat_id: str) -> None:
        try:
            chat = await self.api.get(f"/api/v1/chats/{chat_id}")
        except ApiError:
            return
        self.chat_changed(chat)

    @work(group="send")
    async def send_file(self, path: Path) -> None:
        """Upload ``path``, then send it (with the text typed, if any, as its caption)."""
        chat_id = self.open_chat_id
        if not chat_id:
            return
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        try:
            content = await asyncio.to_thread(path.read_bytes)
        except OSError as exc:
            self.notify(f"Não foi possível ler o arquivo: {exc.strerror}", severity="error")
            return
        self.notify(f"Enviando {path.name}…", timeout=2)
        try:
            media = await self.api.upload("/api/v1/media", path.name, content, mime)
        except ApiError as exc:
            if exc.code == "unsupported_media_type":
                self.notify("O WhatsApp não entrega esse tipo de arquivo.", severity="error")
            elif exc.code == "payload_too_large":
                self.notify("Arquivo grande demais para o WhatsApp.", severity="error")
            else:
                self.notify(problem(exc), severity="error")
            return
        body: dict[str, Any] = {"media_id": media["id"]}
        caption = self.composer.text.strip()
        if caption and media.get("kind") != "audio":
            body["caption"] = caption[:1024]
            self.composer.text = ""
        await self.send(body, restore=caption).wait()

    # -- actions --------------------------------------------------------------------------

    def _need_chat(self) -> Chat | None:
        if self.open_chat is None:
            self.notify("Abra uma conversa primeiro (Enter na lista).", severity="warning")
        return self.open_chat

    @work(exclusive=True, group="open")
    async def action_next_waiting(self) -> None:
        """Open the chat waiting longest for a person."""
        try:
            page = await self.api.get("/api/v1/chats", waiting="true", limit=1)
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return
        items = page.get("items") or []
        if not items:
            self.notify("Nenhuma conversa aguardando atendimento.", timeout=4)
            return
        chat = items[0]
        self.chat_changed(chat)
        self.open(chat)

    @work(group="patch")
    async def action_take_over(self) -> None:
        """Assign the chat to me and turn the AI off, in one change."""
        chat = self._need_chat()
        if chat is None:
            return
        body = {"mode": "human", "assignee_id": self.me}
        if chat.get("mode") == "human" and chat.get("handoff_reason"):
            body = {"assignee_id": self.me}  # keep the AI's handoff reason
        if await self._patch(chat["id"], body, "Conversa assumida: a IA não responde mais."):
            self.composer.focus_box()

    @work(group="patch")
    async def action_ai_on(self) -> None:
        """The AI answers this chat again."""
        chat = self._need_chat()
        if chat is not None:
            await self._patch(chat["id"], {"mode": "ai"}, "IA ligada nesta conversa.")

    @work(group="patch")
    async def action_ai_off(self) -> None:
        """A person answers this chat; the AI stays silent."""
        chat = self._need_chat()
        if chat is not None:
            await self._patch(chat["id"], {"mode": "human"}, "IA desligada nesta conversa.")

    def action_pause(self) -> None:
        """Ask for how many hours, then silence the AI until then."""
        chat = self._need_chat()
        if chat is None:
            return

        def paused(hours: object) -> None:
            if isinstance(hours, float):
                self.pause(chat["id"], hours)

        self.app.push_screen(PauseDialog(), paused)

    @work(group="patch")
    async def pause(self, chat_id: str, hours: float) -> None:
        """Silence the AI in ``chat_id`` for ``hours``."""
        until = (self.now() + timedelta(hours=hours)).astimezone(UTC)
        label = f"{hours:g}".replace(".", ",")
        await self._patch(
            chat_id,
            {"mode": "paused", "paused_until": until.isoformat()},
            f"IA pausada por {label} h.",
        )

    def action_reply(self) -> None:
        """Write in the open chat (the template picker when the window is closed)."""
        if self._need_chat() is None:
            return
        if self.composer.window_closed:
            self.action_template()
        else:
            self.composer.focus_box()

    def action_search(self) -> None:
        self.chat_list.focus_search()

    def action_back(self) -> None:
        self.chat_list.focus_list()

    def action_cycle_filter(self) -> None:
        names = [name for name, _ in FILTERS]
        self.action_filter(names[(names.index(self.filter) + 1) % len(names)])

    def action_filter(self, name: str) -> None:
        self.filter = name
        self.load_chats()

    def action_toggle_card(self) -> None:
        self.card_wanted = not self.has_class("card")
        self._fit(self.app.size.width)
        chat_list = self.chat_list
        if self.has_class("narrow") and self.card_wanted:
            if self.focused is None or chat_list in self.focused.ancestors_with_self:
                self.timeline.focus()  # the list made room for the card
        elif self.focused is None or self.focused is self.timeline:
            chat_list.focus_list()

    @work(exclusive=True, group="chats")
    async def action_reload(self) -> None:
        """Load the list and the open chat again (after a lost connection, say)."""
        await self._load_chats()
        chat_id = self.open_chat_id
        if chat_id:
            try:
                chat = await self.api.get(f"/api/v1/chats/{chat_id}")
            except ApiError as exc:
                self.notify(problem(exc), severity="error")
                return
            if chat_id == self.open_chat_id:
                self.chat_changed(chat)
                self.open(chat)

    def action_older(self) -> None:
        if self.older_cursor:
            self.load_older()
        else:
            self.notify("Não há mensagens anteriores.", timeout=2)

    def action_attach(self) -> None:
        """Ask for a file's path, then send it."""
        if self._need_chat() is None:
            return
        if self.composer.window_closed:
            self.notify(problem(ApiError(409, "", "window_closed")), severity="warning")
            return

        def chosen(path: object) -> None:
            if isinstance(path, Path):
                self.send_file(path)

        self.app.push_screen(AttachDialog(), chosen)

    @work(exclusive=True, group="templates")
    async def action_template(self) -> None:
        """Choose an approved template and send it (the only way outside the window)."""
        chat = self._need_chat()
        if chat is None:
            return
        try:
            found = await self.api.get(f"/api/v1/channels/{chat['channel_id']}/templates")
        except ApiError as exc:
            self.notify(problem(exc), severity="error")
            return
        templates = found.get("items", []) if isinstance(found, dict) else found or []
        choice = await self.app.push_screen_wait(
            TemplatePicker(templates, name=(chat.get("customer_name") or "").split(" ")[0])
        )
        if choice:
            await self.send({"template": choice}).wait()

    def action_book(self) -> None:
        """Book an appointment for this patient (the booking dialog)."""
        chat = self._need_chat()
        if chat is not None:
            self.app.push_screen(
                BookingDialog(
                    customer_id=chat["customer_id"],
                    chat_id=chat["id"],
                    customer_name=chat_name(chat),
                ),
                lambda _: self._card_changed(),
            )

    def action_charge(self) -> None:
        """Charge this patient (PIX)."""
        chat = self._need_chat()
        if chat is not None:
            self.app.push_screen(
                ChargeDialog(
                    customer_id=chat["customer_id"],
                    chat_id=chat["id"],
                    customer_name=chat_name(chat),
                ),
                lambda _: self._card_changed(),
            )

    def _card_changed(self) -> None:
        if self.open_chat is not None:
            self.load_card(self.open_chat)
