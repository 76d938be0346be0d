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


async def test_before_logging_in_no_other_screen_opens(live_api):
    app = live_api.app(live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("f3", "f2")
        assert isinstance(app.screen, LoginScreen)


async def test_logging_out_forgets_the_session_and_closes(live_api, tmp_path):
    from porfin_tui.api import Api
    from porfin_tui.app import InboxApp
    from porfin_tui.session import SessionStore

    sessions = SessionStore(tmp_path / "sessions.json")
    app = InboxApp(Api(live_api.url, sessions), clock=live_api.clock.now, live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.api.log_in(SECRETARY, PASSWORD)
        app.start()
        await pilot.pause()
        assert sessions.load(live_api.url)
        await pilot.press("f10")
        await app.workers.wait_for_complete()
    assert sessions.load(live_api.url) is None


def _enrol_two_step(live_api):
    """The secretary turns two-step verification on; returns her authenticator."""
    import httpx
    import pyotp

    with httpx.Client(base_url=live_api.url) as http:
        tokens = http.post("/api/v1/auth/login", json={"email": SECRETARY, "password": PASSWORD})
        session = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        secret = http.post("/api/v1/me/mfa/totp", headers=session).json()["secret"]
        totp = pyotp.TOTP(secret)
        code = {"code": totp.at(live_api.clock.now())}
        http.post("/api/v1/me/mfa/totp/confirm", json=code, headers=session).raise_for_status()
    live_api.clock.advance(seconds=30)  # the enrolment spent the current code
    return totp


async def test_an_account_with_two_step_verification_is_asked_for_the_code(live_api):
    totp = _enrol_two_step(live_api)
    app = live_api.app(live=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.screen.query_one("#email", Input).value = SECRETARY
        app.screen.query_one("#password", Input).value = PASSWORD
        await pilot.press("enter", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        otp = app.screen.query_one("#otp", Input)
        assert otp.display and otp.has_focus
        assert "autenticador" in str(app.screen.query_one("#login-error", Label).render())
        await pilot.press(*totp.at(live_api.clock.now()), "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, InboxScreen)
