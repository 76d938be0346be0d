"""The template picker: outside WhatsApp's 24-hour window only an approved template is
delivered. Choose one, fill its parameters ({{1}}, {{2}}...) and send."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

PARAMETER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def template_text(template: dict[str, Any]) -> str:
    """The template's body text, whatever the provider called it."""
    for key in ("body", "text", "content", "preview"):
        value = template.get(key)
        if isinstance(value, str) and value:
            return value
    for component in template.get("components") or []:
        if isinstance(component, dict) and str(component.get("type", "")).lower() == "body":
            return str(component.get("text") or "")
    return ""


def parameter_names(template: dict[str, Any]) -> list[str]:
    """The placeholders to fill (``1``, ``2``...), in order of first appearance."""
    seen: list[str] = []
    for name in PARAMETER.findall(template_text(template)):
        if name not in seen:
            seen.append(name)
    count = template.get("parameters")  # how many values the API says it takes
    if isinstance(count, int) and not isinstance(count, bool) and count > len(seen):
        return [str(i) for i in range(1, count + 1)]
    return seen


class TemplatePicker(ModalScreen[dict[str, Any] | None]):
    """Dismissed with ``{"name", "language", "parameters"}`` to send, or None.

    Args:
        templates: The channel's approved templates as the API lists them.
        name: The patient's name, offered as the first parameter.
    """

    DEFAULT_CSS = """
    TemplatePicker {
        align: center middle;
    }
    TemplatePicker > Vertical {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        padding: 0 1;
        border: round $accent;
        background: $surface;
    }
    TemplatePicker .title {
        text-style: bold;
    }
    TemplatePicker #templates {
        height: auto;
        max-height: 8;
    }
    TemplatePicker #preview {
        height: auto;
        max-height: 6;
        margin: 1 0 0 0;
        color: $text-muted;
    }
    TemplatePicker #parameters {
        height: auto;
    }
    TemplatePicker .hint {
        color: $text-muted;
    }
    TemplatePicker #error {
        color: $error;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancelar"),
        Binding("ctrl+s", "send", "Enviar modelo"),
    ]

    def __init__(self, templates: list[dict[str, Any]], name: str = "") -> None:
        super().__init__()
        self.templates = templates
        self.patient = name
        self.chosen: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Enviar modelo aprovado pelo WhatsApp", classes="title")
            if not self.templates:
                yield Static("Este número não tem modelos aprovados.", id="preview")
            yield OptionList(
                *(
                    Option(
                        Text.assemble((t.get("name", "?"), "bold"), f"  {t.get('language', '')}"),
                        id=str(i),
                    )
                    for i, t in enumerate(self.templates)
                ),
                id="templates",
            )
            if self.templates:
                yield Static("", id="preview")
            yield Vertical(id="parameters")
            yield Label("", id="error")
            yield Static("Enter escolhe/avança · Ctrl+S envia · Esc cancela", classes="hint")

    def on_mount(self) -> None:
        options = self.query_one("#templates", OptionList)
        options.focus()
        if self.templates:
            options.highlighted = 0

    @on(OptionList.OptionHighlighted, "#templates")
    async def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        await self._choose(self.templates[int(event.option.id or 0)])

    @on(OptionList.OptionSelected, "#templates")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        inputs = list(self.query("#parameters Input").results(Input))
        if inputs:
            inputs[0].focus()
        else:
            self.action_send()

    async def _choose(self, template: dict[str, Any]) -> None:
        self.chosen = template
        self.query_one("#preview", Static).update(template_text(template) or "(sem prévia)")
        box = self.query_one("#parameters", Vertical)
        await box.remove_children()
        names = parameter_names(template)
        await box.mount_all(
            Input(
                self.patient if i == 0 and self.patient else "",
                placeholder=f"{{{{{name}}}}}",
                compact=True,
                classes="parameter",
            )
            for i, name in enumerate(names)
        )

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        event.stop()
        inputs = list(self.query("#parameters Input").results(Input))
        position = inputs.index(event.input) if event.input in inputs else -1
        if 0 <= position < len(inputs) - 1:
            inputs[position + 1].focus()
        else:
            self.action_send()

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_send(self) -> None:
        if self.chosen is None:
            self.query_one("#error", Label).update("Escolha um modelo.")
            return
        values = [i.value.strip() for i in self.query("#parameters Input").results(Input)]
        if any(not value for value in values):
            self.query_one("#error", Label).update("Preencha todos os parâmetros.")
            return
        self.dismiss(
            {
                "name": self.chosen.get("name"),
                "language": self.chosen.get("language"),
                "parameters": values,
            }
        )
