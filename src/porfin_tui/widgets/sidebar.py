"""The patient beside the open chat (right column): who they are, where they are in the
funnel, what they agreed to, their next appointment, what they owe, and why the AI handed the
chat over."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from porfin_tui.ptbr import APPOINTMENT_STATUS, reais
from porfin_tui.widgets.format import (
    CONSENTS,
    STAGES,
    chat_name,
    handoff,
    local,
    parse_time,
    phone,
)


def next_appointment(appointments: list[dict[str, Any]], now: datetime) -> dict[str, Any] | None:
    """The first appointment from now on that is still going to happen."""
    upcoming = [
        a
        for a in appointments
        if a.get("status") in ("requested", "confirmed")
        and (parse_time(a.get("start")) or now) >= now
    ]
    return min(upcoming, key=lambda a: a["start"]) if upcoming else None


def render_sidebar(
    chat: dict[str, Any],
    customer: dict[str, Any] | None,
    appointments: list[dict[str, Any]] | None,
    charges: list[dict[str, Any]] | None,
    zone: tzinfo | None,
    now: datetime,
) -> Text:
    """The patient's card as text."""
    text = Text()
    if chat.get("urgent"):
        text.append(" URGENTE \n", style="bold reverse red")
    name = (customer or {}).get("name") or chat_name(chat)
    text.append(name + "\n", style="bold")
    number = phone((customer or {}).get("phone") or chat.get("customer_phone"))
    if number:
        text.append(number + "\n")
    if customer is None:
        text.append("\ncarregando…", style="dim")
        return text
    text.append("\nEtapa: ", style="dim")
    text.append(STAGES.get(customer.get("stage") or "", customer.get("stage") or "–") + "\n")
    tags = customer.get("tags") or []
    text.append("Etiquetas: ", style="dim")
    text.append((", ".join(tags) if tags else "–") + "\n")
    text.append("Consentimentos:\n", style="dim")
    consents = customer.get("consents") or {}
    for purpose, label in CONSENTS.items():
        decision = consents.get(purpose)
        if decision is None:
            mark, style = "–", "dim"
        elif decision.get("granted"):
            mark, style = "✓", "green"
        else:
            mark, style = "✗", "red"
        text.append(f"  {mark} ", style=style)
        text.append(f"{label}\n")
    text.append("\nPróxima consulta:\n", style="dim")
    upcoming = next_appointment(appointments or [], now)
    if upcoming is None:
        text.append("  nenhuma\n")
    else:
        start = local(upcoming.get("start"), zone)
        status = APPOINTMENT_STATUS.get(upcoming.get("status") or "", "")
        when = start.strftime("%d/%m %H:%M") if start else "?"
        text.append(f"  {when} ({status})\n")
    text.append("\nCobranças em aberto:\n", style="dim")
    if not charges:
        text.append("  nenhuma\n")
    for charge in charges or []:
        due = int(charge.get("amount_cents") or 0) - int(charge.get("paid_cents") or 0)
        text.append(f"  {reais(due)}", style="bold")
        text.append(f" {charge.get('description') or ''}")
        if charge.get("due_date"):
            day = charge["due_date"]
            text.append(f" (vence {day[8:10]}/{day[5:7]})", style="dim")
        text.append("\n")
    reason = handoff(chat.get("handoff_reason"))
    summary = chat.get("handoff_summary")
    if reason or summary:
        text.append("\nPassada para a equipe:\n", style="dim")
        if reason:
            text.append(f"  {reason}\n")
        if summary:
            text.append(f"  Resumo: {summary}\n", style="italic")
    return text


class CustomerSidebar(VerticalScroll):
    """The patient's card. The screen calls :meth:`show` (with None for what is loading)."""

    DEFAULT_CSS = """
    CustomerSidebar {
        width: 32;
        height: 1fr;
        border-left: solid $panel-lighten-2;
        padding: 0 1;
    }
    """

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static("", id="card")

    def show(
        self,
        chat: dict[str, Any] | None,
        customer: dict[str, Any] | None = None,
        appointments: list[dict[str, Any]] | None = None,
        charges: list[dict[str, Any]] | None = None,
        *,
        zone: tzinfo | None = None,
        now: datetime | None = None,
    ) -> None:
        """Show the card of ``chat``'s patient (nothing when no chat is open)."""
        card = self.query_one("#card", Static)
        if chat is None:
            card.update(Text("Nenhuma conversa aberta.", style="dim"))
            return
        card.update(
            render_sidebar(
                chat, customer, appointments, charges, zone, now or datetime.now().astimezone()
            )
        )
