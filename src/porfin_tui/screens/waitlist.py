"""Lista de espera: who waits for a freed slot (``GET /api/v1/waitlist``), in line order, and
putting a patient on it (``POST /api/v1/waitlist``)."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, DataTable, Footer, Input, Label, Select, Static

from porfin_tui.api import ApiError
from porfin_tui.ptbr import (
    PERIODS,
    WAITLIST_STATUS,
    WEEKDAY_NAMES,
    WEEKDAYS_SHORT,
    instant,
    problem_text,
    short_day,
)
from porfin_tui.screens.booking import (
    BookingDialog,
    CustomerPicker,
    api_of,
    bookable,
    professional_options,
    type_and_professional_fields,
)


def parse_weekdays(text: str) -> list[str]:
    """``seg qua sex`` (or ``segunda, quarta``) as the API's weekday names; ValueError."""
    names: list[str] = []
    for word in text.replace(",", " ").lower().split():
        prefix = word[:3].replace("á", "a")
        short = [w.replace("á", "a") for w in WEEKDAYS_SHORT]
        if prefix not in short:
            raise ValueError(word)
        name = WEEKDAY_NAMES[short.index(prefix)]
        if name not in names:
            names.append(name)
    return names


class WaitlistDialog(ModalScreen[dict[str, Any] | None]):
    """Put a patient on the waitlist for a type, with what suits them. Dismissed with the
    entry (None: closed)."""

    HELP_TITLE = "Incluir na lista de espera"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Fechar"),
        Binding("ctrl+s", "save", "Incluir na lista"),
    ]
    DEFAULT_CSS = """
    WaitlistDialog { align: center middle; }
    WaitlistDialog #waitlist-form {
        width: 72; max-width: 100%; height: auto; max-height: 100%;
        padding: 0 1; border: round $accent; background: $surface;
    }
    WaitlistDialog #waitlist-form-title { text-style: bold; margin-bottom: 1; }
    WaitlistDialog .field { height: 1; margin-bottom: 1; }
    WaitlistDialog .field Label { width: 14; color: $text-muted; }
    WaitlistDialog .field Select, WaitlistDialog .field Input { width: 1fr; }
    WaitlistDialog #periods { height: 1; margin-bottom: 1; }
    WaitlistDialog #periods Label { width: 14; color: $text-muted; }
    WaitlistDialog #periods Checkbox { width: auto; margin-right: 2; }
    WaitlistDialog #waitlist-patient { height: auto; margin-bottom: 1; }
    WaitlistDialog #waitlist-status { color: $warning; height: auto; }
    """

    def __init__(self, customer_id: str | None = None, customer_name: str = "") -> None:
        super().__init__()
        self.customer_id = customer_id
        self.customer_name = customer_name

    def compose(self) -> ComposeResult:
        with Vertical(id="waitlist-form"):
            yield Static("Incluir na lista de espera", id="waitlist-form-title")
            yield Static(f"Paciente: {self.customer_name or '—'}", id="waitlist-patient")
            if self.customer_id is None:
                yield CustomerPicker()
            yield from type_and_professional_fields("wl-type", "wl-professional")
            with Horizontal(id="periods"):
                yield Label("Períodos")
                for key, name in PERIODS.items():
                    yield Checkbox(name, id=f"period-{key}", compact=True)
            with Horizontal(classes="field"):
                yield Label("Dias")
                yield Input(
                    placeholder="ex.: seg qua sex (vazio: qualquer)", id="wl-days", compact=True
                )
            with Horizontal(classes="field"):
                yield Label("Observação")
                yield Input(placeholder="opcional", id="wl-notes", compact=True, max_length=2000)
            yield Static("Ctrl+S inclui · Esc fecha", id="waitlist-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#customer-search" if self.customer_id is None else "#wl-type").focus()
        self.load()

    @work(exclusive=True)
    async def load(self) -> None:
        api = api_of(self)
        try:
            types, professionals = await bookable(api)
        except ApiError as exc:
            self.say(problem_text(exc))
            return
        self.query_one("#wl-type", Select).set_options((t["name"], t["id"]) for t in types)
        if len(types) == 1:
            self.query_one("#wl-type", Select).value = types[0]["id"]
        self.query_one("#wl-professional", Select).set_options(professional_options(professionals))

    @on(CustomerPicker.Chosen)
    def _chosen(self, event: CustomerPicker.Chosen) -> None:
        self.customer_id = event.customer["id"]
        self.customer_name = event.customer.get("name") or event.customer.get("phone") or ""
        self.query_one("#waitlist-patient", Static).update(f"Paciente: {self.customer_name}")
        self.query_one(CustomerPicker).display = False
        self.query_one("#wl-type").focus()

    def say(self, text: str) -> None:
        self.query_one("#waitlist-status", Static).update(text)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_save(self) -> None:
        self.save()

    @work(exclusive=True, group="waitlist-save")
    async def save(self) -> None:
        kind = self.query_one("#wl-type", Select).value
        professional = self.query_one("#wl-professional", Select).value
        if self.customer_id is None:
            self.say("Escolha o paciente.")
            return
        if not isinstance(kind, str):
            self.say("Escolha o tipo de atendimento.")
            return
        try:
            weekdays = parse_weekdays(self.query_one("#wl-days", Input).value)
        except ValueError as exc:
            self.say(f"Dia não reconhecido: {exc}. Use seg, ter, qua, qui, sex, sáb, dom.")
            return
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "type_id": kind,
            "periods": [k for k in PERIODS if self.query_one(f"#period-{k}", Checkbox).value],
            "weekdays": weekdays,
            "notes": self.query_one("#wl-notes", Input).value.strip(),
        }
        if isinstance(professional, str) and professional:
            body["professional_id"] = professional
        try:
            entry = await api_of(self).post("/api/v1/waitlist", body)
        except ApiError as exc:
            self.say(problem_text(exc))
            return
        self.app.notify(self.customer_name or "Paciente", title="Incluído na lista de espera")
        self.dismiss(entry)


