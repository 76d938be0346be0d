"""What the login and help screens look like at 80x24 and 160x48 (SVG snapshots)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from porfin_tui.api import Api
from porfin_tui.app import InboxApp
from porfin_tui.screens.help import HelpScreen
from porfin_tui.screens.login import LoginScreen
from tests.tui.test_inbox_snapshots import logged_in_app, open_ana, seed

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@SIZES
def test_the_login_screen(snap_compare, size):
    # Nothing is asked of the server before the e-mail and password are given.
    app = InboxApp(Api("https://porfin.clinica.com.br"), email="bia@clinica.com.br", live=False)

    async def shown(pilot: Pilot[Any]) -> None:
        while not isinstance(pilot.app.screen, LoginScreen):
            await pilot.pause(0.01)
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=shown)


@SIZES
def test_the_help_over_the_inbox(live_api, snap_compare, size):
    seed(live_api)

    async def help_open(pilot: Pilot[Any]) -> None:
        await open_ana(pilot)
        await pilot.press("f1")
        while not isinstance(pilot.app.screen, HelpScreen):
            await pilot.pause(0.01)
        await pilot.pause()

    assert snap_compare(logged_in_app(live_api), terminal_size=size, run_before=help_open)
