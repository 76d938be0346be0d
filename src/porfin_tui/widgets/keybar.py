"""One line of key hints at the bottom of the inbox.

Textual's Footer rebuilds a widget per key whenever the focus moves (the bindings in force
change), which costs the inbox hundreds of milliseconds with its twenty-odd keys; this line is
drawn once. F1 lists every key.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class KeyBar(Static):
    """``F1 Ajuda  n Próxima aguardando  t Assumir ...``.

    Args:
        keys: (key as shown, what it does), most useful first: the line is cut at the edge.
    """

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        width: 1fr;
        background: $footer-background;
        color: $footer-foreground;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(self, keys: list[tuple[str, str]], *, id: str | None = None) -> None:
        parts = [
            Content.assemble((f" {key} ", "bold $footer-key-foreground"), description)
            for key, description in keys
        ]
        super().__init__(Content(" ").join(parts), id=id)
