"""The list of chats (left column): a search box, the filter in force and one two-line row per
chat, a page at a time.

It holds only the pages loaded so far (50 chats each) and asks for the next one when the
cursor or the scroll reaches the end, so 10,000 chats cost no more than the ones on screen.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from porfin_tui.widgets.format import chat_name, parse_time, waited

Chat = dict[str, Any]

FILTERS: tuple[tuple[str, str], ...] = (
    ("all", "todas"),
    ("waiting", "aguardando"),
    ("mine", "minhas"),
    ("unassigned", "sem responsável"),
    ("ai", "IA"),
    ("unread", "não lidas"),
)
FILTER_NAMES = dict(FILTERS)
PAGE = 50
EMPTY_LIST = "Nenhuma conversa aqui."
NEAR_END = 5


def _spread(left: Text, right: Text, width: int) -> Text:
    """``left`` cut to fit, then ``right`` against the right edge: one line of ``width``."""
    room = width - right.cell_len - (1 if right.cell_len else 0)
    left = left.copy()
    left.truncate(max(room, 1), overflow="ellipsis", pad=True)
    line = Text()
    line.append_text(left)
    if right.cell_len:
        line.append(" ")
        line.append_text(right)
    line.truncate(width)
    return line


def filter_params(name: str, me: str) -> dict[str, Any]:
    """The ``GET /api/v1/chats`` query of a filter."""
    return {
        "all": {},
        "waiting": {"waiting": "true"},
        "mine": {"assignee": me},
        "unassigned": {"unassigned": "true"},
        "ai": {"mode": "ai"},
        "unread": {"unread": "true"},
    }[name]


def matches(name: str, chat: Chat, me: str) -> bool:
    """Whether ``chat`` belongs in the list filtered by ``name`` (for live changes)."""
    if name == "waiting":
        return bool(chat.get("waiting_since"))
    if name == "mine":
        return bool(chat.get("assignee_id") == me)
    if name == "unassigned":
        return chat.get("assignee_id") is None
    if name == "ai":
        return bool(chat.get("mode") == "ai")
    if name == "unread":
        return int(chat.get("unread_count") or 0) > 0
    return True


def sort_key(name: str) -> Callable[[Chat], float]:
    """The server's order of a filter: oldest wait first, else latest activity first."""
    if name == "waiting":
        return lambda chat: _stamp(chat.get("waiting_since"))
    return lambda chat: -_stamp(chat.get("last_message_at"))


def _stamp(value: Any) -> float:
    moment = parse_time(value)
    return moment.timestamp() if moment else float("inf")


