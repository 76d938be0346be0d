"""The dashboard against a running API: today's figures, refreshed on a key and when the
inbox changes; switching days; SVG snapshots at 80x24 and 160x48."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from porfin_tui.screens.dashboard import DashboardScreen, duration, share_bar
from porfin_tui.screens.inbox import InboxScreen
from tests.tui.agenda_seed import (
    book,
    logged_in_app,
    secretary_says,
    seed_agenda,
    stop_realtime,
    text_of,
    until,
)

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]


def busy_morning(live_api) -> dict:
    """Wednesday from 08:05 to 10:00 in São Paulo: three patients wrote, staff answered one
    after 3 minutes, three appointments today (one confirmed, one cancelled)."""
    live_api.clock.current = datetime(2026, 11, 25, 11, 5, tzinfo=UTC)  # 08:05 local
    seeded = seed_agenda(live_api)
    live_api.clock.advance(minutes=3)
    chats = live_api.admin("GET", "/api/v1/chats")["items"]
    [maria] = [c for c in chats if c["customer_name"] == "Maria Silva"]
    secretary_says(live_api, maria["id"], "Olá, Maria!")
    live_api.clock.advance(hours=1)  # 09:08
    live_api.patient_says("Pode ser hoje à tarde?", name="Maria Silva")
    live_api.clock.advance(minutes=30)  # 09:38
    live_api.patient_says("Vocês atendem convênio?", sender="+5511912345678", name="Carla Dias")
    live_api.patient_says("Oi?", sender="+5511912345678", name="Carla Dias")
    live_api.clock.current = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # 10:00 local
    confirmed = book(live_api, seeded, "maria", "2026-11-25T14:00:00-03:00")
    live_api.admin("POST", f"/api/v1/appointments/{confirmed['id']}/confirm")
    book(live_api, seeded, "joao", "2026-11-25T15:00:00-03:00")
    cancelled = book(live_api, seeded, "joao", "2026-11-25T16:00:00-03:00")
    live_api.admin("POST", f"/api/v1/appointments/{cancelled['id']}/cancel")
    return seeded


async def open_dashboard(app, pilot) -> DashboardScreen:
    await until(pilot, lambda: isinstance(app.screen, InboxScreen))
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, DashboardScreen) and app.screen.figures)
    await pilot.pause()
    return app.screen


def test_durations_and_shares_read_in_portuguese():
    assert [duration(s) for s in (None, 45, 180, 3900, 93600)] == [
        "—",
        "45 s",
        "3 min",
        "1 h 05 min",
        "1 d 2 h",
    ]
    assert share_bar(1, 1, width=4).count("█") == 4


async def test_the_dashboard_shows_the_days_figures(live_api):
    busy_morning(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(app, pilot)
        shown = text_of(app)
        assert "Painel de quarta-feira, 25/11/2026 · hoje" in shown
        assert "3\n1 a confirmar · 1 confirmada · 1 cancelada" in shown
        assert "1 conversa\nmais antiga: 52 min" in shown  # Maria wrote again at 09:08
        assert "3\nprimeiro contato hoje" in shown  # Maria, João, Carla
        assert "3 min\nmediana · 1 respondida" in shown
        assert "0 IA · 1 pessoa" in shown
        assert "5 mensagens de pacientes no dia" in shown
        await pilot.press("left")
        await until(pilot, lambda: "terça-feira, 24/11/2026" in text_of(app))
        assert "0\nnenhuma marcada" in text_of(app)
        await pilot.press("h")
        await until(pilot, lambda: "25/11/2026 · hoje" in text_of(app))


async def test_the_dashboard_follows_the_inbox_live(live_api):
    busy_morning(live_api)
    app = logged_in_app(live_api, live=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(app, pilot)
        await until(pilot, lambda: app.connected)
        live_api.patient_says("Bom dia", sender="+5511955554444", name="Davi Rocha")
        await until(pilot, lambda: "4\nprimeiro contato hoje" in text_of(app))
        assert "6 mensagens de pacientes no dia" in text_of(app)
        await stop_realtime(app, pilot)


async def test_f5_refreshes(live_api):
    busy_morning(live_api)
    app = logged_in_app(live_api)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(app, pilot)
        live_api.patient_says("Bom dia", sender="+5511955554444", name="Davi Rocha")
        await pilot.press("f5")
        await until(pilot, lambda: "4\nprimeiro contato hoje" in text_of(app))


@pytest.mark.parametrize("size", SIZES)
def test_dashboard_snapshot(snap_compare, live_api, size):
    busy_morning(live_api)
    app = logged_in_app(live_api)

    async def run_before(pilot) -> None:
        await open_dashboard(app, pilot)
        await app.workers.wait_for_complete()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=size, run_before=run_before)
