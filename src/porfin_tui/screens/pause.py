"""Small one-question dialogs of the inbox: for how many hours to pause the AI, and which
file to attach."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

DIALOG_CSS = """
{name} {{
    align: center middle;
}}
{name} > Vertical {{
    width: 60;
    max-width: 100%;
    height: auto;
    padding: 1 2;
    border: round $accent;
    background: $surface;
}}
{name} .title {{
    text-style: bold;
    margin-bottom: 1;
}}
{name} .hint {{
    color: $text-muted;
    margin-top: 1;
}}
{name} .error {{
    color: $error;
}}
"""


class _AskDialog(ModalScreen[object]):
    """A title, one input, a hint and an error line; Enter answers, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancelar")]
    TITLE_TEXT = ""
    HINT = "Enter confirma · Esc cancela"
    PLACEHOLDER = ""
    INITIAL = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.TITLE_TEXT, classes="title")
            yield Input(self.INITIAL, placeholder=self.PLACEHOLDER, id="answer")
            yield Label("", id="error", classes="error")
            yield Static(self.HINT, classes="hint")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def fail(self, why: str) -> None:
        """Say why the answer cannot be used."""
        self.query_one("#error", Label).update(why)

    @on(Input.Submitted, "#answer")
    def _answered(self, event: Input.Submitted) -> None:
        event.stop()
        self.answer(event.value.strip())

    def answer(self, value: str) -> None:
        """Each dialog checks the value: ``dismiss`` with what it means, or ``fail`` why not."""
        raise NotImplementedError(f"{type(self).__name__} must say what an answer means")


class PauseDialog(_AskDialog):
    """For how many hours to pause the AI; dismissed with the hours (or None)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PauseDialog")
    TITLE_TEXT = "Pausar a IA por quantas horas?"
    PLACEHOLDER = "horas (1 a 72)"
    INITIAL = "2"
    HINT = "A IA volta a responder sozinha depois. Enter confirma · Esc cancela"

    def answer(self, value: str) -> None:
        try:
            hours = float(value.replace(",", "."))
        except ValueError:
            self.fail("Informe um número de horas, por exemplo 2 ou 1,5.")
            return
        if not 0 < hours <= 72:
            self.fail("Entre alguns minutos e 72 horas.")
            return
        self.dismiss(hours)


class AttachDialog(_AskDialog):
    """Which file to send; dismissed with its path (or None)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AttachDialog")
    TITLE_TEXT = "Anexar arquivo"
    PLACEHOLDER = "caminho do arquivo, ex.: ~/Documentos/orcamento.pdf"
    HINT = "Imagem (JPEG, PNG), PDF, áudio ou vídeo. Enter envia · Esc cancela"

    def answer(self, value: str) -> None:
        if not value:
            self.fail("Informe o caminho do arquivo.")
            return
        path = Path(value).expanduser()
        if not path.is_file():
            self.fail(f"Arquivo não encontrado: {path}")
            return
        self.dismiss(path)
