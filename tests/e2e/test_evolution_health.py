"""An Evolution number's health through the API: ``connection`` on the channel (state, last
activity, degraded flag, reconnect attempts) and ``channel.connection`` realtime frames, with
the health monitor run in the app's own loop against a fake Evolution server."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_core.domain.clinic import Role
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, FAST_HASHER
from tests.fakes.evolution_api import FakeEvolution, serve

WAIT = 10.0  # seconds: a bound on waiting for a frame, never a pause
SECRET = "s3gredo-do-webhook-da-clinica-0123"


@pytest.fixture
def evolution():
    yield from serve(FakeEvolution(instances={"clinica": "open"}))


@pytest.fixture
def secretary(container, clock) -> Principal:
    """A secretary's account, written before the app starts (it runs on a loop of its own)."""

    async def seed():
        seeder = create_container(container.settings())
        seeder.clock.override(providers.Object(clock))
        seeder.password_hasher.override(providers.Object(FAST_HASHER))
        await composition.start(seeder)
        try:
            clinic_id = (await seeder.set_up_installation()()).clinic.id
            user = await seeder.create_staff_user()(
                NewStaffUser(
                    clinic_id=clinic_id,
                    name="Ana",
                    email="ana@clinica.com.br",
                    role="secretary",
                    password="correct horse battery",
                )
            )
            return Principal(user.id, clinic_id, Role.SECRETARY)
        finally:
            await composition.stop(seeder)

    return asyncio.run(seed())


@pytest.fixture
def api(container, secretary):
    with TestClient(create_app(container)) as client:
        yield client


@pytest.fixture
def channel_id(api, evolution) -> str:
    body = {
        "name": "Celular",
        "provider": "evolution",
        "phone": "+55 11 98765-4321",
        "evolution": {
            "base_url": evolution.url,
            "instance": "clinica",
            "api_key": evolution.fake.api_key,
            "webhook_secret": SECRET,
        },
    }
    created = api.post("/api/v1/channels", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["connection"] is None  # nothing reported yet
    return created.json()["id"]


def check_all(api, container):
    """One round of the health monitor, in the app's loop (its storage lives there)."""
    return api.blocking_portal.call(container.evolution_health_monitor().check_all)


def shown(api, channel_id):
    answer = api.get(f"/api/v1/channels/{channel_id}", headers=AUTH)
    assert answer.status_code == 200, answer.text
    return answer.json()["connection"]


@contextmanager
def inbox(api, token):
    with api.websocket_connect("/api/v1/ws", headers={"Authorization": f"Bearer {token}"}) as ws:
        assert ws.receive_json(timeout=WAIT)["type"] == "ready"
        ws.send_json({"action": "subscribe", "topic": "inbox"})
        assert ws.receive_json(timeout=WAIT)["type"] == "subscribed"
        yield ws


def nothing_pending(ws):
    ws.send_json({"action": "ping", "ref": "barrier"})
    assert ws.receive_json(timeout=WAIT) == {"type": "pong", "ref": "barrier"}


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_the_channel_shows_its_connection_and_what_the_health_checks_found(
    api, container, clock, evolution, channel_id
):
    opened = clock.now()
    check_all(api, container)
    assert shown(api, channel_id) == {
        "state": "open",
        "since": iso(opened),
        "updated_at": iso(opened),
        "reason": None,
        "qr_pending": False,
        "last_activity_at": None,
        "checked_at": iso(opened),
        "check_error": None,
        "degraded": False,
        "degraded_since": None,
        "reconnect_attempts": 0,
        "last_reconnect_at": None,
        "next_reconnect_at": None,
    }

    clock.advance(minutes=31)
    [check] = check_all(api, container)
    assert check.attempt == 1
    connection = shown(api, channel_id)
    assert connection["degraded"] is True
    assert connection["degraded_since"] == iso(clock.now())
    assert connection["reconnect_attempts"] == 1
    assert connection["last_reconnect_at"] == iso(clock.now())
    assert connection["next_reconnect_at"] == iso(clock.advance(minutes=1))
    listed = api.get("/api/v1/channels", headers=AUTH).json()
    assert next(c for c in listed if c["id"] == channel_id)["connection"] == connection


def test_degraded_and_recovered_reach_the_inbox_of_those_who_see_channels(
    api, container, clock, evolution, channel_id, secretary
):
    check_all(api, container)
    clock.advance(minutes=31)
    secretary_token = container.access_tokens().issue(secretary, clock.now()).token
    with inbox(api, "test-token") as admin, inbox(api, secretary_token) as ana:
        check_all(api, container)
        frame = admin.receive_json(timeout=WAIT)
        assert frame["type"] == "channel.connection"
        assert (frame["channel_id"], frame["data"]["change"]) == (channel_id, "degraded")
        assert frame["data"]["connection"]["degraded"] is True
        nothing_pending(ana)  # secretaries do not see channels

        # The bridge speaks again: any authenticated webhook counts as activity.
        presence = {"event": "presence.update", "instance": "clinica", "data": {}}
        answer = api.post(
            f"/webhooks/whatsapp/evolution/{channel_id}",
            json=presence,
            headers={"Authorization": f"Bearer {SECRET}"},
        )
        assert answer.status_code == 200, answer.text
        clock.advance(minutes=1)
        check_all(api, container)
        frame = admin.receive_json(timeout=WAIT)
        assert (frame["type"], frame["data"]["change"]) == ("channel.connection", "recovered")
        assert frame["data"]["connection"]["degraded"] is False
        assert frame["data"]["connection"]["last_activity_at"] is not None
        nothing_pending(ana)
