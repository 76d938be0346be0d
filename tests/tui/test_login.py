"""Logging in to a running API from the inbox."""

from __future__ import annotations

from textual.widgets import Input, Label

from porfin_tui.screens.inbox import InboxScreen
from porfin_tui.screens.login import LoginScreen
from tests.tui.conftest import PASSWORD, SECRETARY


async def test_a_secretary_logs_in_and_sees_the_inbox(live_api):
    app = live_api.app(live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        await pilot.click("#email")
        await pilot.press(*SECRETARY, "enter", *PASSWORD, "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)
        assert "Bia Souza" in app.sub_title


async def test_a_wrong_password_is_said_in_portuguese(live_api):
    app = live_api.app(live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#email", Input).value = SECRETARY
        app.screen.query_one("#password", Input).value = "errada"
        await pilot.press("enter", "enter")  # e-mail -> password -> submit
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, LoginScreen)
        assert "incorretos" in str(app.screen.query_one("#login-error", Label).render())
