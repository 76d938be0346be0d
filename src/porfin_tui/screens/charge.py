"""Cobrança PIX: issue a charge and send its PIX code in the patient's chat
(``POST /api/v1/charges``), optionally as the deposit of one of their appointments, and see
the patient's charges, paid or pending. Opened from a chat with ``c``."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Footer, Input, Label, Select, Static

from porfin_tui.api import ApiError
from porfin_tui.ptbr import (
    CHARGE_STATUS,
    instant,
    parse_reais,
    problem_text,
    reais,
    short_day,
)
from porfin_tui.screens.booking import CustomerPicker, api_of

if TYPE_CHECKING:
    from porfin_tui.app import ServerEvent

CHARGE_STYLE = {"paid": "green", "pending": "yellow", "expired": "red", "cancelled": "dim"}
FIELD_PROBLEMS = {
    "pix_key": "A clínica ainda não tem chave PIX cadastrada (a administração configura).",
    "amount_cents": "Valor inválido.",
    "description": "Descrição inválida (até 140 caracteres).",
    "appointment_id": "Essa consulta não é deste paciente.",
}


class ChargeDialog(ModalScreen[dict[str, Any] | None]):
    """Create and send a PIX charge; dismissed with the last charge issued (None: none).

    Args:
        customer_id: The patient (None: search one here).
        chat_id: The conversation to send it in (default: the patient's latest).
        customer_name: The patient's name, for the title.
    """

    HELP_TITLE = "Cobrança PIX"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Fechar"),
        Binding("ctrl+s", "send", "Enviar cobrança"),
        Binding("ctrl+y", "copy_code", "Copiar código PIX"),
        Binding("f5", "refresh", "Atualizar cobranças"),
    ]
    DEFAULT_CSS = """
    ChargeDialog { align: center middle; }
    ChargeDialog #charge-box {
        width: 80; max-width: 100%; height: 100%; max-height: 36;
        padding: 0 1; border: round $accent; background: $surface;
    }
    ChargeDialog #charge-title { text-style: bold; height: 1; margin-bottom: 1; }
    ChargeDialog .field { height: 1; margin-bottom: 1; }
    ChargeDialog .field Label { width: 12; color: $text-muted; }
    ChargeDialog .field Input, ChargeDialog .field Select { width: 1fr; }
    ChargeDialog #charge-status { height: auto; color: $warning; }
    ChargeDialog #pix-code { height: auto; margin: 0 0 1 0; color: $text; }
    ChargeDialog #charges-title { height: 1; text-style: bold; }
    ChargeDialog #charges { height: 1fr; min-height: 3; }
    """

    def __init__(
        self, customer_id: str | None = None, chat_id: str | None = None, customer_name: str = ""
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.chat_id = chat_id
        self.customer_name = customer_name
        self.br_code: str | None = None
        self.issued: dict[str, Any] | None = None
        self.types: dict[str, dict[str, Any]] = {}
        self.appointments: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="charge-box"):
            yield Static(self._title(), id="charge-title")
            if self.customer_id is None:
                yield CustomerPicker()
            with Horizontal(classes="field"):
                yield Label("Valor (R$)")
                yield Input(placeholder="150,00", id="amount", compact=True, max_length=20)
            with Horizontal(classes="field"):
                yield Label("Descrição")
                yield Input(
                    placeholder="ex.: Sinal da consulta (o paciente vê)",
                    id="description",
                    compact=True,
                    max_length=140,
                )
            with Horizontal(classes="field"):
                yield Label("Consulta")
                yield Select[str](
                    [("Nenhuma (cobrança avulsa)", "")],
                    value="",
                    allow_blank=False,
                    id="appointment",
                    compact=True,
                )
            yield Static("Ctrl+S cria a cobrança e envia o PIX no chat.", id="charge-status")
            yield Static("", id="pix-code")
            yield Static("Cobranças do paciente", id="charges-title")
            table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True, id="charges")
            table.add_column("Criada", key="created")
            table.add_column("Descrição", key="description")
            table.add_column("Valor", key="amount")
            table.add_column("Situação", key="status")
            yield table
        yield Footer()

    def _title(self) -> str:
        return f"Cobrança PIX · {self.customer_name}" if self.customer_name else "Cobrança PIX"

    def on_mount(self) -> None:
        self.app.listeners.add(self)  # type: ignore[attr-defined]
        self.query_one("#pix-code").display = False
        if self.customer_id is None:
            self.query_one("#customer-search").focus()
        else:
            self.query_one("#amount").focus()
        self.load()

    def on_unmount(self) -> None:
        self.app.listeners.discard(self)  # type: ignore[attr-defined]

    def on_server_event(self, event: ServerEvent) -> None:
        if event.type.startswith("charge.") and event.frame.get("customer_id") == self.customer_id:
            self.load_charges()

    @on(CustomerPicker.Chosen)
    def _chosen(self, event: CustomerPicker.Chosen) -> None:
        self.customer_id = event.customer["id"]
        self.customer_name = event.customer.get("name") or event.customer.get("phone") or ""
        self.query_one("#charge-title", Static).update(self._title())
        self.query_one(CustomerPicker).display = False
        self.query_one("#amount").focus()
        self.load()

    @on(Select.Changed, "#appointment")
    def _appointment_chosen(self, event: Select.Changed) -> None:
        appointment = self.appointments.get(str(event.value))
        if appointment is None:
            return
        kind = self.types.get(appointment["type_id"], {})
        amount = self.query_one("#amount", Input)
        if not amount.value and kind.get("price_cents"):
            amount.value = reais(kind["price_cents"]).removeprefix("R$ ")
        description = self.query_one("#description", Input)
        if not description.value:
            day = short_day(instant(appointment["start"]).date())
            description.value = f"Sinal: {kind.get('name', 'consulta')} de {day}"[:140]

    @on(Input.Submitted, "#amount")
    def _amount_done(self) -> None:
        self.query_one("#description").focus()

    @on(Input.Submitted, "#description")
    def _description_done(self) -> None:
        self.send()

    def say(self, text: str) -> None:
        self.query_one("#charge-status", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(self.issued)

    def action_send(self) -> None:
        self.send()

    def action_refresh(self) -> None:
        self.load()

    def action_copy_code(self) -> None:
        if self.br_code:
            self.app.copy_to_clipboard(self.br_code)
            self.notify("Código PIX copiado.")
        else:
            self.notify("Nenhum código PIX ainda: crie a cobrança (Ctrl+S).", severity="warning")

    # -- loading -----------------------------------------------------------------------

    @work(exclusive=True, group="charge-load")
    async def load(self) -> None:
        if self.customer_id is None:
            return
        api = api_of(self)
        try:
            clinic, types, appointments = await asyncio.gather(
                api.get("/api/v1/clinic"),
                api.get("/api/v1/appointment-types", inactive="true"),
                api.get(
                    "/api/v1/appointments",
                    customer_id=self.customer_id,
                    include_cancelled="false",
                ),
            )
        except ApiError as exc:
            self.say(problem_text(exc))
            return
        self.types = {t["id"]: t for t in types}
        zone = ZoneInfo(clinic.get("timezone") or "America/Sao_Paulo")
        now = self.app.now()  # type: ignore[attr-defined]
        upcoming = [
            a
            for a in appointments
            if a["status"] in ("requested", "confirmed") and instant(a["end"]) > now
        ]
        self.appointments = {a["id"]: a for a in upcoming}
        options: list[tuple[str, str]] = [("Nenhuma (cobrança avulsa)", "")]
        for appointment in upcoming:
            start = instant(appointment["start"]).astimezone(zone)
            kind = self.types.get(appointment["type_id"], {}).get("name", "consulta")
            paid = " · sinal pago" if appointment.get("deposit_paid_at") else ""
            options.append(
                (f"{kind} · {short_day(start.date())} {start:%H:%M}{paid}", appointment["id"])
            )
        self.query_one("#appointment", Select).set_options(options)
        self.load_charges()

    @work(exclusive=True, group="charge-list")
    async def load_charges(self) -> None:
        if self.customer_id is None:
            return
        try:
            charges = await api_of(self).get("/api/v1/charges", customer_id=self.customer_id)
        except ApiError as exc:
            self.say(problem_text(exc))
            return
        table = self.query_one("#charges", DataTable)
        table.clear()
        for charge in charges:
            status = CHARGE_STATUS.get(charge["status"], charge["status"])
            if charge["status"] == "pending" and charge.get("paid_cents"):
                status += f" (pago {reais(charge['paid_cents'])})"
            table.add_row(
                short_day(instant(charge["created_at"]).date()),
                charge["description"],
                reais(charge["amount_cents"]),
                Text(status, style=CHARGE_STYLE.get(charge["status"], "")),
                key=charge["id"],
            )
        pending = sum(
            c["amount_cents"] - c.get("paid_cents", 0) for c in charges if c["status"] == "pending"
        )
        title = f"Cobranças do paciente ({len(charges)})"
        if pending:
            title += f" · em aberto: {reais(pending)}"
        self.query_one("#charges-title", Static).update(title)

    # -- issuing -----------------------------------------------------------------------

    @work(exclusive=True, group="charge-send")
    async def send(self) -> None:
        if self.customer_id is None:
            self.say("Escolha o paciente primeiro.")
            return
        try:
            amount = parse_reais(self.query_one("#amount", Input).value)
        except ValueError:
            self.say("Valor inválido: digite em reais, por exemplo 150,00.")
            self.query_one("#amount").focus()
            return
        description = self.query_one("#description", Input).value.strip()
        if not description:
            self.say("Escreva a descrição que o paciente vai ver.")
            self.query_one("#description").focus()
            return
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "amount_cents": amount,
            "description": description,
        }
        appointment = self.query_one("#appointment", Select).value
        if isinstance(appointment, str) and appointment:
            body["appointment_id"] = appointment
        if self.chat_id:
            body["chat_id"] = self.chat_id
        self.say("Criando a cobrança…")
        try:
            charge = await api_of(self).post("/api/v1/charges", body)
        except ApiError as exc:
            field = _field_of(exc)
            self.say(FIELD_PROBLEMS.get(field, problem_text(exc)))
            return
        self.issued = charge
        self.br_code = charge.get("br_code")
        code = self.query_one("#pix-code", Static)
        if charge.get("payment_url") and not self.br_code:
            code.update(f"Link de pagamento: {charge['payment_url']}")
        elif self.br_code:
            code.update(Text.assemble(("PIX copia e cola (Ctrl+Y copia):\n", "bold"), self.br_code))
        else:
            code.update("O código PIX ainda está sendo gerado; ele será enviado no chat.")
        code.display = True
        if charge.get("chat_id"):
            who = self.customer_name or "paciente"
            self.say(f"Cobrança de {reais(amount)} enviada no chat de {who}.")
        else:
            self.say(
                f"Cobrança de {reais(amount)} criada, mas não enviada: o paciente não tem "
                "conversa ativa ou a janela de 24 h está fechada. Copie o código (Ctrl+Y)."
            )
        self.query_one("#amount", Input).value = ""
        self.query_one("#description", Input).value = ""
        self.load_charges()


def _field_of(exc: ApiError) -> str:
    """The field a ``422`` names (RFC 9457 ``errors``/``field`` extensions)."""
    problem = exc.problem
    if problem.get("field"):
        return str(problem["field"])
    for error in problem.get("errors") or problem.get("invalid_params") or []:
        if isinstance(error, dict):
            name = error.get("field") or error.get("name") or error.get("key")
            if name:
                return str(name)
    return ""
