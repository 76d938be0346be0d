"""The bell and the toast: a patient's new message and an urgent handoff reach the person at
the desk whatever screen is showing."""

from __future__ import annotations

import asyncio

from porfin_tui.app import InboxApp
from tests.tui.conftest import PASSWORD, SECRETARY


async def _log_in(app: InboxApp, pilot) -> None:
    await app.api.log_in(SECRETARY, PASSWORD)
    app.start()
    await pilot.pause()


async def _until(pilot, condition, seconds: float = 15) -> None:
    """Let the app run until ``condition()`` holds (frames arrive over a real socket)."""
    async with asyncio.timeout(seconds):
        while not condition():
            await pilot.pause(0.05)


async def test_a_new_patient_message_rings_while_on_the_agenda(live_api):
    app = live_api.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _log_in(app, pilot)
        await _until(pilot, lambda: app.connected)
        await pilot.press("f3")
        await asyncio.to_thread(live_api.patient_says, "Bom dia, queria marcar", name="Maria Silva")
        await _until(pilot, lambda: app.alerts)
        assert app.alerts[0].title == "Nova mensagem de Maria Silva"
        assert app.alerts[0].text == "Bom dia, queria marcar"
        assert not app.alerts[0].urgent


async def test_an_urgent_handoff_is_announced(live_api):
    live_api.admin("POST", "/api/v1/assistants", {"name": "Recepção"})
    app = live_api.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await _log_in(app, pilot)
        await _until(pilot, lambda: app.connected)
        await asyncio.to_thread(
            live_api.patient_says,
            "Estou com muita falta de ar e dor no peito",
            name="João Santos",
        )
        await _until(pilot, lambda: any(alert.urgent for alert in app.alerts))
        urgent = next(alert for alert in app.alerts if alert.urgent)
        assert urgent.title == "URGENTE: João Santos"
