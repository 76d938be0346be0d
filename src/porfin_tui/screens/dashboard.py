"""Painel: one clinic day in figures (``GET /api/v1/dashboard?date=``): the day's
appointments, chats waiting for a person and the longest wait, new leads, how fast patients
got a first answer, chats answered by the AI or by a person, and patient messages per hour.
Refreshed with F5, every minute (the waits grow), and when the inbox or the agenda changes."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual_plotext import PlotextPlot

from porfin_tui.api import ApiError
from porfin_tui.ptbr import APPOINTMENT_STATUS, long_day, problem_text
from porfin_tui.screens.booking import api_of

if TYPE_CHECKING:
    from porfin_tui.app import ServerEvent

WIDE = 120  # columns from which the cards fit in one row and both charts side by side
REFRESH_SECONDS = 60
SETTLE_SECONDS = 0.5  # frames come in bursts: refresh once they stop
LIVE_TYPES = ("message.created", "chat.updated", "chat.assigned", "chat.hidden")
STATUS_ORDER = ("requested", "confirmed", "attended", "no_show", "cancelled")


def duration(seconds: int | None) -> str:
    """``45 s``, ``12 min``, ``1 h 05 min``, ``2 d 3 h``; ``—`` for None."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def share_bar(ai: int, human: int, width: int = 20) -> str:
    """A bar split between the AI (▓) and people (░)."""
    total = ai + human
    if not total:
        return "░" * 0
    filled = round(width * ai / total)
    return "[$accent]" + "█" * filled + "[/][$warning]" + "█" * (width - filled) + "[/]"


class Card(Static):
    """One figure: a label, the number, a line of detail (attributes down: :meth:`show`)."""

    DEFAULT_CSS = """
    Card {
        height: 5; padding: 0 1; border: round $panel; border-title-color: $text-muted;
    }
    Card.-alert { border: round $error; }
    """

    def __init__(self, title: str, *, id: str) -> None:
        super().__init__("…", id=id)
        self.border_title = title

    def show(self, value: str, detail: str = "", alert: bool = False) -> None:
        self.update(f"[b]{value}[/b]\n[dim]{detail}[/dim]" if detail else f"[b]{value}[/b]")
        self.set_class(alert, "-alert")