class WaitlistScreen(ModalScreen[None]):
    """The line, first in line first."""

    HELP_TITLE = "Lista de espera"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,l", "close", "Fechar"),
        Binding("a", "add", "Incluir paciente"),
        Binding("n", "book", "Agendar para o paciente marcado"),
        Binding("f5", "refresh", "Atualizar"),
    ]
    DEFAULT_CSS = """
    WaitlistScreen { align: center middle; }
    WaitlistScreen #waitlist-box {
        width: 100%; max-width: 120; height: 100%; max-height: 30;
        border: round $accent; background: $surface; padding: 0 1;
    }
    WaitlistScreen #waitlist-title { text-style: bold; height: 1; }
    WaitlistScreen DataTable { height: 1fr; }
    WaitlistScreen #waitlist-note { color: $text-muted; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, dict[str, Any]] = {}
        self.names: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="waitlist-box"):
            yield Static("Lista de espera", id="waitlist-title")
            table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True)
            for label in (
                "Desde",
                "Paciente",
                "Atendimento",
                "Profissional",
                "Prefere",
                "Situação",
            ):
                table.add_column(label)
            yield table
            yield Static("", id="waitlist-note")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_refresh(self) -> None:
        self.load()

    def action_add(self) -> None:
        self.app.push_screen(WaitlistDialog(), self._added)

    def _added(self, entry: dict[str, Any] | None) -> None:
        if entry:
            self.load()

    def action_book(self) -> None:
        table = self.query_one(DataTable)
        if not table.row_count:
            self.query_one("#waitlist-note", Static).update("Ninguém na fila para agendar.")
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        entry = self.entries[str(key)]
        dialog = BookingDialog(
            customer_id=entry["customer_id"],
            customer_name=self.names.get(entry["customer_id"], ""),
            type_id=entry["type_id"],
            professional_id=entry.get("professional_id"),
            waitlist_entry_id=entry["id"] if entry["status"] == "waiting" else None,
        )
        self.app.push_screen(dialog, self._added)

    @work(exclusive=True)
    async def load(self) -> None:
        api = api_of(self)
        note = self.query_one("#waitlist-note", Static)
        try:
            entries, types, professionals, customers = await asyncio.gather(
                api.get("/api/v1/waitlist"),
                api.get("/api/v1/appointment-types", inactive="true"),
                api.get("/api/v1/professionals", inactive="true"),
                api.get("/api/v1/customers", limit=200),
            )
        except ApiError as exc:
            note.update(problem_text(exc))
            return
        type_names = {t["id"]: t["name"] for t in types}
        pro_names = {p["id"]: p["name"] for p in professionals}
        names = {c["id"]: c.get("name") or c.get("phone") or "—" for c in customers["items"]}
        self.names = names
        self.entries = {e["id"]: e for e in entries}
        table = self.query_one(DataTable)
        table.clear()
        for entry in entries:
            likes = [PERIODS[p] for p in entry.get("periods", [])]
            likes += [WEEKDAYS_SHORT[WEEKDAY_NAMES.index(d)] for d in entry.get("weekdays", [])]
            status = WAITLIST_STATUS.get(entry["status"], entry["status"])
            if entry.get("offered_slot"):
                offered = instant(entry["offered_slot"]["start"])
                status += f" ({short_day(offered.date())})"
            table.add_row(
                short_day(instant(entry["since"]).date()),
                names.get(entry["customer_id"], "paciente"),
                type_names.get(entry["type_id"], "—"),
                pro_names.get(entry.get("professional_id") or "", "qualquer"),
                ", ".join(likes) or "qualquer horário",
                status,
                key=entry["id"],
            )
        count = len(entries)
        note.update(
            f"{count} paciente{'s' if count != 1 else ''} na fila · a inclui · n agenda o marcado"
            if count
            else "Ninguém na lista de espera. a inclui um paciente."
        )
