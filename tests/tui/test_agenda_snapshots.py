"""SVG snapshots of the agenda, the booking dialog and the charge dialog at 80x24 and
160x48, against a running API with a fixed clock (no ids, no port on screen)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import DataTable, Input

from porfin_tui.screens.agenda import AgendaScreen
from porfin_tui.screens.booking import BookingDialog
from porfin_tui.screens.charge import ChargeDialog
from porfin_tui.screens.inbox import InboxScreen
from porfin_tui.screens.waitlist import WaitlistScreen
from tests.tui.agenda_seed import (
    book,
    logged_in_app,
    seed_agenda,
    set_pix_key,
    text_of,
    until,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def busy_day(live_api) -> dict:
    """Two professionals; today an appointment of each status but one, one cancelled."""
    seeded = seed_agenda(live_api, second_professional=True)
    first = book(live_api, seeded, "maria", "2026-11-25T10:30:00-03:00")
    live_api.admin("POST", f"/api/v1/appointments/{first['id']}/confirm")
    book(live_api, seeded, "joao", "2026-11-25T14:00:00-03:00")
    cancelled = book(live_api, seeded, "joao", "2026-11-25T16:00:00-03:00")
    live_api.admin("POST", f"/api/v1/appointments/{cancelled['id']}/cancel", {"reason": "Viagem"})
    live_api.admin(
        "POST",
        "/api/v1/appointments",
        {
            "customer_id": seeded["maria"],
            "type_id": seeded["type_id"],
            "start": "2026-11-25T15:00:00-03:00",
            "professional_id": seeded["bruno"],
        },
    )
    return seeded


async def to_agenda(app, pilot) -> None:
    await until(pilot, lambda: isinstance(app.screen, InboxScreen))
    await pilot.press("f3")
    await until(pilot, lambda: isinstance(app.screen, AgendaScreen) and app.screen.loaded)
    await settle(app, pilot)


async def settle(app, pilot) -> None:
    """Every request answered and shown (no realtime worker: ``live=False``), and no
    blinking cursor (its phase depends on timing)."""
    await app.workers.wait_for_complete()
    for field in app.screen.query(Input):
        field.cursor_blink = False
    # A table measures its new rows' columns when its message queue runs dry: on a busy
    # machine that can come after a fixed pause.
    await until(pilot, lambda: not any(_measuring(table) for table in app.screen.query(DataTable)))
    await pilot.pause(0.2)


def _measuring(table: DataTable[Any]) -> bool:
    return bool(table._require_update_dimensions or table._updated_cells)


@pytest.mark.parametrize("size", SIZES)
def test_agenda(snap_compare, live_api, size):
    busy_day(live_api)
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await to_agenda(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_booking_dialog(snap_compare, live_api, size):
    seeded = busy_day(live_api)
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await to_agenda(app, pilot)
        app.push_screen(BookingDialog(customer_id=seeded["joao"], customer_name="João Pereira"))
        await until(
            pilot, lambda: "Horários livres" in str(app.screen.query_one("#slot-note").render())
        )
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_booking_dialog_searching_a_patient(snap_compare, live_api, size):
    busy_day(live_api)
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await to_agenda(app, pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, BookingDialog))
        await pilot.press(*"silva")
        await until(pilot, lambda: app.screen.query_one("#customer-results").display)
        await until(
            pilot, lambda: "Horários livres" in str(app.screen.query_one("#slot-note").render())
        )
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_charge_dialog(snap_compare, live_api, size):
    seeded = busy_day(live_api)
    set_pix_key(live_api)
    for amount, description in ((8000, "Consulta de avaliação"), (15000, "Sinal da limpeza")):
        live_api.admin(
            "POST",
            "/api/v1/charges",
            {
                "customer_id": seeded["maria"],
                "amount_cents": amount,
                "description": description,
                "deliver": False,
            },
        )
    [paid, _] = live_api.admin("GET", "/api/v1/charges", customer_id=seeded["maria"])
    live_api.admin("POST", f"/api/v1/charges/{paid['id']}/mark-paid")
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await to_agenda(app, pilot)
        app.push_screen(ChargeDialog(customer_id=seeded["maria"], customer_name="Maria Silva"))
        await until(
            pilot,
            lambda: (
                "Cobranças do paciente (2)" in str(app.screen.query_one("#charges-title").render())
            ),
        )
        await pilot.press(*"150,00", "enter", *"Sinal da limpeza")
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_waitlist(snap_compare, live_api, size):
    seeded = busy_day(live_api)
    live_api.admin(
        "POST",
        "/api/v1/waitlist",
        {"customer_id": seeded["joao"], "type_id": seeded["type_id"], "periods": ["manha"]},
    )
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await to_agenda(app, pilot)
        await pilot.press("l")
        await until(pilot, lambda: isinstance(app.screen, WaitlistScreen))
        await until(pilot, lambda: "João Pereira" in text_of(app))
        await settle(app, pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