class DashboardScreen(Screen[None]):
    """The day in figures."""

    HELP_TITLE = "Painel"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f5,a", "refresh", "Atualizar"),
        Binding("left", "day(-1)", "Dia anterior"),
        Binding("right", "day(1)", "Dia seguinte"),
        Binding("h", "today", "Hoje"),
    ]
    DEFAULT_CSS = """
    DashboardScreen #dash-day { height: 1; padding: 0 1; text-style: bold; background: $boost; }
    DashboardScreen #cards { grid-size: 3; grid-gutter: 0 1; height: auto; padding: 0 1; }
    DashboardScreen.-wide #cards { grid-size: 6; }
    DashboardScreen #card-appointments { column-span: 2; }
    DashboardScreen #charts { height: 1fr; min-height: 6; padding: 0 1; }
    DashboardScreen PlotextPlot { height: 1fr; }
    DashboardScreen #by-status { display: none; width: 1fr; margin-left: 1; }
    DashboardScreen.-wide #by-status { display: block; }
    DashboardScreen #by-hour { width: 2fr; }
    DashboardScreen #dash-status { height: 1; padding: 0 1; color: $text-muted; }
    """

    open_chat_id: str | None = None  # the app asks every screen which chat it shows

    def __init__(self) -> None:
        super().__init__()
        self.day: date | None = None  # None: today, as the clinic counts it
        self.today: date | None = None
        self.figures: dict[str, Any] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Painel", id="dash-day")
        with Grid(id="cards"):
            yield Card("Consultas do dia", id="card-appointments")
            yield Card("Esperando resposta", id="card-waiting")
            yield Card("Novos contatos", id="card-leads")
            yield Card("1ª resposta", id="card-first-response")
            yield Card("IA × pessoa", id="card-handled")
        with Horizontal(id="charts"):
            yield PlotextPlot(id="by-hour")
            yield PlotextPlot(id="by-status")
        yield Static("", id="dash-status")
        yield Footer()

    def on_mount(self) -> None:
        self.app.listeners.add(self)  # type: ignore[attr-defined]
        self.set_class(self.size.width >= WIDE, "-wide")
        self.set_interval(REFRESH_SECONDS, self.action_refresh)
        self.load()

    def on_unmount(self) -> None:
        self.app.listeners.discard(self)  # type: ignore[attr-defined]

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width >= WIDE, "-wide")

    def on_screen_resume(self) -> None:
        if self.figures is not None:
            self.load()

    def on_server_event(self, event: ServerEvent) -> None:
        if event.type in LIVE_TYPES or event.type.startswith("appointment."):
            self.load(settle=True)

    # -- actions -----------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    def action_day(self, delta: int) -> None:
        base = self.day or self.today
        if base is not None:
            self.day = base + timedelta(days=delta)
            self.load()

    def action_today(self) -> None:
        self.day = None
        self.load()

    # -- loading -----------------------------------------------------------------------

    @work(exclusive=True, group="dashboard")
    async def load(self, settle: bool = False) -> None:
        if settle:
            await asyncio.sleep(SETTLE_SECONDS)
        day = self.day
        try:
            figures = await api_of(self).get(
                "/api/v1/dashboard", date=day.isoformat() if day else None
            )
        except ApiError as exc:
            self.query_one("#dash-status", Static).update(problem_text(exc))
            return
        shown = date.fromisoformat(figures["date"])
        if day is None:
            self.today = shown
        self.day = shown
        self.figures = figures
        self.show(figures)

    def show(self, figures: dict[str, Any]) -> None:
        """Fill the cards and the charts with ``figures``."""
        shown = date.fromisoformat(figures["date"])
        today = shown == self.today
        self.query_one("#dash-day", Static).update(
            f"Painel de {long_day(shown)}{' · hoje' if today else ''}"
        )
        appointments = figures["appointments"]
        by_status = appointments.get("by_status", {})
        parts = [
            f"{by_status[s]} {APPOINTMENT_STATUS[s]}" for s in STATUS_ORDER if by_status.get(s)
        ]
        self.query_one("#card-appointments", Card).show(
            str(appointments["total"]), " · ".join(parts) or "nenhuma marcada"
        )
        waiting = figures["chats_waiting"]
        longest = figures.get("longest_wait_seconds")
        self.query_one("#card-waiting", Card).show(
            f"{waiting} conversa{'s' if waiting != 1 else ''}",
            f"mais antiga: {duration(longest)}" if waiting else "ninguém esperando agora",
            alert=bool(longest and longest >= 15 * 60),
        )
        leads = figures["new_leads"]
        self.query_one("#card-leads", Card).show(
            str(leads), "primeiro contato hoje" if today else "primeiro contato no dia"
        )
        first = figures["first_response"]
        self.query_one("#card-first-response", Card).show(
            duration(first.get("median_seconds")),
            f"mediana · {first['count']} respondida{'s' if first['count'] != 1 else ''}",
        )
        handled = figures["chats_handled"]
        ai, human = handled["ai"], handled["human"]
        self.query_one("#card-handled", Card).show(
            f"{ai} IA · {human} pessoa{'s' if human != 1 else ''}",
            share_bar(ai, human) if ai + human else "nenhuma conversa atendida",
        )
        self._plot_hours(figures["patient_messages_by_hour"])
        self._plot_statuses(by_status)
        self.query_one("#dash-status", Static).update(
            f"{sum(figures['patient_messages_by_hour'])} mensagens de pacientes no dia · "
            "F5 atualiza · ←/→ outro dia · F1 ajuda"
        )

    def _plot_hours(self, hours: list[int]) -> None:
        plot = self.query_one("#by-hour", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Mensagens de pacientes por hora")
        plt.bar(list(range(24)), hours, marker="hd", color="cyan")
        plt.xticks(list(range(0, 24, 3)), [f"{h}h" for h in range(0, 24, 3)])
        top = max(hours) if hours else 0
        plt.yticks(_ticks(top))
        plot.refresh()

    def _plot_statuses(self, by_status: dict[str, int]) -> None:
        plot = self.query_one("#by-status", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Consultas por situação")
        labels = [APPOINTMENT_STATUS[s] for s in STATUS_ORDER]
        values = [by_status.get(s, 0) for s in STATUS_ORDER]
        plt.bar(labels, values, orientation="horizontal", marker="hd", color="green", width=0.3)
        top = max(values) if values else 0
        plt.xlim(0, top + 1)
        plt.xticks(_ticks(top + 1))
        plot.refresh()


def _ticks(top: int) -> list[float]:
    """Whole-number ticks from 0 to ``top`` (at most 5)."""
    if top <= 0:
        return [0, 1]
    step = max(1, -(-top // 4))
    return [float(t) for t in range(0, top + step, step)]
