"""The inbox's API client against a running server: sessions kept 0600, renewed when the access
token expires, resumed on the next run, and errors as one Portuguese-ready line."""

from __future__ import annotations

import stat

import pytest

from porfin_tui.api import Api, ApiError
from porfin_tui.session import SessionStore
from tests.tui.conftest import PASSWORD, SECRETARY


@pytest.fixture
def sessions(tmp_path) -> SessionStore:
    return SessionStore(tmp_path / "config" / "porfin" / "sessions.json")


async def test_the_refresh_token_is_kept_for_the_user_only(live_api, sessions):
    api = Api(live_api.url, sessions)
    try:
        me = await api.log_in(SECRETARY, PASSWORD)
    finally:
        await api.close()
    assert me["email"] == SECRETARY
    assert sessions.load(live_api.url)
    assert stat.S_IMODE(sessions.path.stat().st_mode) == 0o600


async def test_the_next_run_resumes_the_session(live_api, sessions):
    first = Api(live_api.url, sessions)
    await first.log_in(SECRETARY, PASSWORD)
    await first.close()
    second = Api(live_api.url, sessions)
    try:
        assert await second.logged_in_or_resume()
        assert second.me["email"] == SECRETARY
    finally:
        await second.close()


async def test_an_expired_access_token_is_renewed_once(live_api, sessions):
    api = Api(live_api.url, sessions)
    try:
        await api.log_in(SECRETARY, PASSWORD)
        live_api.clock.advance(minutes=20)  # access tokens live 15 minutes
        chats = await api.get("/api/v1/chats")
    finally:
        await api.close()
    assert "items" in chats


async def test_logging_out_forgets_the_session(live_api, sessions):
    api = Api(live_api.url, sessions)
    try:
        await api.log_in(SECRETARY, PASSWORD)
        await api.log_out()
    finally:
        await api.close()
    assert sessions.load(live_api.url) is None
    again = Api(live_api.url, sessions)
    try:
        assert not await again.logged_in_or_resume()
    finally:
        await again.close()


async def test_a_problem_becomes_an_api_error_with_its_code(live_api):
    api = Api(live_api.url)
    try:
        await api.log_in(SECRETARY, PASSWORD)
        with pytest.raises(ApiError) as raised:
            await api.get("/api/v1/chats/nope")
    finally:
        await api.close()
    assert raised.value.status == 404
    assert raised.value.code


async def test_a_server_that_is_down_is_said_plainly():
    api = Api("http://127.0.0.1:9")
    try:
        with pytest.raises(ApiError) as raised:
            await api.log_in(SECRETARY, PASSWORD)
    finally:
        await api.close()
    assert raised.value.status == 0
    assert "sem resposta do servidor" in str(raised.value)


def test_a_damaged_session_file_is_ignored(sessions):
    sessions.path.parent.mkdir(parents=True)
    sessions.path.write_text("{not json")
    assert sessions.load("http://x") is None
    sessions.save("http://x", "r1")
    assert sessions.load("http://x") == "r1"


async def test_realtime_frames_arrive_and_the_connection_is_reported(live_api):
    import asyncio

    api = Api(live_api.url)
    states: list[bool] = []
    subscribed = asyncio.Event()

    def connection(up: bool) -> None:
        states.append(up)
        subscribed.set()

    try:
        await api.log_in(SECRETARY, PASSWORD)
        frames = api.events(("inbox",), connection)
        first = asyncio.ensure_future(anext(frames))
        await asyncio.wait_for(subscribed.wait(), 10)  # told once the server confirmed it
        await asyncio.to_thread(live_api.patient_says, "Oi, tem horário amanhã?")
        frame = await asyncio.wait_for(first, 10)
        await frames.aclose()
    finally:
        await api.close()
    assert states[0] is True
    assert frame["type"] in ("chat.updated", "message.created")
