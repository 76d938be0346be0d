"""Login: e-mail, password and, when the account has two-step verification, the code."""

from __future__ import annotations

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from porfin_tui.api import ApiError


class LoginScreen(Screen[bool]):
    """Asks for the credentials; dismissed with True once logged in."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("ctrl+q", "app.quit", "Sair")]

    def __init__(self, email: str | None = None, error: str | None = None) -> None:
        super().__init__()
        self.email = email or ""
        self.error = error or ""

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="login"):
            yield Static("Entrar no Porfin", id="login-title")
            yield Label(f"Servidor: {self.app.api.base_url}", id="login-server")  # type: ignore[attr-defined]
            yield Input(self.email, placeholder="e-mail", id="email")
            yield Input(placeholder="senha", password=True, id="password")
            yield Input(placeholder="código de 6 dígitos do autenticador", id="otp", max_length=12)
            yield Button("Entrar", id="enter", variant="primary")
            yield Label(self.error, id="login-error")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#otp").display = False
        self.query_one("#password" if self.email else "#email", Input).focus()

    @on(Input.Submitted)
    def _next_field(self, event: Input.Submitted) -> None:
        if event.input.id == "email":
            self.query_one("#password", Input).focus()
        else:
            self.submit()

    @on(Button.Pressed, "#enter")
    def _pressed(self) -> None:
        self.submit()

    @work(exclusive=True)
    async def submit(self) -> None:
        email = self.query_one("#email", Input).value.strip()
        password = self.query_one("#password", Input).value
        otp_input = self.query_one("#otp", Input)
        error = self.query_one("#login-error", Label)
        if not email or not password:
            error.update("Informe e-mail e senha.")
            return
        error.update("Entrando…")
        try:
            await self.app.api.log_in(email, password, otp_input.value.strip() or None)  # type: ignore[attr-defined]
        except ApiError as exc:
            if exc.code == "mfa_required":
                otp_input.display = True
                otp_input.focus()
                error.update("Digite o código do seu aplicativo autenticador.")
            elif exc.status == 401:
                error.update("E-mail, senha ou código incorretos.")
            else:
                error.update(f"Não foi possível entrar: {exc.detail}")
            return
        self.dismiss(True)
