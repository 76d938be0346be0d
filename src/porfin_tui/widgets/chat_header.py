"""The line above the open chat: who, and who answers now (the AI, paused, a person)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import Static

from porfin_tui.widgets.format import chat_name, clock_time, phone, waited


def render_header(chat: dict[str, Any] | None, me: str, zone: tzinfo | None, now: datetime) -> Text:
    """Name and phone on the first line; the AI switch, the person in charge, the wait and
    the 24-hour window on the second."""
    if chat is None:
        return Text("Nenhuma conversa aberta", style="dim")
    text = Text()
    if chat.get("urgent"):
        text.append("URGENTE ", style="bold reverse red")
    text.append(chat_name(chat), style="bold")
    number = phone(chat.get("customer_phone"))
    if number and number != chat_name(chat):
        text.append(f"  {number}", style="dim")
    text.append("\n")
    mode = chat.get("effective_mode") or chat.get("mode")
    if mode == "ai":
        text.append("IA: (•) ligada", style="bold green")
    elif mode == "paused":
        until = clock_time(chat.get("paused_until"), zone, now)
        text.append(f"IA: pausada até {until}", style="bold yellow")
    else:
        text.append("IA: ( ) desligada", style="bold")
    assignee = chat.get("assignee_id")
    if assignee is None:
        text.append(" · sem responsável", style="dim")
    elif assignee == me:
        text.append(" · com você")
    else:
        text.append(" · com outra pessoa", style="dim")
    if chat.get("waiting_since"):
        text.append(f" · aguardando {waited(chat['waiting_since'], now)}", style="bold yellow")
    if chat.get("status") == "closed":
        text.append(" · fechada", style="dim")
    if not chat.get("window_open"):
        text.append(" · janela 24 h fechada", style="bold red")
    return text


class ChatHeader(Static):
    """Who the chat is with and who answers it. The screen calls :meth:`show`."""

    DEFAULT_CSS = """
    ChatHeader {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $panel;
    }
    """

    def show(
        self, chat: dict[str, Any] | None, me: str, zone: tzinfo | None, now: datetime
    ) -> None:
        """Show ``chat`` (None: nothing open)."""
        self.update(render_header(chat, me, zone, now))
