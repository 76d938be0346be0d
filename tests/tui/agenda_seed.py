"""A bookable clinic for the agenda, booking, charge and dashboard tests: a dentist working
weekdays 08-18 with lunch 12-13, a 30-minute cleaning, patients who wrote in, and a logged-in
inbox. The tests' clock: Wednesday 25/11/2026, 10:00 in São Paulo (13:00 UTC)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from porfin_tui.app import InboxApp
from tests.tui.conftest import PASSWORD, SECRETARY, LiveApi

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
MARIA = "+5511987654321"
JOAO = "+5521998765432"
PIX_KEY = "12345678909"  # a valid CPF


def seed_agenda(live_api: LiveApi, second_professional: bool = False) -> dict[str, Any]:
    """The professional(s), the type and two patients (Maria and João, with chats)."""
    ana = live_api.admin(
        "POST",
        "/api/v1/professionals",
        {
            "name": "Dra. Ana Souza",
            "kind": "dentista",
            "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in WEEKDAYS],
            "breaks": [{"weekday": d, "start": "12:00", "end": "13:00"} for d in WEEKDAYS],
        },
    )
    seeded: dict[str, Any] = {"ana": ana["id"]}
    if second_professional:
        bruno = live_api.admin(
            "POST",
            "/api/v1/professionals",
            {
                "name": "Dr. Bruno Lima",
                "kind": "ortodontista",
                "hours": [{"weekday": d, "start": "13:00", "end": "19:00"} for d in WEEKDAYS],
            },
        )
        seeded["bruno"] = bruno["id"]
    kind = live_api.admin(
        "POST",
        "/api/v1/appointment-types",
        {"name": "Limpeza", "duration_minutes": 30, "price_cents": 15000},
    )
    seeded["type_id"] = kind["id"]
    live_api.patient_says("Oi, queria marcar uma limpeza", sender=MARIA, name="Maria Silva")
    live_api.patient_says("Bom dia", sender=JOAO, name="João Pereira")
    for key, name in (("maria", "Maria"), ("joao", "João")):
        [found] = live_api.admin("GET", "/api/v1/customers", q=name)["items"]
        seeded[key] = found["id"]
    return seeded


def book(live_api: LiveApi, seeded: dict[str, Any], customer: str, start: str) -> dict[str, Any]:
    """An appointment booked through the API (as the admin)."""
    return live_api.admin(
        "POST",
        "/api/v1/appointments",
        {"customer_id": seeded[customer], "type_id": seeded["type_id"], "start": start},
    )


def set_pix_key(live_api: LiveApi) -> None:
    live_api.admin(
        "PATCH",
        "/api/v1/clinic",
        {
            "pix_key": PIX_KEY,
            "pix_merchant_name": "Clinica Sorriso",
            "pix_merchant_city": "Sao Paulo",
        },
    )


def secretary_token(live_api: LiveApi) -> str:
    """An access token of the secretary (Bia)."""
    answer = httpx.post(
        f"{live_api.url}/api/v1/auth/login",
        json={"email": SECRETARY, "password": PASSWORD},
        timeout=10,
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def secretary_says(live_api: LiveApi, chat_id: str, text: str) -> None:
    """The secretary answers in a chat (it becomes hers, in human mode)."""
    answer = httpx.post(
        f"{live_api.url}/api/v1/chats/{chat_id}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {secretary_token(live_api)}"},
        timeout=10,
    )
    answer.raise_for_status()


def logged_in_app(live_api: LiveApi, **kwargs: Any) -> InboxApp:
    """An inbox with the secretary's session already open (no login screen)."""
    app = live_api.app(live=kwargs.pop("live", False), **kwargs)
    app.api.use_token(secretary_token(live_api))
    return app


async def until(pilot: Any, check: Callable[[], object], seconds: float = 8.0) -> None:
    """Let the app run until ``check()`` is true (workers, realtime frames)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not _holds(check):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {check}")
        await pilot.pause(0.05)


async def stop_realtime(app: InboxApp, pilot: Any) -> None:
    """End the realtime connection and wait until its socket is closed (leaving it to the
    app's exit may leave the socket to the garbage collector: a ResourceWarning later)."""
    app.workers.cancel_group(app, "realtime")
    await until(pilot, lambda: all(w.is_finished for w in app.workers if w.group == "realtime"))


def _holds(check: Callable[[], object]) -> bool:
    from textual.css.query import NoMatches

    try:
        return bool(check())
    except NoMatches:  # not composed yet
        return False


def text_of(app: InboxApp) -> str:
    """Everything the screen shows now, as plain text (for assertions)."""
    from textual.widgets import DataTable, OptionList, Static

    parts: list[str] = []
    for widget in app.screen.query("*"):
        if not widget.display:
            continue
        if isinstance(widget, Static):
            parts.append(str(widget.render()))
        elif isinstance(widget, DataTable):
            for row in range(widget.row_count):
                parts.append(" | ".join(str(c) for c in widget.get_row_at(row)))
        elif isinstance(widget, OptionList):
            parts.extend(
                str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)
            )
    return "\n".join(parts)
