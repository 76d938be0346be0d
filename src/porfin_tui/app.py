"""The terminal inbox: one Textual app with three screens (conversas, agenda, painel), a
login screen and a help screen.

The app gets its :class:`~porfin_tui.api.Api` and its clock in the constructor; every request
runs in a worker; the realtime frames arrive in one worker and are handed to every screen that
listens (:class:`ServerEvent`), and the app rings the bell and shows a toast for a patient's
new message and for an urgent handoff.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import attrs
from textual import work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widget import Widget

from porfin_tui.api import Api
from porfin_tui.screens.agenda import AgendaScreen
from porfin_tui.screens.dashboard import DashboardScreen
from porfin_tui.screens.help import HelpScreen
from porfin_tui.screens.inbox import InboxScreen
from porfin_tui.screens.login import LoginScreen
from porfin_tui.session import SessionStore


@attrs.frozen
class Alert:
    """A notification shown to the person at the desk (the last 100 are kept)."""

    title: str
    text: str
    urgent: bool


class ServerEvent(Message):
    """A realtime frame from the server (``message.created``, ``chat.updated``,
    ``appointment.booked``...), exactly as the WebSocket sent it."""

    def __init__(self, frame: dict[str, Any]) -> None:
        super().__init__()
        self.frame = frame

    @property
    def type(self) -> str:
        """The frame's ``type``."""
        return str(self.frame.get("type", ""))

    @property
    def data(self) -> dict[str, Any]:
        """The frame's ``data`` (the message/chat/appointment as the REST API shows it)."""
        data = self.frame.get("data")
        return data if isinstance(data, dict) else {}


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


class InboxApp(App[None]):
    """The secretary's inbox.

    Args:
        api: The server's API client (logged in or not: the login screen opens if not).
        clock: Now, in UTC (tests pass a fixed one; waiting times are counted from it).
        email: Pre-fills the login screen.
        live: Whether to open the realtime connection (tests of a single screen turn it off).
    """

    TITLE = "Porfin"
    SUB_TITLE = "Recepção"
    CSS_PATH = "inbox.tcss"
    ENABLE_COMMAND_PALETTE = False
    MODES: ClassVar[dict[str, Any]] = {
        "inbox": InboxScreen,
        "agenda": AgendaScreen,
        "dashboard": DashboardScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Ajuda"),
        Binding("f2", "switch_mode('inbox')", "Conversas"),
        Binding("f3", "switch_mode('agenda')", "Agenda"),
        Binding("f4", "switch_mode('dashboard')", "Painel"),
        Binding("f10", "log_out", "Encerrar sessão"),
        Binding("ctrl+q", "quit", "Sair", priority=True),
    ]

    def __init__(
        self,
        api: Api,
        *,
        clock: Callable[[], datetime] = utc_now,
        email: str | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.api = api
        self.now = clock
        self.email = email
        self.live = live
        self.listeners: set[Widget] = set()
        self.connected = False
        self.alerts: list[Alert] = []

    @classmethod
    def for_server(cls, base_url: str, email: str | None = None) -> InboxApp:
        """The inbox of the server at ``base_url``, keeping the login in the user's config."""
        return cls(Api(base_url, SessionStore()), email=email)

    # -- session -----------------------------------------------------------------------

    async def on_mount(self) -> None:
        self.resume_session()

    async def on_unmount(self) -> None:
        # The live connection ends first, then the client closes what is left (its socket).
        for worker in self.workers:
            if worker.group == "realtime":
                worker.cancel()
        await self.api.close()

    @work(exclusive=True, group="session")
    async def resume_session(self) -> None:
        try:
            resumed = await self.api.logged_in_or_resume()
        except Exception as exc:  # the server is down: the login screen says so
            self.push_screen(LoginScreen(self.email, error=str(exc)), self._logged_in)
            return
        if resumed:
            self.start()
        else:
            self.push_screen(LoginScreen(self.email), self._logged_in)

    def _logged_in(self, _: object = None) -> None:
        self.start()

    def start(self) -> None:
        """After login: the inbox, and the realtime connection."""
        me = self.api.me
        self.sub_title = f"{me.get('name', '')} · {ROLE_PT.get(me.get('role', ''), '')}".strip(" ·")
        self.switch_mode("inbox")
        if self.live:
            self.listen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """No screen but the login before logging in (their keys are not even shown)."""
        return self.api.logged_in or action not in ("switch_mode", "log_out")

    async def action_log_out(self) -> None:
        """End the session (the kept login is forgotten) and close the inbox."""
        await self.api.log_out()
        self.exit()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # -- realtime ----------------------------------------------------------------------

    @work(exclusive=True, group="realtime")
    async def listen(self) -> None:
        async for frame in self.api.events(("inbox", "agenda"), self._connection_changed):
            self.deliver(frame)

    def _connection_changed(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            if not connected:
                self.notify("Conexão ao vivo perdida; reconectando…", severity="warning")

    def deliver(self, frame: dict[str, Any]) -> None:
        """Hand a frame to every listening screen, and notify about what needs a person."""
        for listener in list(self.listeners):
            listener.post_message(ServerEvent(frame))
        self._notify_about(frame)

    def _notify_about(self, frame: dict[str, Any]) -> None:
        data = frame.get("data")
        if not isinstance(data, dict):
            return
        chat = data.get("chat") or {}
        message = data.get("message") or {}
        kind = frame.get("type")
        name = chat.get("customer_name") or chat.get("customer_phone") or "paciente"
        if kind == "message.created" and message.get("author") == "patient":
            if self.showing_chat() == frame.get("chat_id"):
                return
            preview = (message.get("body") or chat.get("last_message_preview") or "").strip()
            self.alert(Alert(f"Nova mensagem de {name}", preview[:80] or "(anexo)", urgent=False))
        elif (
            kind == "chat.updated"
            and data.get("change") == "mode_changed"
            and chat.get("mode") == "human"
            and chat.get("urgent")
        ):
            reason = chat.get("handoff_reason") or "a recepcionista virtual passou a conversa"
            self.alert(Alert(f"URGENTE: {name}", reason, urgent=True))

    def alert(self, alert: Alert) -> None:
        """Ring the terminal bell and show a toast (urgent ones in red, for longer)."""
        self.alerts.append(alert)
        del self.alerts[:-100]
        self.bell()
        self.notify(
            alert.text,
            title=alert.title,
            severity="error" if alert.urgent else "information",
            timeout=15 if alert.urgent else 6,
        )

    def showing_chat(self) -> str | None:
        """The chat open on screen, if the inbox is showing."""
        screen = self.screen
        return screen.open_chat_id if isinstance(screen, InboxScreen) else None


ROLE_PT = {"admin": "administração", "manager": "gerência", "secretary": "secretaria"}
