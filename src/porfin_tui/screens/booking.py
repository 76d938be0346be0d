"""Agendar e remarcar: the booking dialog (from a chat, key ``b``, or from the agenda) and the
reschedule dialog, with the pieces they share: a patient search and a free-slot list."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from porfin_tui.api import Api, ApiError
from porfin_tui.ptbr import instant, parse_day, problem_text, short_day, slot_label

SLOT_LIMIT = 40


def api_of(node: Widget) -> Api:
    """The app's API client."""
    return node.app.api  # type: ignore[attr-defined,no-any-return]


def today_of(node: Widget) -> date:
    """Today by the app's clock (UTC date; the server's slots never start in the past)."""
    return node.app.now().date()  # type: ignore[attr-defined,no-any-return]


class CustomerPicker(Vertical):
    """Find a patient by name or phone: type, then Enter (or pick from the list).

    Messages:
        Chosen: a patient was picked (the customer as the API shows it).
    """

    DEFAULT_CSS = """
    CustomerPicker { height: auto; }
    CustomerPicker #customer-results { height: auto; max-height: 4; }
    """

    class Chosen(Message):
        """A patient was picked."""

        def __init__(self, customer: dict[str, Any]) -> None:
            super().__init__()
            self.customer = customer

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.found: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Input(
            placeholder="buscar paciente por nome ou telefone", id="customer-search", compact=True
        )
        yield OptionList(id="customer-results", compact=True)

    def on_mount(self) -> None:
        self.query_one("#customer-results").display = False

    @on(Input.Changed, "#customer-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self.search(event.value, wait=True)

    @on(Input.Submitted, "#customer-search")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if len(self.found) == 1:
            self.post_message(self.Chosen(self.found[0]))
        else:
            self.search(event.value, wait=False)
            self.query_one("#customer-results").focus()

    @on(OptionList.OptionSelected, "#customer-results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Chosen(self.found[event.option_index]))

    @work(exclusive=True, group="customer-search")
    async def search(self, text: str, wait: bool) -> None:
        text = text.strip()
        results = self.query_one("#customer-results", OptionList)
        if len(text) < 2:
            self.found = []
            results.clear_options()
            results.display = False
            return
        if wait:
            await asyncio.sleep(0.3)  # typing: search when the keys stop
        try:
            page = await api_of(self).get("/api/v1/customers", q=text, limit=8)
        except ApiError as exc:
            self.notify(problem_text(exc), severity="error")
            return
        self.found = list(page.get("items", []))
        results.clear_options()
        results.add_options(
            [Option(f"{c.get('name') or 'sem nome'}  {c.get('phone') or ''}") for c in self.found]
            or [Option("nenhum paciente encontrado", disabled=True)]
        )
        results.display = True


class SlotPicker(Vertical):
    """Free slots of a type (and professional) from a date; Enter picks one.

    Attributes (set by the owner): ``type_id``, ``professional_id`` (None: anyone),
    ``professionals`` (id -> name, for the labels).

    Messages:
        Picked: a slot (``professional_id``, ``start``, ``end``) was chosen.
    """

    DEFAULT_CSS = """
    SlotPicker { height: 1fr; min-height: 5; }
    SlotPicker .field { height: 1; margin-bottom: 1; }
    SlotPicker .field Label { width: 14; color: $text-muted; }
    SlotPicker #slot-from { width: 1fr; }
    SlotPicker #slots { height: 1fr; min-height: 3; border: round $panel; }
    SlotPicker #slots:focus { border: round $accent; }
    SlotPicker #slot-note { height: auto; color: $text-muted; }
    """

    class Picked(Message):
        """A slot was chosen."""

        def __init__(self, slot: dict[str, Any]) -> None:
            super().__init__()
            self.slot = slot

    def __init__(self, first_day: date | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.type_id: str | None = None
        self.professional_id: str | None = None
        self.professionals: dict[str, str] = {}
        self.slots: list[dict[str, Any]] = []
        self.first_day = first_day

    def compose(self) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label("A partir de")
            yield Input(
                self.first_day.strftime("%d/%m/%Y") if self.first_day else "",
                placeholder="dd/mm/aaaa (vazio: hoje)",
                id="slot-from",
                compact=True,
            )
        yield Static("Escolha o tipo de atendimento para ver os horários.", id="slot-note")
        yield OptionList(id="slots", compact=True)

    @on(Input.Submitted, "#slot-from")
    def _from_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.search()

    @on(OptionList.OptionSelected, "#slots")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self.slots):
            self.post_message(self.Picked(self.slots[event.option_index]))

    @property
    def highlighted(self) -> dict[str, Any] | None:
        """The slot under the cursor."""
        index = self.query_one("#slots", OptionList).highlighted
        return self.slots[index] if index is not None and index < len(self.slots) else None

    def note(self, text: str) -> None:
        """Say something above the list."""
        self.query_one("#slot-note", Static).update(text)

    def show(self, slots: list[dict[str, Any]], note: str) -> None:
        """List ``slots`` under ``note``."""
        self.slots = slots
        options = self.query_one("#slots", OptionList)
        options.clear_options()
        options.add_options([Option(slot_label(s, self.professionals)) for s in slots])
        if slots:
            options.highlighted = 0
        self.note(note)

    @work(exclusive=True, group="slots")
    async def search(self) -> None:
        if not self.type_id:
            self.show([], "Escolha o tipo de atendimento para ver os horários.")
            return
        typed = self.query_one("#slot-from", Input).value.strip()
        try:
            first = parse_day(typed, today_of(self)) if typed else None
        except ValueError:
            self.note("Data inválida: use dd/mm/aaaa.")
            return
        self.note("Buscando horários livres…")
        params: dict[str, Any] = {
            "type_id": self.type_id,
            "professional_id": self.professional_id,
            "from": first.isoformat() if first else None,
            "limit": SLOT_LIMIT,
        }
        try:
            slots = await api_of(self).get("/api/v1/slots", **params)
        except ApiError as exc:
            self.show([], problem_text(exc))
            return
        since = short_day(first) if first else "hoje"
        if slots:
            note = f"Horários livres a partir de {since} (Enter escolhe):"
        else:
            note = f"Nenhum horário livre nas 2 semanas a partir de {since}."
        self.show(slots, note)


async def bookable(api: Api) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The clinic's active appointment types and professionals, read together."""
    types, professionals = await asyncio.gather(
        api.get("/api/v1/appointment-types"), api.get("/api/v1/professionals")
    )
    return types, professionals


def professional_options(professionals: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """A professional selector's options: anyone first, then each by name."""
    return [("Qualquer profissional", ""), *((p["name"], p["id"]) for p in professionals)]


def type_and_professional_fields(type_id: str, professional_id: str) -> ComposeResult:
    """The appointment-type and professional rows of a form (options come from
    :func:`bookable`; the professional starts at anyone)."""
    with Horizontal(classes="field"):
        yield Label("Atendimento")
        yield Select[str]([], prompt="escolha o tipo", id=type_id, compact=True)
    with Horizontal(classes="field"):
        yield Label("Profissional")
        yield Select[str](
            professional_options([]), value="", allow_blank=False, id=professional_id, compact=True
        )


class BookingDialog(ModalScreen[dict[str, Any] | None]):
    """Book an appointment: the patient (given, or searched), the type, the professional (or
    anyone), then a free slot. Dismissed with the appointment booked (None: closed).

    Args:
        customer_id: The patient (None: search one here).
        chat_id: The conversation it is booked from (kept on the appointment).
        customer_name: The patient's name, for the title.
        type_id: The appointment type to start with (the waitlist entry's).
        professional_id: The professional to start with (None: anyone).
        waitlist_entry_id: The patient's waitlist entry this booking fulfils.
    """

    HELP_TITLE = "Novo agendamento"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Fechar"),
        Binding("ctrl+f", "search", "Buscar horários"),
        Binding("ctrl+s", "book", "Agendar o horário marcado"),
    ]
    DEFAULT_CSS = """
    BookingDialog { align: center middle; }
    BookingDialog #booking-box {
        width: 80; max-width: 100%; height: 100%; max-height: 30;
        padding: 0 1; border: round $accent; background: $surface;
    }
    BookingDialog #booking-title { text-style: bold; height: 1; margin-bottom: 1; }
    BookingDialog .field { height: 1; margin-bottom: 1; }
    BookingDialog .field Label { width: 14; color: $text-muted; }
    BookingDialog .field Select, BookingDialog .field Input { width: 1fr; }
    BookingDialog #patient { height: auto; margin-bottom: 1; }
    BookingDialog #patient Label { width: 14; color: $text-muted; }
    BookingDialog #patient-name { width: 1fr; }
    BookingDialog #booking-status { height: auto; color: $warning; }
    """

    def __init__(
        self,
        customer_id: str | None = None,
        chat_id: str | None = None,
        customer_name: str = "",
        *,
        type_id: str | None = None,
        professional_id: str | None = None,
        waitlist_entry_id: str | None = None,
    ) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.chat_id = chat_id
        self.customer_name = customer_name
        self.type_id = type_id
        self.professional_id = professional_id
        self.waitlist_entry_id = waitlist_entry_id
        self.types: dict[str, dict[str, Any]] = {}
        self.professionals: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical(id="booking-box"):
            yield Static("Novo agendamento", id="booking-title")
            with Horizontal(id="patient"):
                yield Label("Paciente")
                yield Static(self.customer_name or "—", id="patient-name")
            if self.customer_id is None:
                yield CustomerPicker(id="customer-picker")
            yield from type_and_professional_fields("type", "professional")
            yield SlotPicker(id="slot-picker")
            with Horizontal(classes="field"):
                yield Label("Observação")
                yield Input(placeholder="opcional", id="notes", compact=True, max_length=2000)
            yield Static("", id="booking-status")
        yield Footer()

    def on_mount(self) -> None:
        if self.customer_id is None:
            self.query_one("#customer-search").focus()
        else:
            self.query_one("#type").focus()
        self.load()

    @work(exclusive=True, group="booking-load")
    async def load(self) -> None:
        api = api_of(self)
        try:
            types, professionals = await bookable(api)
        except ApiError as exc:
            self.say(problem_text(exc))
            return
        self.types = {t["id"]: t for t in types}
        self.professionals = {p["id"]: p["name"] for p in professionals}
        picker = self.query_one(SlotPicker)
        picker.professionals = self.professionals
        self.query_one("#type", Select).set_options(
            (f"{t['name']} ({t['duration_minutes']} min)", t["id"]) for t in types
        )
        self.query_one("#professional", Select).set_options(professional_options(professionals))
        if self.professional_id in self.professionals:
            self.query_one("#professional", Select).value = self.professional_id
        if self.type_id in self.types:
            self.query_one("#type", Select).value = self.type_id
        elif len(types) == 1:
            self.query_one("#type", Select).value = types[0]["id"]
        if not types:
            self.say("Nenhum tipo de atendimento cadastrado (peça à administração).")

    @on(CustomerPicker.Chosen)
    def _customer_chosen(self, event: CustomerPicker.Chosen) -> None:
        self.customer_id = event.customer["id"]
        self.customer_name = event.customer.get("name") or event.customer.get("phone") or ""
        self.query_one("#patient-name", Static).update(self.customer_name)
        self.query_one(CustomerPicker).display = False
        self.query_one("#type").focus()

    @on(Select.Changed, "#type")
    @on(Select.Changed, "#professional")
    def _criteria_changed(self) -> None:
        self.action_search(again=False)

    def action_search(self, again: bool = True) -> None:
        picker = self.query_one(SlotPicker)
        kind = self.query_one("#type", Select).value
        professional = self.query_one("#professional", Select).value
        criteria = (
            kind if isinstance(kind, str) else None,
            professional if isinstance(professional, str) and professional else None,
        )
        if not again and criteria == (picker.type_id, picker.professional_id):
            return  # the options were refilled, nothing chosen changed
        picker.type_id, picker.professional_id = criteria
        picker.search()

    def action_book(self) -> None:
        slot = self.query_one(SlotPicker).highlighted
        if slot is None:
            self.say("Escolha um horário da lista.")
            return
        self.book(slot)

    def action_close(self) -> None:
        self.dismiss(None)

    @on(SlotPicker.Picked)
    def _slot_picked(self, event: SlotPicker.Picked) -> None:
        self.book(event.slot)

    def say(self, text: str) -> None:
        self.query_one("#booking-status", Static).update(text)

    @work(exclusive=True, group="booking")
    async def book(self, slot: dict[str, Any]) -> None:
        picker = self.query_one(SlotPicker)
        if self.customer_id is None:
            self.say("Escolha o paciente primeiro.")
            return
        if not picker.type_id:
            self.say("Escolha o tipo de atendimento.")
            return
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "type_id": picker.type_id,
            "start": slot["start"],
        }
        if slot.get("professional_id"):
            body["professional_id"] = slot["professional_id"]
        if self.chat_id:
            body["chat_id"] = self.chat_id
        if self.waitlist_entry_id:
            body["waitlist_entry_id"] = self.waitlist_entry_id
        notes = self.query_one("#notes", Input).value.strip()
        if notes:
            body["notes"] = notes
        self.say("Agendando…")
        try:
            appointment = await api_of(self).post("/api/v1/appointments", body)
        except ApiError as exc:
            if exc.code == "slot_taken":
                alternatives = exc.problem.get("alternatives") or []
                picker.show(alternatives, "Esse horário acabou de ser ocupado. Os mais próximos:")
                self.say("Escolha outro horário.")
                picker.query_one("#slots").focus()
            else:
                self.say(problem_text(exc))
            return
        when = slot_label(slot, self.professionals)
        self.app.notify(f"{self.customer_name or 'Paciente'}: {when}", title="Consulta agendada")
        self.dismiss(appointment)


class RescheduleDialog(ModalScreen[dict[str, Any] | None]):
    """Move an appointment to another free slot of its professional (same type and duration).
    Dismissed with ``{"appointment", "offered_to"}`` (None: closed).

    Args:
        appointment: The appointment as the agenda shows it (id, start, type, patient).
        professional_id: Its professional.
        professional_name: For the title.
    """

    HELP_TITLE = "Remarcar"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Fechar"),
        Binding("ctrl+f", "search", "Buscar horários"),
        Binding("ctrl+s", "move", "Remarcar para o horário marcado"),
    ]
    DEFAULT_CSS = """
    RescheduleDialog { align: center middle; }
    RescheduleDialog #reschedule-box {
        width: 72; max-width: 100%; height: 100%; max-height: 24;
        padding: 0 1; border: round $accent; background: $surface;
    }
    RescheduleDialog #reschedule-title { text-style: bold; height: auto; margin-bottom: 1; }
    RescheduleDialog #reschedule-status { height: auto; color: $warning; }
    """

    def __init__(
        self, appointment: dict[str, Any], professional_id: str, professional_name: str
    ) -> None:
        super().__init__()
        self.appointment = appointment
        self.professional_id = professional_id
        self.professional_name = professional_name

    def compose(self) -> ComposeResult:
        start = instant(self.appointment["start"])
        title = (
            f"Remarcar {self.appointment.get('customer_name') or 'paciente'} · "
            f"{self.appointment.get('type_name', '')}\n"
            f"hoje marcada para {short_day(start.date())} {start:%H:%M} "
            f"com {self.professional_name}"
        )
        with Vertical(id="reschedule-box"):
            yield Static(title, id="reschedule-title")
            yield SlotPicker(max(start.date(), today_of(self)), id="slot-picker")
            yield Static("", id="reschedule-status")
        yield Footer()

    def on_mount(self) -> None:
        picker = self.query_one(SlotPicker)
        picker.type_id = self.appointment["type_id"]
        picker.professional_id = self.professional_id
        picker.professionals = {self.professional_id: self.professional_name}
        picker.query_one("#slots").focus()
        picker.search()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_search(self) -> None:
        self.query_one(SlotPicker).search()

    def action_move(self) -> None:
        slot = self.query_one(SlotPicker).highlighted
        if slot is None:
            self.query_one("#reschedule-status", Static).update("Escolha um horário da lista.")
            return
        self.move(slot)

    @on(SlotPicker.Picked)
    def _picked(self, event: SlotPicker.Picked) -> None:
        self.move(event.slot)

    @work(exclusive=True, group="reschedule")
    async def move(self, slot: dict[str, Any]) -> None:
        status = self.query_one("#reschedule-status", Static)
        status.update("Remarcando…")
        try:
            moved = await api_of(self).post(
                f"/api/v1/appointments/{self.appointment['id']}/reschedule",
                {"start": slot["start"]},
            )
        except ApiError as exc:
            picker = self.query_one(SlotPicker)
            if exc.code == "slot_taken":
                alternatives = exc.problem.get("alternatives") or []
                picker.show(alternatives, "Esse horário acabou de ser ocupado. Os mais próximos:")
                status.update("Escolha outro horário.")
            else:
                status.update(problem_text(exc))
            return
        when = slot_label(slot, {})
        self.app.notify(f"Nova data: {when}", title="Consulta remarcada")
        self.dismiss(moved)
