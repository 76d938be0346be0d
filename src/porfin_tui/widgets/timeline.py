"""The open chat's messages (center), newest at the bottom, one block per message: who wrote
it and when, the text or the file, and for the clinic's messages the delivery ticks (with the
reason when WhatsApp refused one).

Only the newest page is loaded when a chat opens; scrolling to the top asks for the page
before it, which is put above without moving what is on screen. The messages are drawn as
one renderable (each message's block is kept and only redrawn when that message changes):
one widget instead of one per message keeps opening a chat cheap.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.padding import Padding
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Static

from porfin_tui.widgets.format import AUTHORS, attachment, clock_time, failure, ticks

MessageDict = dict[str, Any]
INDENT = 6
"""Columns the other side's messages are pushed in by: patient left, clinic right."""
EMPTY = "Escolha uma conversa à esquerda (Enter)."


def render_message(message: MessageDict, zone: tzinfo | None, now: datetime, me: str) -> Text:
    """A message as lines of text."""
    author = message.get("author") or ""
    label = AUTHORS.get(author, author)
    if author == "staff" and me and message.get("author_id") == me:
        label = "equipe (você)"
    when = clock_time(message.get("sent_at") or message.get("created_at"), zone, now)
    text = Text()
    style = "bold cyan" if message.get("direction") == "inbound" else "bold magenta"
    text.append(label, style=style)
    text.append(f" · {when}", style="dim")
    if message.get("direction") == "outbound":
        text.append("  ")
        text.append_text(ticks(message))
    file = attachment(message)
    if file:
        text.append("\n")
        text.append(file, style="italic")
    body = message.get("body")
    if body:
        text.append("\n")
        text.append(body)
    if message.get("status") == "failed":
        text.append("\n")
        text.append(f"✗ não entregue: {failure(message)}", style="bold red")
    media_error = (message.get("extra") or {}).get("media_error")
    if media_error:
        text.append("\n")
        text.append(f"arquivo indisponível: {media_error}", style="red")
    return text


class Timeline(VerticalScroll):
    """The messages of one chat.

    The screen sets ``zone``, ``now`` and ``me`` and calls :meth:`show`, :meth:`add_older`,
    :meth:`upsert` and :meth:`clear`; it hears :class:`NeedOlder` when the top is reached and
    older messages exist.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "timeline--inbound",
        "timeline--outbound",
        "timeline--failed",
    }

    DEFAULT_CSS = """
    Timeline {
        height: 1fr;
        padding: 0 1;
        scrollbar-size-vertical: 1;
    }
    Timeline > .timeline--inbound {
        background: $boost;
    }
    Timeline > .timeline--outbound {
        background: $primary 20%;
    }
    Timeline > .timeline--failed {
        background: $error 20%;
    }
    Timeline #older, Timeline #messages {
        width: 1fr;
        height: auto;
    }
    Timeline #older {
        color: $text-muted;
        text-align: center;
    }
    """

    class NeedOlder(Message):
        """The top was reached and older messages exist."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.zone: tzinfo | None = None
        self.now: datetime = datetime.now().astimezone()
        self.me = ""
        self.has_older = False
        self.loading_older = False
        self._messages: dict[str, MessageDict] = {}
        self._order: list[str] = []  # oldest first
        self._blocks: dict[str, RenderableType] = {}
        self._styles: dict[str, Style] = {}

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="older")
        yield Static(EMPTY, id="messages")

    def on_mount(self) -> None:
        self.query_one("#older").display = False
        self.anchor()

    # -- what the screen tells it ---------------------------------------------------------

    def clear(self, note: str = EMPTY) -> None:
        """Nothing open."""
        self._reset()
        self.has_older = False
        self.query_one("#older").display = False
        self.query_one("#messages", Static).update(Text(note, style="dim"))

    def show(self, newest_first: list[MessageDict], has_older: bool) -> None:
        """A chat was opened: its newest page."""
        self._reset()
        self.has_older = has_older
        self.loading_older = False
        for message in reversed(newest_first):
            self._keep(message)
            self._order.append(message["id"])
        self._show_older()
        self._redraw(note="Nenhuma mensagem ainda.")
        self.anchor()
        self.scroll_end(animate=False, immediate=True)

    def add_older(self, newest_first: list[MessageDict], has_older: bool) -> None:
        """The page before the first one shown, put above it keeping the view still."""
        self.has_older = has_older
        self.loading_older = False
        fresh = [m for m in reversed(newest_first) if m["id"] not in self._messages]
        for message in fresh:
            self._keep(message)
        self._order[:0] = [m["id"] for m in fresh]
        before = self.virtual_size.height
        self._show_older()
        if fresh:
            self._redraw()

            def keep_place() -> None:
                grown = self.virtual_size.height - before
                self.scroll_to(y=self.scroll_y + grown, animate=False, immediate=True)

            self.call_after_refresh(keep_place)

    def upsert(self, message: MessageDict) -> None:
        """A message arrived or changed (its status): replace it by id, or add it at the end."""
        known = message["id"] in self._messages
        self._keep(message)
        if not known:
            self._order.append(message["id"])
        self._redraw()
        if not known and message.get("direction") == "outbound":
            self.scroll_end(animate=False)  # what the clinic just sent is shown, always

    def message(self, message_id: str) -> MessageDict | None:
        """A shown message by id."""
        return self._messages.get(message_id)

    @property
    def count(self) -> int:
        """How many messages are shown."""
        return len(self._order)

    @property
    def text(self) -> list[str]:
        """Each message's block as plain text, oldest first (for tests and screen readers)."""
        return [self._plain(i) for i in self._order]

    # -- drawing --------------------------------------------------------------------------

    def _reset(self) -> None:
        self._messages, self._order, self._blocks = {}, [], {}
        self._styles = {
            name: self.get_component_rich_style(f"timeline--{name}", partial=True)
            for name in ("inbound", "outbound", "failed")
        }

    def _keep(self, message: MessageDict) -> None:
        self._messages[message["id"]] = message
        self._blocks[message["id"]] = self._block(message)

    def _block(self, message: MessageDict) -> RenderableType:
        text = render_message(message, self.zone, self.now, self.me)
        outbound = message.get("direction") == "outbound"
        kind = "outbound" if outbound else "inbound"
        if message.get("status") == "failed":
            kind = "failed"
        inner = Padding(text, (0, 1), style=self._styles.get(kind, ""), expand=True)
        return Padding(inner, (0, 0, 0, INDENT) if outbound else (0, INDENT, 0, 0))

    def _plain(self, message_id: str) -> str:
        return render_message(self._messages[message_id], self.zone, self.now, self.me).plain

    def _redraw(self, note: str = "") -> None:
        messages = self.query_one("#messages", Static)
        if not self._order:
            messages.update(Text(note, style="dim"))
            return
        messages.update(Group(*(self._blocks[i] for i in self._order)))

    def _show_older(self) -> None:
        older = self.query_one("#older", Static)
        older.display = True
        older.update(
            "↑ mensagens anteriores: role para cima ou tecle O"
            if self.has_older
            else "— início da conversa —"
        )

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 and old_value > 0 and self.has_older and not self.loading_older:
            self.post_message(self.NeedOlder())
