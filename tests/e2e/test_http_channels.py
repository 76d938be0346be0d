"""Channels through the API: adding, changing and removing numbers, by role, without ever
showing a secret."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from porfin_http.app import create_app
from tests.e2e.conftest import AUTH
from tests.e2e.seeding import headers_of, seed

PROBLEM = "application/problem+json"
TOKEN = "EAAGm0PX4ZCpsBAKZCmiV6eZA" + "q" * 150 + "T0K3"
APP_SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
VERIFY = "uma-frase-de-verificacao-secreta"
API_KEY = "429683C4C977415CAAFCCE10F7D57E11"
SECRETS = (TOKEN, APP_SECRET, VERIFY, API_KEY)

CLOUD = {
    "name": "Recepção",
    "provider": "cloud_api",
    "phone": "+55 (11) 98765-4321",
    "cloud_api": {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
        "webhook_verify_token": VERIFY,
    },
}
EVOLUTION = {
    "name": "Celular",
    "provider": "evolution",
    "phone": "5521998765432",
    "evolution": {
        "base_url": "https://evolution.clinica.com.br",
        "instance": "celular",
        "api_key": API_KEY,
    },
}


@pytest.fixture
async def world(container, clock):
    return await seed(container, clock)


@pytest.fixture
async def api(container, world):
    async with AsyncTestClient(create_app(container)) as client:
        yield client


def assert_no_secret(answer) -> None:
    for secret in SECRETS:
        assert secret not in answer.text


async def test_an_administrator_adds_a_cloud_api_number_and_never_sees_its_secrets(api, container):
    admin = await headers_of(api, "admin")
    created = await api.post("/api/v1/channels", json=CLOUD, headers=admin)
    assert created.status_code == 201, created.text
    assert_no_secret(created)
    channel = created.json()
    assert channel["phone"] == "+5511987654321"
    assert channel["provider"] == "cloud_api" and channel["active"] is True
    assert channel["archived_at"] is None
    assert channel["settings"] == {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
    }
    assert channel["secrets"] == {
        "access_token": {"configured": True, "last4": "T0K3"},
        "app_secret": {"configured": True, "last4": "b1a0"},
        "webhook_verify_token": {"configured": True, "last4": "reta"},
    }
    fetched = await api.get(f"/api/v1/channels/{channel['id']}", headers=admin)
    assert fetched.json() == channel
    listed = await api.get("/api/v1/channels", headers=admin)
    assert [c["name"] for c in listed.json()] == ["Simulador", "Recepção"]
    for answer in (fetched, listed):
        assert_no_secret(answer)
    # Nor are they in the records: only references to the secret store.
    database = b"".join(
        path.read_bytes() for path in container.settings().data_dir.glob("porfin.db*")
    )
    for secret in SECRETS:
        assert secret.encode() not in database
    audit = await api.get("/api/v1/audit?action=channel.create", headers=AUTH)
    record = audit.json()["items"][0]
    assert (record["resource_id"], record["actor_kind"]) == (channel["id"], "user")
    assert record["details"] == {
        "provider": "cloud_api",
        "name": "Recepção",
        "phone": "+5511987654321",
    }
    assert_no_secret(audit)


async def test_an_evolution_number_and_a_simulator(api):
    created = await api.post("/api/v1/channels", json=EVOLUTION, headers=AUTH)
    assert created.status_code == 201, created.text
    assert created.json()["settings"] == {
        "base_url": "https://evolution.clinica.com.br",
        "instance": "celular",
    }
    assert created.json()["secrets"] == {
        "api_key": {"configured": True, "last4": "7E11"},
        "webhook_secret": {"configured": False, "last4": None},
    }
    simulator = await api.post(
        "/api/v1/channels", json={"name": "Testes", "provider": "simulator"}, headers=AUTH
    )
    assert simulator.status_code == 201
    assert (simulator.json()["phone"], simulator.json()["secrets"]) == (None, {})


async def test_a_manager_operates_numbers_but_never_their_credentials(api):
    channel = (await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)).json()
    url = f"/api/v1/channels/{channel['id']}"
    manager = await headers_of(api, "manager")
    seen = (await api.get(url, headers=manager)).json()
    assert seen["secrets"]["access_token"] == {"configured": True, "last4": None}
    listed = await api.get("/api/v1/channels", headers=manager)
    assert all(s["last4"] is None for c in listed.json() for s in c["secrets"].values())
    changed = await api.patch(url, json={"name": "Recepção 2", "active": False}, headers=manager)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["name"], changed.json()["active"]) == ("Recepção 2", False)
    for body in (
        {"cloud_api": {"access_token": "x" * 30}},
        {"cloud_api": {"api_version": "v24.0"}},
        {"phone": "+55 11 91234-5678"},
        {"name": "Outro", "cloud_api": {"waba_id": "1"}},
    ):
        refused = await api.patch(url, json=body, headers=manager)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden"), body
        assert refused.headers["content-type"].startswith(PROBLEM)
    assert (await api.get(url, headers=manager)).json()["name"] == "Recepção 2"
    assert (await api.post("/api/v1/channels", json=EVOLUTION, headers=manager)).status_code == 403
    assert (await api.delete(url, headers=manager)).status_code == 403


async def test_a_secretary_has_no_say_in_channels(api):
    channel = (await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)).json()
    url = f"/api/v1/channels/{channel['id']}"
    secretary = await headers_of(api, "secretary")
    for method, path, body in [
        ("GET", "/api/v1/channels", None),
        ("GET", url, None),
        ("POST", "/api/v1/channels", EVOLUTION),
        ("PATCH", url, {"name": "Meu"}),
        ("DELETE", url, None),
    ]:
        answer = await api.request(method, path, json=body, headers=secretary)
        assert answer.status_code == 403, (method, path)


async def test_an_administrator_rotates_credentials_and_settings(api):
    channel = (await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)).json()
    url = f"/api/v1/channels/{channel['id']}"
    rotated = "EAAG-novo-" + "n" * 60 + "N0V0"
    changed = await api.patch(
        url,
        json={
            "phone": "11 98765-0000",
            "cloud_api": {
                "access_token": rotated,
                "api_version": "v23.0",
                "webhook_verify_token": None,
            },
        },
        headers=AUTH,
    )
    assert changed.status_code == 200, changed.text
    assert rotated not in changed.text
    body = changed.json()
    assert body["phone"] == "+5511987650000"
    assert body["settings"]["api_version"] == "v23.0"
    assert body["secrets"]["access_token"] == {"configured": True, "last4": "N0V0"}
    assert body["secrets"]["webhook_verify_token"] == {"configured": False, "last4": None}
    audit = (await api.get("/api/v1/audit?action=channel.update", headers=AUTH)).json()
    assert audit["items"][0]["details"] == {
        "phone": "+5511987650000",
        "settings": "access_token,api_version,webhook_verify_token",
    }
    wrong = await api.patch(url, json={"evolution": {"api_key": "x" * 20}}, headers=AUTH)
    assert (wrong.status_code, wrong.json()["errors"][0]["field"]) == (422, "evolution")
    required = await api.patch(url, json={"cloud_api": {"app_secret": None}}, headers=AUTH)
    assert required.status_code == 400  # required credentials are not nullable in the schema


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({**CLOUD, "cloud_api": {**CLOUD["cloud_api"], "app_secret": ""}}, 400, None),
        ({k: v for k, v in CLOUD.items() if k != "cloud_api"}, 422, "phone_number_id"),
        ({**CLOUD, "evolution": EVOLUTION["evolution"]}, 422, "evolution"),
        ({**CLOUD, "provider": "evolution"}, 422, "cloud_api"),
        ({**CLOUD, "phone": "recepção"}, 422, "phone"),
        ({**CLOUD, "phone": None}, 422, "phone"),
        ({**CLOUD, "name": "   "}, 422, "name"),
        ({**CLOUD, "provider": "telegram"}, 400, None),
        ({**CLOUD, "cloud_api": {**CLOUD["cloud_api"], "surprise": 1}}, 400, None),
        ({**CLOUD, "cloud_api": {**CLOUD["cloud_api"], "phone_number_id": "abc"}}, 400, None),
        (
            {**EVOLUTION, "evolution": {**EVOLUTION["evolution"], "base_url": "https://u:p@x.io"}},
            422,
            "base_url",
        ),
    ],
)
async def test_bad_channels_are_problems(api, body, status, field):
    answer = await api.post("/api/v1/channels", json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
    assert_no_secret(answer)
    assert len((await api.get("/api/v1/channels", headers=AUTH)).json()) == 1


async def test_the_same_number_twice_is_a_conflict(api):
    assert (await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)).status_code == 201
    again = await api.post("/api/v1/channels", json=CLOUD, headers=AUTH)
    assert (again.status_code, again.json()["code"]) == (409, "conflict")
    assert again.json()["errors"][0]["field"] == "phone"


async def test_another_clinics_channel_is_not_found(api, world):
    url = f"/api/v1/channels/{world.other_channel_id}"
    for method, body in [("GET", None), ("PATCH", {"name": "Nosso"}), ("DELETE", None)]:
        answer = await api.request(method, url, json=body, headers=AUTH)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), method
    listed = (await api.get("/api/v1/channels?archived=true", headers=AUTH)).json()
    assert world.other_channel_id not in {c["id"] for c in listed}


async def test_a_removed_channel_keeps_its_chats_and_refuses_webhooks_and_sends(api):
    channel = (
        await api.post(
            "/api/v1/channels", json={"name": "Sim 2", "provider": "simulator"}, headers=AUTH
        )
    ).json()
    hook = f"/webhooks/simulator/{channel['id']}"
    message = {"message": {"id": "m1", "from": "+5511987654321", "text": "Oi"}}
    chat_id = (await api.post(hook, json=message, headers=AUTH)).json()["chat_id"]
    url = f"/api/v1/channels/{channel['id']}"
    removed = await api.delete(url, headers=AUTH)
    assert removed.status_code == 204
    assert (await api.delete(url, headers=AUTH)).status_code == 204  # again: nothing changes
    shown = (await api.get(url, headers=AUTH)).json()
    assert shown["archived_at"] is not None and shown["active"] is False
    assert channel["id"] not in {
        c["id"] for c in (await api.get("/api/v1/channels", headers=AUTH)).json()
    }
    assert channel["id"] in {
        c["id"] for c in (await api.get("/api/v1/channels?archived=true", headers=AUTH)).json()
    }
    again = {"message": {"id": "m2", "from": "+5511987654321", "text": "Alô?"}}
    refused = await api.post(hook, json=again, headers=AUTH)
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    send = await api.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Oi"}, headers=AUTH)
    assert send.status_code == 422
    timeline = (await api.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH)).json()
    assert [m["body"] for m in timeline["items"]] == ["Oi"]
    revived = await api.patch(url, json={"active": True}, headers=AUTH)
    assert (revived.status_code, revived.json()["code"]) == (409, "invalid_state")
    audit = (await api.get("/api/v1/audit?action=channel.archive", headers=AUTH)).json()
    assert [r["resource_id"] for r in audit["items"]] == [channel["id"]]
