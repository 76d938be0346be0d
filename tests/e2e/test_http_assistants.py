"""AI assistants over HTTP: admins create them, managers tune tone and facts and nothing else,
the sandbox answers (whole or streamed as NDJSON), and a patient writing on WhatsApp gets the
AI's reply through the job worker, whose trace staff can read."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import AUTH, login, ok, simulate

WAIT = 10.0  # seconds: a bound on waiting for a frame, never a pause

FACTS = {"address": "Rua das Flores, 100 - Centro, São Paulo", "hours": "Seg a sex, 8h às 18h"}


@pytest.fixture
def assistant(http) -> dict:
    admin = login(http, "admin")
    created = ok(
        http.post(
            "/api/v1/assistants",
            json={"name": "Sofia", "facts": FACTS, "debounce_seconds": 0},
            headers=admin,
        ),
        201,
    )
    assert (created["engine"], created["role"], created["debounce_seconds"]) == (
        "offline",
        "receptionist",
        0,
    )
    return created


def test_admins_configure_and_managers_tune(http, assistant):
    manager, secretary = login(http, "manager"), login(http, "secretary")
    path = f"/api/v1/assistants/{assistant['id']}"
    tuned = ok(http.patch(path, json={"tone": "bem informal"}, headers=manager))
    assert tuned["tone"] == "bem informal"
    refused = http.patch(path, json={"engine": "openai"}, headers=manager)
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
    assert http.get("/api/v1/assistants", headers=secretary).status_code == 403
    assert [a["id"] for a in ok(http.get("/api/v1/assistants", headers=manager))] == [
        assistant["id"]
    ]
    bad = http.patch(path, json={"tools": ["launch_rockets"]}, headers=AUTH)
    assert (bad.status_code, "tools" in bad.text) == (422, True)
    assert http.delete(path, headers=manager).status_code == 403
    assert http.delete(path, headers=AUTH).status_code == 204
    assert http.get(path, headers=AUTH).status_code == 404


def test_the_sandbox_answers_and_streams_its_trace(http, assistant):
    manager = login(http, "manager")
    path = f"/api/v1/assistants/{assistant['id']}/sandbox"
    body = {"transcript": [{"role": "patient", "text": "Oi! Onde fica a clínica?"}]}
    answer = ok(http.post(path, json=body, headers=manager))
    assert "Rua das Flores" in answer["text"] and answer["handed_off"] is False
    assert [s["kind"] for s in answer["turn"]["steps"]][:2] == ["safety", "language"]
    streamed = http.post(f"{path}/stream", json=body, headers=manager)
    assert streamed.headers["content-type"].startswith("application/x-ndjson"), streamed.text[:300]
    lines = [json.loads(line) for line in streamed.text.splitlines()]
    assert lines[0]["type"] == "step" and lines[-1]["type"] == "reply"
    assert any(line["type"] == "text" for line in lines)
    urgent = {"transcript": [{"role": "patient", "text": "meu rosto ta muito inchado"}]}
    handed = ok(http.post(path, json=urgent, headers=manager))
    assert handed["handed_off"] is True and "192" in handed["text"]
    wrong = http.post(
        path, json={"transcript": [{"role": "assistant", "text": "x"}]}, headers=manager
    )
    assert wrong.status_code == 422


def test_a_patient_on_whatsapp_gets_the_ai_reply_and_staff_see_the_trace(http, assistant):
    secretary = login(http, "secretary")
    channel_id = ok(http.get("/api/v1/channels", headers=AUTH))[0]["id"]
    with http.websocket_connect("/api/v1/ws", headers=AUTH) as ws:
        assert ws.receive_json(timeout=WAIT)["type"] == "ready"
        ws.send_json({"action": "subscribe", "topic": "inbox"})
        assert ws.receive_json(timeout=WAIT)["type"] == "subscribed"
        chat_id = ok(simulate(http, channel_id, text="oi, qual o endereço de vocês?"))["chat_id"]
        reply = None
        while reply is None:
            frame = ws.receive_json(timeout=WAIT)
            message = frame.get("data", {}).get("message") or {}
            if frame["type"] == "message.created" and message.get("author") == "ai":
                reply = message
    assert "Rua das Flores" in reply["body"]
    turns = ok(http.get(f"/api/v1/chats/{chat_id}/assistant-turns", headers=AUTH))
    [turn] = turns
    assert turn["status"] == "replied" and turn["reply_message_ids"] == [reply["id"]]
    kinds = [s["kind"] for s in turn["steps"]]
    assert kinds[:2] == ["safety", "language"] and "model" in kinds and kinds[-1] == "delivery"
    # A secretary sees the trace of a chat she may see (unassigned chats are everyone's).
    assert ok(http.get(f"/api/v1/chats/{chat_id}/assistant-turns", headers=secretary))
    missing = http.get("/api/v1/chats/nope/assistant-turns", headers=AUTH)
    assert missing.status_code == 404
