"""Where the reply is written (bottom of the chat): Enter sends. Outside WhatsApp's 24-hour
window free text is not delivered, so the box gives way to a note pointing at the template
picker."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static


class Composer(Vertical):
    """The message box. The screen calls :meth:`set_state`; it hears :class:`Send`."""

    DEFAULT_CSS = """
    Composer {
        height: auto;
        border-top: solid $panel-lighten-2;
    }
    Composer #message {
        width: 1fr;
    }
    Composer #closed {
        height: auto;
        padding: 0 1;
        color: $warning;
        display: none;
    }
    Composer.window-closed #closed {
        display: block;
    }
    Composer.window-closed #message {
        display: none;
    }
    """

    class Send(Message):
        """Enter was pressed with text in the box."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def compose(self) -> ComposeResult:
        yield Input(placeholder="Escreva a resposta e tecle Enter", id="message", compact=True)
        yield Static(
            "Janela de 24 h fechada: o WhatsApp só entrega modelos aprovados. "
            "Tecle M para escolher um modelo.",
            id="closed",
        )

    def on_mount(self) -> None:
        self.set_state(open_chat=False, window_open=True)

    def set_state(self, *, open_chat: bool, window_open: bool) -> None:
        """Whether a chat is open and whether its 24-hour window is."""
        box = self.query_one("#message", Input)
        box.disabled = not open_chat
        box.placeholder = (
            "Escreva a resposta e tecle Enter" if open_chat else "Abra uma conversa para responder"
        )
        self.set_class(open_chat and not window_open, "window-closed")

    @property
    def window_closed(self) -> bool:
        """Whether the box shows the closed-window note."""
        return self.has_class("window-closed")

    def focus_box(self) -> bool:
        """Put the keyboard in the box; False when it cannot take text now."""
        box = self.query_one("#message", Input)
        if box.disabled or self.window_closed:
            return False
        box.focus()
        return True

    @property
    def text(self) -> str:
        """What is typed."""
        return self.query_one("#message", Input).value

    @text.setter
    def text(self, value: str) -> None:
        self.query_one("#message", Input).value = value

    @on(Input.Submitted, "#message")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if text:
            self.post_message(self.Send(text))
