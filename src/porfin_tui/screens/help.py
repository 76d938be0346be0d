"""Ajuda: every key of the screen underneath and of the app, with what it does."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "question_mark": "?",
    "left": "←",
    "right": "→",
    "up": "↑",
    "down": "↓",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "space": "Espaço",
    "slash": "/",
}


def _key(key: str) -> str:
    """``ctrl+o`` -> ``Ctrl+O``, ``f5`` -> ``F5``, ``n`` -> ``n`` (``N`` would read as Shift+N)."""

    def name(part: str) -> str:
        if part in KEY_NAMES:
            return KEY_NAMES[part]
        return part if len(part) == 1 else part.capitalize() if part in MODIFIERS else part.upper()

    parts = key.split("+")
    if len(parts) > 1:  # the key after a modifier is shown in capitals, as on the keyboard
        return "+".join([*(name(p) for p in parts[:-1]), name(parts[-1]).upper()])
    return name(parts[0])


MODIFIERS = ("ctrl", "shift", "alt")


class HelpScreen(ModalScreen[None]):
    """The keys, in Portuguese: the screen's own, then the app's."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,f1,q", "dismiss", "Fechar"),
    ]

    def __init__(self, under: Screen[object]) -> None:
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        lines = ["[b]Teclas[/b]", ""]
        seen: set[str] = set()
        for title, bindings in (
            (getattr(self.under, "HELP_TITLE", "Nesta tela"), _bindings(self.under)),
            ("Em qualquer tela", _bindings(self.app)),
        ):
            rows = [b for b in bindings if b.show and b.description and b.key not in seen]
            if not rows:
                continue
            lines.append(f"[b]{title}[/b]")
            for binding in rows:
                seen.add(binding.key)
                keys = " / ".join(_key(k) for k in binding.key.split(","))
                lines.append(f"  {keys:<16} {binding.description}")
            lines.append("")
        lines.append("Esc fecha esta ajuda.")
        with VerticalScroll(id="help"):
            yield Static("\n".join(lines), id="help-text")


def _bindings(node: object) -> list[Binding]:
    found: list[Binding] = []
    for item in getattr(node, "BINDINGS", []):
        if isinstance(item, Binding):
            found.append(item)
        elif isinstance(item, tuple):
            found.append(Binding(*item))
    return found