class ChatList(Vertical):
    """Search box, filter line and the chats.

    The screen sets ``now`` and ``me`` (the user's id), and calls :meth:`show`, :meth:`extend`,
    :meth:`upsert` and :meth:`drop`. It hears :class:`Opened`, :class:`EndReached` and
    :class:`SearchChanged`.
    """

    DEFAULT_CSS = """
    ChatList {
        width: 30;
        height: 1fr;
        border-right: solid $panel-lighten-2;
    }
    ChatList #search {
        margin: 0 0 0 0;
    }
    ChatList #filter {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    ChatList #chats {
        height: 1fr;
        scrollbar-gutter: stable;
        scrollbar-size-vertical: 1;
        border: none;
        padding: 0;
        background: $surface;
    }
    ChatList #chats:focus {
        border: none;
    }
    ChatList #chats > .option-list--option {
        padding: 0 1;
    }
    """

    class Opened(Message):
        """The user chose a chat (Enter or click)."""

        def __init__(self, chat_id: str) -> None:
            super().__init__()
            self.chat_id = chat_id

    class EndReached(Message):
        """The cursor or the scroll reached the last chats loaded: time for the next page."""

    class SearchChanged(Message):
        """The search text was submitted (Enter) or settled after typing."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    SEARCH_DELAY: ClassVar[float] = 0.4

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now: datetime | None = None
        self.me = ""
        self.filter = "all"
        self.more = False
        self._chats: list[Chat] = []
        self._by_id: dict[str, Chat] = {}
        self._typing_timer: Any = None
        self._open_id: str | None = None
        self._laid_out_width = 0

    def compose(self) -> ComposeResult:
        yield Input(placeholder="buscar nome, fone ou texto", id="search", compact=True)
        yield Static(id="filter")
        yield OptionList(id="chats")

    def on_mount(self) -> None:
        chats = self.query_one("#chats", OptionList)
        self.watch(chats, "scroll_y", self._scrolled, init=False)
        self._show_filter()

    # -- what the screen tells it ---------------------------------------------------------

    @property
    def chats(self) -> list[Chat]:
        """The chats loaded, in order."""
        return self._chats

    def get(self, chat_id: str) -> Chat | None:
        """A loaded chat by id."""
        return self._by_id.get(chat_id)

    def set_filter(self, name: str, search: str) -> None:
        """Show which filter and search are in force (the rows follow with :meth:`show`)."""
        self.filter = name
        self._show_filter(search)

    def show(self, chats: list[Chat], more: bool) -> None:
        """Replace the rows with the first page."""
        self._chats = list(chats)
        self._by_id = {chat["id"]: chat for chat in self._chats}
        self.more = more
        options = self.query_one("#chats", OptionList)
        self._fill(options)
        if self._chats:
            options.highlighted = self._index(self._open_id) or 0
        self._show_filter()

    def extend(self, chats: list[Chat], more: bool) -> None:
        """Add the next page (chats already shown are skipped: they moved meanwhile)."""
        fresh = [chat for chat in chats if chat["id"] not in self._by_id]
        if not self._chats:
            self.show(fresh, more)
            return
        self._chats.extend(fresh)
        self._by_id.update((chat["id"], chat) for chat in fresh)
        self.more = more
        self.query_one("#chats", OptionList).add_options(self._option(chat) for chat in fresh)
        self._show_filter()

    def upsert(self, chat: Chat, fits: bool) -> None:
        """A chat changed: update its row, move it to its place, add or remove it.

        Args:
            chat: The chat as the server sent it.
            fits: Whether it belongs in this list (filter and search) now.
        """
        known = chat["id"] in self._by_id
        if not fits:
            if known:
                self.drop(chat["id"])
            return
        key = sort_key(self.filter)
        rest = [c for c in self._chats if c["id"] != chat["id"]]
        place = 0
        while place < len(rest) and key(rest[place]) < key(chat):
            place += 1
        if place == len(rest) and self.more and not known:
            return  # it belongs to a page not loaded yet
        if known and self._index(chat["id"]) == place:
            self._chats[place] = chat
            self._by_id[chat["id"]] = chat
            self.query_one("#chats", OptionList).replace_option_prompt_at_index(
                place, self._row(chat)
            )
            return
        rest.insert(place, chat)
        self._rebuild(rest)

    def drop(self, chat_id: str) -> None:
        """Take a chat out of the list."""
        if chat_id in self._by_id:
            self._rebuild([c for c in self._chats if c["id"] != chat_id])

    def mark_open(self, chat_id: str | None) -> None:
        """Which chat is open (kept highlighted across refreshes)."""
        self._open_id = chat_id

    def refresh_rows(self) -> None:
        """Redraw every row (the waiting times moved on, or the width changed)."""
        self._laid_out_width = self._width
        options = self.query_one("#chats", OptionList)
        for index, chat in enumerate(self._chats):
            options.replace_option_prompt_at_index(index, self._row(chat))

    def focus_list(self) -> None:
        """Put the keyboard on the rows."""
        self.query_one("#chats", OptionList).focus()

    def focus_search(self) -> None:
        """Put the keyboard on the search box."""
        self.query_one("#search", Input).focus()

    @property
    def search_text(self) -> str:
        """What is typed in the search box."""
        return self.query_one("#search", Input).value.strip()

    # -- rows -----------------------------------------------------------------------------

    def _rebuild(self, chats: list[Chat]) -> None:
        options = self.query_one("#chats", OptionList)
        highlighted = options.highlighted_option
        scroll = options.scroll_y
        self._chats = chats
        self._by_id = {chat["id"]: chat for chat in chats}
        self._fill(options)
        index = self._index(highlighted.id if highlighted else None)
        if index is not None:
            options.highlighted = index
        elif chats:
            options.highlighted = 0
        options.scroll_to(y=scroll, animate=False, immediate=True)

    def _fill(self, options: OptionList) -> None:
        if self._chats:
            options.set_options(self._option(chat) for chat in self._chats)
        else:
            options.set_options([Option(Text(EMPTY_LIST, style="dim"), disabled=True)])

    def _index(self, chat_id: str | None) -> int | None:
        if chat_id is None:
            return None
        for index, chat in enumerate(self._chats):
            if chat["id"] == chat_id:
                return index
        return None

    def _option(self, chat: Chat) -> Option:
        self._laid_out_width = self._width
        return Option(self._row(chat), id=chat["id"])

    def _row(self, chat: Chat) -> Text:
        """Two lines: (urgent) name and unread count; preview and the wait (or who answers).

        Laid out to the list's width by hand: a Rich table per row costs a render each time
        the list is drawn.
        """
        width = self._width
        unread = int(chat.get("unread_count") or 0)
        name = Text()
        if chat.get("urgent"):
            name.append("! ", style="bold red")
        name.append(chat_name(chat), style="bold" if unread else "")
        badge = Text(f" {unread} ", style="bold reverse green") if unread else Text()
        preview = Text((chat.get("last_message_preview") or "").replace("\n", " "), style="dim")
        side = Text()
        if chat.get("status") == "closed":
            side.append("fechada", style="dim")
        elif chat.get("waiting_since") and self.now is not None:
            side.append(waited(chat["waiting_since"], self.now), style="bold yellow")
        elif chat.get("effective_mode") == "paused":
            side.append("pausa", style="dim")
        elif chat.get("effective_mode") == "ai":
            side.append("IA", style="dim")
        return Text("\n").join([_spread(name, badge, width), _spread(preview, side, width)])

    @property
    def _width(self) -> int:
        region = self.query_one("#chats", OptionList).scrollable_content_region.width
        return max(region - 2, 12) if region else 26  # 2: the option's padding

    def on_resize(self) -> None:
        if self._chats and self._width != self._laid_out_width:
            self.refresh_rows()

    def _show_filter(self, search: str | None = None) -> None:
        search = self.search_text if search is None else search
        label = f"▸ {FILTER_NAMES[self.filter]}"
        if search:
            label += f" · “{search}”"
        count = f"{len(self._chats)}{'+' if self.more else ''}"
        self.query_one("#filter", Static).update(Text.assemble((label, "bold"), f" ({count})"))

    # -- what the user does ---------------------------------------------------------------

    @on(OptionList.OptionSelected, "#chats")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id:
            self.post_message(self.Opened(event.option.id))

    @on(OptionList.OptionHighlighted, "#chats")
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if self.more and event.option_index >= len(self._chats) - NEAR_END:
            self.post_message(self.EndReached())

    def _scrolled(self, value: float) -> None:
        options = self.query_one("#chats", OptionList)
        if self.more and value >= options.max_scroll_y - 2 and options.max_scroll_y > 0:
            self.post_message(self.EndReached())

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if self._typing_timer is not None:
            self._typing_timer.stop()
        self._typing_timer = self.set_timer(self.SEARCH_DELAY, self._settled)

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._typing_timer is not None:
            self._typing_timer.stop()
            self._typing_timer = None
        self.post_message(self.SearchChanged(event.value.strip()))
        self.focus_list()

    def _settled(self) -> None:
        self._typing_timer = None
        self.post_message(self.SearchChanged(self.search_text))
