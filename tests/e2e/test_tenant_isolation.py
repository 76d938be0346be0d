"""Tenant isolation: every operation, called with another clinic's ids, answers 404 (never 403:
the API does not reveal what other clinics hold), and no list shows another clinic's records."""

from __future__ import annotations

import re

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

import porfin_adapters.container as composition
from porfin_adapters.container import create_container
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.clinic import Clinic
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, FAST_HASHER, PASSWORD, _bearer, _login

# A body each operation accepts, so that the answer is about the id, not the body.
BODIES = {
    ("PATCH", "/api/v1/chats/{chat_id}"): {"mode": "human"},
    ("POST", "/api/v1/chats/{chat_id}/messages"): {"text": "Olá"},
    ("PATCH", "/api/v1/customers/{customer_id}"): {"name": "Outro nome"},
    ("POST", "/api/v1/customers/{customer_id}/merge"): {"duplicate_id": "nope"},
    ("PATCH", "/api/v1/channels/{channel_id}"): {"name": "Outro nome"},
    ("PATCH", "/api/v1/users/{user_id}"): {"name": "Outro nome"},
}


@pytest.fixture
async def other_clinic(container, clock, users):
    """A second clinic with its own channel and admin, stored before the app starts."""
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic = Clinic(id="clinic-b", name="Outra Clínica")
        channel = Channel(
            id="channel-b",
            clinic_id=clinic.id,
            name="Recepção B",
            provider=Provider.SIMULATOR,
            created_at=clock.now(),
        )
        async with seeder.uow_factory()() as uow:
            await uow.clinics.save(clinic)
            await uow.channels.save(channel)
            await uow.commit()
        admin = await seeder.create_staff_user()(
            NewStaffUser(
                clinic_id=clinic.id,
                name="Beto",
                email="beto@outra.com.br",
                role="admin",
                password=PASSWORD,
            )
        )
        return {"clinic_id": clinic.id, "channel_id": channel.id, "user_id": admin.id}
    finally:
        await composition.stop(seeder)


@pytest.fixture
async def both(container, users, other_clinic):
    async with AsyncTestClient(create_app(container)) as client:
        client.users = users
        yield client


async def _foreign_ids(api, other_clinic) -> dict[str, str]:
    """Clinic B's ids of every kind: its admin creates what it can through the API."""
    beto = _bearer((await _login(api, "beto@outra.com.br")).json())
    body = {"message": {"id": "b-1", "from": "+5521987654321", "text": "Oi, clínica B"}}
    received = await api.post(
        f"/webhooks/simulator/{other_clinic['channel_id']}", json=body, headers=AUTH
    )
    assert received.status_code == 200, received.text
    [chat] = (await api.get("/api/v1/chats", headers=beto)).json()["items"]
    timeline = await api.get(f"/api/v1/chats/{chat['id']}/messages", headers=beto)
    ids = {
        "chat_id": chat["id"],
        "message_id": timeline.json()["items"][0]["id"],
        "customer_id": chat["customer_id"],
        "channel_id": other_clinic["channel_id"],
        "user_id": other_clinic["user_id"],
    }
    upload = await api.post(
        "/api/v1/media",
        files={"file": ("nota.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        headers=beto,
    )
    if upload.status_code == 201:
        ids["media_id"] = upload.json()["id"]
    return ids


def _operations(app):
    for route in app.routes:
        if not route.path.startswith("/api/v1") or route.path.startswith("/api/v1/auth"):
            continue
        for method, (handler, _) in getattr(route, "route_handler_map", {}).items():
            if method not in ("OPTIONS", "HEAD"):
                yield method, route.path, handler


async def test_every_operation_answers_404_for_another_clinic_s_ids(both, other_clinic):
    foreign = await _foreign_ids(both, other_clinic)
    for caller in (_bearer((await _login(both, "admin@clinica.com.br")).json()), AUTH):
        checked = 0
        for method, path, _ in _operations(both.app):
            names = re.findall(r"\{(\w+)(?::\w+)?\}", path)
            if not names:
                continue
            template = re.sub(r"\{(\w+):\w+\}", r"{\1}", path)
            url = template.format(**{name: foreign[name] for name in names})
            answer = await both.request(
                method, url, headers=caller, json=BODIES.get((method, template))
            )
            assert answer.status_code == 404, (method, url, answer.status_code, answer.text)
            assert answer.json()["code"] == "not_found"
            checked += 1
        assert checked >= 12


async def test_no_list_shows_another_clinic_s_records(both, other_clinic):
    foreign = await _foreign_ids(both, other_clinic)
    admin = _bearer((await _login(both, "admin@clinica.com.br")).json())
    listed = 0
    for method, path, _ in _operations(both.app):
        if method != "GET" or "{" in path:
            continue
        answer = await both.get(path, headers=admin)
        assert answer.status_code == 200, (path, answer.text)
        for kind, value in foreign.items():
            assert value not in answer.text, (path, kind)
        listed += 1
    assert listed >= 5


async def test_a_webhook_reaches_the_clinic_of_its_channel(both, other_clinic):
    """Provider webhooks name a channel, not a clinic: another clinic's Cloud API number
    delivers into that clinic, and only there."""
    from tests.e2e.test_cloud_webhook import APP_SECRET, VERIFY, deliver, fixture

    beto = _bearer((await _login(both, "beto@outra.com.br")).json())
    cloud = {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "access_token": "EAAG-test-token-" + "x" * 20,
        "app_secret": APP_SECRET,
        "webhook_verify_token": VERIFY,
    }
    body = {"name": "B", "provider": "cloud_api", "phone": "+5521987654321", "cloud_api": cloud}
    created = await both.post("/api/v1/channels", json=body, headers=beto)
    assert created.status_code == 201, created.text
    answer = await deliver(both, created.json()["id"], fixture("inbound_text"))
    assert answer.status_code == 200, answer.text
    assert len((await both.get("/api/v1/chats", headers=beto)).json()["items"]) == 1
    admin = _bearer((await _login(both, "admin@clinica.com.br")).json())
    assert (await both.get("/api/v1/chats", headers=admin)).json()["items"] == []
