"""The audit log over HTTP: what the API's reads and writes leave behind, and how to read it."""

from __future__ import annotations

from tests.e2e.conftest import AUTH, simulate


def _audit(client, **params):
    response = client.get("/api/v1/audit", params=params, headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def test_reads_and_writes_of_a_chat_are_recorded_with_who_and_from_where(client, channel_id):
    chat_id = simulate(client, channel_id, "Olá").json()["chat_id"]
    assert client.get(f"/api/v1/chats/{chat_id}", headers=AUTH).status_code == 200
    assert client.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH).status_code == 200
    changed = client.patch(f"/api/v1/chats/{chat_id}", json={"mode": "human"}, headers=AUTH)
    assert changed.status_code == 200
    sent = client.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Oi"}, headers=AUTH)
    assert sent.status_code in (200, 201)

    page = _audit(client)
    newest = page["items"][:4]
    assert [(r["action"], r["resource_type"], r["resource_id"]) for r in newest] == [
        ("message.send", "message", sent.json()["id"]),
        ("chat.update", "chat", chat_id),
        ("messages.read", "chat", chat_id),
        ("chat.read", "chat", chat_id),
    ]
    for record in newest:
        assert (record["actor_id"], record["actor_kind"], record["source"]) == (
            "admin",
            "api_token",
            "testclient",
        )
    assert newest[1]["details"] == {"mode": "human"}
    # The first start recorded what it created, and the chain is continuous.
    seqs = [r["seq"] for r in page["items"]]
    assert seqs == sorted(seqs, reverse=True) == list(range(len(seqs), 0, -1))
    assert [r["action"] for r in page["items"][-2:]] == ["channel.create", "clinic.create"]
    by_seq = {r["seq"]: r for r in page["items"]}
    assert all(by_seq[s]["prev_hash"] == by_seq[s - 1]["hash"] for s in seqs if s > 1)


def test_filters_and_cursor_pagination(client, channel_id):
    chat_id = simulate(client, channel_id, "Olá").json()["chat_id"]
    for _ in range(3):
        client.get(f"/api/v1/chats/{chat_id}", headers=AUTH)
    reads = _audit(client, action="chat.read", resource_type="chat", resource_id=chat_id)
    assert len(reads["items"]) == 3 and reads["next_cursor"] is None
    assert _audit(client, actor="someone-else")["items"] == []

    seen, cursor = [], None
    while True:
        params = {"limit": 2} if cursor is None else {"limit": 2, "cursor": cursor}
        page = _audit(client, **params)
        seen += [r["seq"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(len(seen), 0, -1)) and len(seen) == 5

    everything = _audit(client, since="2000-01-01T00:00:00Z", until="2100-01-01T00:00:00+00:00")
    assert len(everything["items"]) == 5
    assert _audit(client, until="2000-01-01T00:00:00Z")["items"] == []


def test_invalid_queries_are_problems(client):
    cases = [
        ({"cursor": "garbage"}, 422),
        ({"since": "2026-01-01T00:00:00"}, 422),  # no offset
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, 422),
        ({"since": "yesterday"}, 400),
        ({"limit": "0"}, 400),
    ]
    for params, status in cases:
        response = client.get("/api/v1/audit", params=params, headers=AUTH)
        assert response.status_code == status, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/audit").status_code == 401


def test_the_request_id_is_recorded(client, channel_id):
    chat_id = simulate(client, channel_id, "Olá").json()["chat_id"]
    headers = {**AUTH, "X-Request-ID": "atendimento-42"}
    assert client.get(f"/api/v1/chats/{chat_id}", headers=headers).status_code == 200
    [record] = _audit(client, action="chat.read")["items"]
    assert record["request_id"] == "atendimento-42"
