"""Agenda: a day of the clinic, one column per professional (as many side by side as the
terminal fits; ``p`` shows the next ones), with booking, rescheduling, cancelling and
confirming, the waitlist, and live updates from the server's ``appointment.*`` frames."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Header, Input, Label, Static
from textual.widgets.data_table import CellDoesNotExist

from porfin_tui.api import ApiError
from porfin_tui.ptbr import (
    APPOINTMENT_STATUS,
    hhmm,
    long_day,
    parse_day,
    problem_text,
)
from porfin_tui.screens.booking import BookingDialog, RescheduleDialog, api_of
from porfin_tui.screens.waitlist import WaitlistScreen

if TYPE_CHECKING:
    from porfin_tui.app import ServerEvent

KEYS_HINT = "↑↓ escolhe · n agenda · r remarca · x cancela · l espera · F1 todas as teclas"
COLUMN_WIDTH = 44  # cells a professional's column needs to read well
STATUS_STYLE = {
    "requested": "yellow",
    "confirmed": "green",
    "attended": "cyan",
    "no_show": "red",
    "cancelled": "dim strike",
}


class DateDialog(ModalScreen[date | None]):
    """Ask for a date (dd/mm/aaaa, dd/mm, hoje, amanhã)."""

    HELP_TITLE = "Ir para data"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Fechar")]
    DEFAULT_CSS = """
    DateDialog { align: center middle; }
    DateDialog #date-box {
        width: 44; max-width: 100%; height: auto; padding: 1 2;
        border: round $accent; background: $surface;
    }
    DateDialog #date-error { color: $error; height: auto; }
    """

    def __init__(self, today: date) -> None:
        super().__init__()
        self.today = today

    def compose(self) -> ComposeResult:
        with Vertical(id="date-box"):
            yield Label("Ir para a data (dd/mm/aaaa, dd/mm, hoje, amanhã):")
            yield Input(placeholder="dd/mm/aaaa", id="date-input")
            yield Label("", id="date-error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        try:
            self.dismiss(parse_day(event.value, self.today))
        except ValueError:
            self.query_one("#date-error", Label).update("Data inválida.")

    def action_close(self) -> None:
        self.dismiss(None)


class CancelDialog(ModalScreen[str | None]):
    """Ask why an appointment is cancelled; dismissed with the reason (None: not cancelled)."""

    HELP_TITLE = "Cancelar consulta"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Não cancelar")]
    DEFAULT_CSS = """
    CancelDialog { align: center middle; }
    CancelDialog #cancel-box {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: round $error; background: $surface;
    }
    CancelDialog #cancel-hint { color: $text-muted; }
    """

    def __init__(self, summary: str) -> None:
        super().__init__()
        self.summary = summary

    def compose(self) -> ComposeResult:
        with Vertical(id="cancel-box"):
            yield Static(f"Cancelar {self.summary}?")
            yield Input(placeholder="motivo (opcional)", id="cancel-reason", max_length=200)
            yield Static("Enter cancela a consulta · Esc volta sem cancelar", id="cancel-hint")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_close(self) -> None:
        self.dismiss(None)


class ProfessionalColumn(Vertical):
    """One professional's day: a title and the appointments by start.

    Attributes (set by the screen): :meth:`show` with the column from ``GET /api/v1/agenda``.
    """

    DEFAULT_CSS = """
    ProfessionalColumn { width: 1fr; height: 1fr; border: round $panel; }
    ProfessionalColumn:focus-within { border: round $accent; }
    ProfessionalColumn .column-title { text-style: bold; height: 1; padding: 0 1; }
    ProfessionalColumn .column-empty { color: $text-muted; padding: 0 1; height: auto; }
    ProfessionalColumn DataTable { height: 1fr; }
    """

    def __init__(self, professional_id: str) -> None:
        super().__init__()
        self.professional_id = professional_id
        self.professional_name = ""
        self.appointments: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Static("", classes="column-title")
        table: DataTable[Any] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_column("Hora", key="time")
        table.add_column("Paciente", key="patient")
        table.add_column("Atendimento", key="type")
        table.add_column("Situação", key="status")
        yield table
        yield Static("Nenhuma consulta neste dia.", classes="column-empty")

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one(DataTable)

    def show(self, column: dict[str, Any]) -> None:
        """Show ``column`` (keeping the cursor on the same appointment)."""
        self.professional_name = column["professional_name"]
        items = column.get("appointments", [])
        live = [a for a in items if a.get("status") != "cancelled"]
        title = f"{self.professional_name} · {len(live)} consulta{'s' if len(live) != 1 else ''}"
        if not column.get("active", True):
            title += " (inativo)"
        self.query_one(".column-title", Static).update(title)
        table = self.table
        selected = self.selected
        table.clear()
        self.appointments = {a["id"]: a for a in items}
        for item in items:
            style = STATUS_STYLE.get(item["status"], "")
            dim = "dim" if item["status"] == "cancelled" else ""
            table.add_row(
                Text(f"{hhmm(item['start'])}", style=dim),
                Text(item.get("customer_name") or "—", style=dim),
                Text(item.get("type_name") or "", style=dim),
                Text(APPOINTMENT_STATUS.get(item["status"], item["status"]), style=style),
                key=item["id"],
            )
        if selected and selected["id"] in self.appointments:
            table.move_cursor(row=table.get_row_index(selected["id"]))
        self.query_one(".column-empty").display = not items
        table.display = bool(items)

    @property
    def selected(self) -> dict[str, Any] | None:
        """The appointment under the cursor."""
        table = self.table
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return self.appointments.get(str(key))


class AgendaScreen(Screen[None]):
    """The day's agenda (``GET /api/v1/agenda?date=``)."""

    HELP_TITLE = "Agenda"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "day(-1)", "Dia anterior", priority=True),
        Binding("right", "day(1)", "Dia seguinte", priority=True),
        Binding("h", "today", "Hoje"),
        Binding("g", "go_to", "Ir para data"),
        Binding("n", "book", "Agendar"),
        Binding("r", "reschedule", "Remarcar"),
        Binding("x", "cancel", "Cancelar consulta"),
        Binding("c", "confirm", "Confirmar"),
        Binding("v", "attended", "Compareceu"),
        Binding("f", "no_show", "Faltou"),
        Binding("p", "next_professional", "Próximos profissionais"),
        Binding("l", "waitlist", "Lista de espera"),
        Binding("f5", "refresh", "Atualizar"),
    ]
    DEFAULT_CSS = """
    AgendaScreen #agenda-day { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    AgendaScreen #agenda-status { height: 1; padding: 0 1; color: $text-muted; }
    AgendaScreen #columns { height: 1fr; }
    AgendaScreen #agenda-empty { padding: 1 2; color: $text-muted; height: auto; }
    """

    open_chat_id: str | None = None  # the app asks every screen which chat it shows

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None  # None: today, as the clinic counts it
        self.today: date | None = None
        self.first_column = 0
        self.loaded = False
        self.day_title = "Agenda"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Agenda", id="agenda-day")
        yield Horizontal(id="columns")
        yield Static(
            "Nenhum profissional ativo. A administração cadastra profissionais e horários.",
            id="agenda-empty",
        )
        yield Static("", id="agenda-status")
        yield Footer()

    def on_mount(self) -> None:
        self.app.listeners.add(self)  # type: ignore[attr-defined]
        self.query_one("#agenda-empty").display = False
        self.load()

    def on_unmount(self) -> None:
        self.app.listeners.discard(self)  # type: ignore[attr-defined]

    def on_screen_resume(self) -> None:
        if self.loaded:
            self.load()

    def on_server_event(self, event: ServerEvent) -> None:
        if event.type.startswith("appointment."):
            self.load()

    def on_resize(self, _: Resize) -> None:
        self.arrange_columns()

    # -- loading -----------------------------------------------------------------------

    @work(exclusive=True, group="agenda")
    async def load(self) -> None:
        day = self.day
        try:
            agenda = await api_of(self).get("/api/v1/agenda", date=day.isoformat() if day else None)
        except ApiError as exc:
            self.status(problem_text(exc))
            return
        if day != self.day:
            return  # the day changed meanwhile: that load shows it
        shown = date.fromisoformat(agenda["date"])
        if day is None:
            self.today = shown
        self.day = shown
        self.loaded = True
        await self.show(agenda)

    async def show(self, agenda: dict[str, Any]) -> None:
        shown = date.fromisoformat(agenda["date"])
        suffix = " · hoje" if shown == self.today else ""
        self.day_title = f"Agenda de {long_day(shown)}{suffix}"
        holder = self.query_one("#columns", Horizontal)
        wanted = [c["professional_id"] for c in agenda["professionals"]]
        if [c.professional_id for c in holder.query(ProfessionalColumn)] != wanted:
            await holder.remove_children()
            await holder.mount_all(ProfessionalColumn(pid) for pid in wanted)
        for column, data in zip(
            holder.query(ProfessionalColumn), agenda["professionals"], strict=False
        ):
            column.show(data)
        self.query_one("#agenda-empty").display = not wanted
        self.arrange_columns()
        self.status("")

    def arrange_columns(self) -> None:
        """Show as many columns as fit, from the first chosen with ``p``."""
        columns = list(self.query(ProfessionalColumn))
        title = self.query_one("#agenda-day", Static)
        if not columns:
            title.update(self.day_title)
            return
        fits = max(1, self.size.width // COLUMN_WIDTH)
        self.first_column %= len(columns)
        shown = min(fits, len(columns))
        visible = {(self.first_column + i) % len(columns) for i in range(shown)}
        if shown < len(columns):
            hidden = len(columns) - shown
            more = f"+{hidden} profissiona{'is' if hidden > 1 else 'l'}"
            title.update(f"{self.day_title}  [dim](p: {more})[/]")
        else:
            title.update(self.day_title)
        for index, column in enumerate(columns):
            column.display = index in visible
        focused = self.focused
        if (
            focused is None
            or not focused.display
            or (isinstance(focused.parent, ProfessionalColumn) and not focused.parent.display)
        ):
            first = columns[self.first_column]
            first.table.focus()

    def status(self, text: str) -> None:
        """Say ``text`` under the columns (nothing to say: the keys that matter most)."""
        self.query_one("#agenda-status", Static).update(text or KEYS_HINT)

    # -- selection ---------------------------------------------------------------------

    def current_column(self) -> ProfessionalColumn | None:
        focused = self.focused
        if focused is not None and isinstance(focused.parent, ProfessionalColumn):
            return focused.parent
        visible = [c for c in self.query(ProfessionalColumn) if c.display]
        return visible[0] if visible else None

    def selected(self) -> tuple[ProfessionalColumn, dict[str, Any]] | None:
        column = self.current_column()
        appointment = column.selected if column else None
        if column is None or appointment is None:
            self.status("Escolha uma consulta (setas ↑↓; Tab troca de profissional).")
            return None
        return column, appointment

    # -- actions -----------------------------------------------------------------------

    def reload(self, _: object = None) -> None:
        """Load the day again (after a dialog closed)."""
        self.load()

    def action_day(self, delta: int) -> None:
        base = self.day or self.today
        if base is None:
            return
        self.day = base + timedelta(days=delta)
        self.load()

    def action_today(self) -> None:
        self.day = None
        self.load()

    def action_refresh(self) -> None:
        self.load()

    def action_go_to(self) -> None:
        def chosen(day: date | None) -> None:
            if day is not None:
                self.day = day
                self.load()

        self.app.push_screen(DateDialog(self.today or self.app.now().date()), chosen)  # type: ignore[attr-defined]

    def action_next_professional(self) -> None:
        columns = list(self.query(ProfessionalColumn))
        if len(columns) > 1:
            fits = max(1, self.size.width // COLUMN_WIDTH)
            self.first_column = (self.first_column + min(fits, len(columns))) % len(columns)
            self.arrange_columns()
            self.query(ProfessionalColumn)[self.first_column].table.focus()

    def action_book(self) -> None:
        self.app.push_screen(BookingDialog(), self.reload)

    def action_reschedule(self) -> None:
        found = self.selected()
        if found is None:
            return
        column, appointment = found
        if appointment["status"] in ("cancelled", "attended", "no_show"):
            self.status("Esta consulta já foi encerrada; agende uma nova (n).")
            return
        dialog = RescheduleDialog(appointment, column.professional_id, column.professional_name)
        self.app.push_screen(dialog, self.reload)

    def action_cancel(self) -> None:
        found = self.selected()
        if found is None:
            return
        _, appointment = found
        if appointment["status"] in ("cancelled", "attended", "no_show"):
            self.status("Esta consulta já foi encerrada.")
            return
        summary = (
            f"a consulta de {appointment.get('customer_name') or 'paciente'} "
            f"às {hhmm(appointment['start'])} ({appointment.get('type_name', '')})"
        )

        def answered(reason: str | None) -> None:
            if reason is not None:
                self.change(appointment, "cancel", {"reason": reason} if reason else None)

        self.app.push_screen(CancelDialog(summary), answered)

    def action_confirm(self) -> None:
        if found := self.selected():
            self.change(found[1], "confirm")

    def action_attended(self) -> None:
        if found := self.selected():
            self.change(found[1], "attended")

    def action_no_show(self) -> None:
        if found := self.selected():
            self.change(found[1], "no-show")

    def action_waitlist(self) -> None:
        self.app.push_screen(WaitlistScreen())

    @work(group="agenda-change")
    async def change(
        self, appointment: dict[str, Any], verb: str, body: dict[str, Any] | None = None
    ) -> None:
        name = appointment.get("customer_name") or "paciente"
        try:
            answer = await api_of(self).post(
                f"/api/v1/appointments/{appointment['id']}/{verb}", body
            )
        except ApiError as exc:
            self.status(problem_text(exc))
            return
        done = {
            "cancel": "Consulta cancelada",
            "confirm": "Consulta confirmada",
            "attended": "Comparecimento registrado",
            "no-show": "Falta registrada",
        }[verb]
        message = f"{name} às {hhmm(appointment['start'])}"
        if isinstance(answer, dict) and answer.get("offered_to"):
            message += "\nO horário foi oferecido a quem esperava na lista de espera."
        self.app.notify(message, title=done)
        self.load()
