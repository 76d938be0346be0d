"""The API end to end: simulator webhook -> use cases -> SQLite -> REST."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, simulate


def test_health_and_readiness_need_no_token(client):
    assert client.get("/health").json() == {"status": "ok", "storage": None}
    assert client.get("/ready").json() == {"status": "ok", "storage": "sqlite"}


def test_a_patient_message_becomes_a_chat_in_the_inbox(client, channel_id):
    received = simulate(client, channel_id, "Olá, quero marcar uma limpeza", name="Maria Silva")
    assert received.status_code == 200
    body = received.json()
    assert body["duplicate"] is False

    page = client.get("/api/v1/chats", headers=AUTH).json()
    assert [c["id"] for c in page["items"]] == [body["chat_id"]]
    chat = page["items"][0]
    assert chat["customer_name"] == "Maria Silva"
    assert chat["customer_phone"] == "+5511987654321"
    assert chat["mode"] == "ai"
    assert chat["unread_count"] == 1
    assert chat["window_open"] is True
    assert chat["last_message_preview"] == "Olá, quero marcar uma limpeza"

    assert client.get(f"/api/v1/chats/{body['chat_id']}", headers=AUTH).json() == chat
    timeline = client.get(f"/api/v1/chats/{body['chat_id']}/messages", headers=AUTH).json()
    assert [m["body"] for m in timeline["items"]] == ["Olá, quero marcar uma limpeza"]
    assert timeline["items"][0]["author"] == "patient"


def test_a_redelivered_message_is_stored_once(client, channel_id):
    first = simulate(client, channel_id, message_id="sim-42").json()
    again = simulate(client, channel_id, message_id="sim-42").json()
    assert again == {**first, "duplicate": True}
    timeline = client.get(f"/api/v1/chats/{first['chat_id']}/messages", headers=AUTH).json()
    assert len(timeline["items"]) == 1


async def test_ten_concurrent_deliveries_of_one_message_store_it_once(container):
    async with AsyncTestClient(create_app(container)) as client:
        channels = (await client.get("/api/v1/channels", headers=AUTH)).json()
        body = {"message": {"id": "sim-dup", "from": "551187654321", "text": "Oi"}}
        responses = await asyncio.gather(
            *(
                client.post(f"/webhooks/simulator/{channels[0]['id']}", json=body, headers=AUTH)
                for _ in range(10)
            )
        )
        assert {r.status_code for r in responses} == {200}
        assert sum(not r.json()["duplicate"] for r in responses) == 1
        chat_id = responses[0].json()["chat_id"]
        timeline = (await client.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH)).json()
        assert len(timeline["items"]) == 1


def test_staff_reply_inside_the_window_is_sent_and_statuses_only_move_forward(
    client, channel_id, clock
):
    chat_id = simulate(client, channel_id).json()["chat_id"]
    clock.advance(minutes=5)
    sent = client.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Bom dia!"}, headers=AUTH)
    assert sent.status_code == 201
    message = sent.json()
    assert message["status"] == "sent"
    assert message["author"] == "staff"
    provider_id = message["provider_message_id"]
    assert provider_id.startswith("sim.")

    def report(status):
        body = {"status": {"id": provider_id, "status": status}}
        return client.post(f"/webhooks/simulator/{channel_id}", json=body, headers=AUTH).json()

    assert report("read")["applied"] is True
    assert report("delivered")["applied"] is False  # late: never downgrades read
    timeline = client.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH).json()
    assert timeline["items"][0]["status"] == "read"
    chat = client.get(f"/api/v1/chats/{chat_id}", headers=AUTH).json()
    assert chat["mode"] == "human"  # a person answered: the AI stops
    assert chat["assignee_id"] == "admin"


def test_free_text_outside_the_window_is_refused_and_nothing_is_stored(client, channel_id, clock):
    chat_id = simulate(client, channel_id).json()["chat_id"]
    clock.advance(hours=24, seconds=1)
    refused = client.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Oi"}, headers=AUTH)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["code"] == "window_closed"
    assert "template" in problem["detail"]
    timeline = client.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH).json()
    assert len(timeline["items"]) == 1


def test_a_status_for_an_unknown_message_is_kept_not_refused(client, channel_id):
    body = {"status": {"id": "sim.unknown", "status": "delivered"}}
    answer = client.post(f"/webhooks/simulator/{channel_id}", json=body, headers=AUTH)
    assert answer.status_code == 200
    assert answer.json() == {"applied": False, "pending": True, "message_id": None}


def test_patching_a_chat_switches_the_ai_assigns_and_closes(client, channel_id, clock):
    chat_id = simulate(client, channel_id).json()["chat_id"]
    url = f"/api/v1/chats/{chat_id}"
    handed = client.patch(
        url, json={"mode": "human", "reason": "quer falar com a dentista"}, headers=AUTH
    ).json()
    assert (handed["mode"], handed["handoff_reason"]) == ("human", "quer falar com a dentista")
    until = "2026-11-25T15:00:00+00:00"
    paused = client.patch(url, json={"mode": "paused", "paused_until": until}, headers=AUTH).json()
    assert paused["mode"] == "paused"
    assert paused["effective_mode"] == "paused"
    clock.advance(hours=3)
    assert client.get(url, headers=AUTH).json()["effective_mode"] == "ai"
    assigned = client.patch(url, json={"assignee_id": "sec-1", "read": True}, headers=AUTH).json()
    assert (assigned["assignee_id"], assigned["unread_count"]) == ("sec-1", 0)
    unassigned = client.patch(url, json={"assignee_id": None}, headers=AUTH).json()
    assert unassigned["assignee_id"] is None
    closed = client.patch(url, json={"status": "closed"}, headers=AUTH).json()
    assert closed["status"] == "closed"
    again = client.patch(url, json={"status": "closed"}, headers=AUTH)
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    # The patient writes again: the chat reopens by itself.
    simulate(client, channel_id, message_id="sim-2")
    assert client.get(url, headers=AUTH).json()["status"] == "open"


def test_chat_list_filters_search_and_cursor_pages(client, channel_id, clock):
    for n in range(5):
        clock.advance(minutes=1)
        simulate(
            client,
            channel_id,
            f"mensagem {n}",
            sender=f"+55119876543{n:02d}",
            message_id=f"m{n}",
            name=f"Paciente {n}",
        )
    first = client.get("/api/v1/chats?limit=2", headers=AUTH).json()
    second = client.get(f"/api/v1/chats?limit=2&cursor={first['next_cursor']}", headers=AUTH).json()
    third = client.get(f"/api/v1/chats?limit=2&cursor={second['next_cursor']}", headers=AUTH).json()
    names = [c["customer_name"] for p in (first, second, third) for c in p["items"]]
    assert names == [f"Paciente {n}" for n in reversed(range(5))]
    assert third["next_cursor"] is None
    found = client.get("/api/v1/chats?q=mensagem%203", headers=AUTH).json()["items"]
    assert [c["customer_name"] for c in found] == ["Paciente 3"]
    by_phone = client.get("/api/v1/chats?q=98765-4301", headers=AUTH).json()["items"]
    assert [c["customer_name"] for c in by_phone] == ["Paciente 1"]
    assert client.get("/api/v1/chats?mode=human", headers=AUTH).json()["items"] == []
    assert len(client.get("/api/v1/chats?unread=true", headers=AUTH).json()["items"]) == 5
