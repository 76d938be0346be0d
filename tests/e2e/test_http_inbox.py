"""The secretaries' inbox over HTTP: chats waiting for a person, templates once the 24-hour
window has closed, the day's figures."""

from __future__ import annotations

from tests.e2e.conftest import AUTH, login, ok, simulate

TEMPLATES = [
    {"name": "retorno", "body": "Olá {{1}}, podemos falar sobre {{2}}?"},
    {"name": "lembrete", "language": "en_US", "body": "Hi {{1}}!"},
]


def test_waiting_chats_oldest_first_with_waiting_since(client, channel_id, clock):
    maria = ok(simulate(client, channel_id, "Oi", message_id="m1"))["chat_id"]
    clock.advance(minutes=1)
    joao = ok(simulate(client, channel_id, "Olá", sender="+5521998765432", message_id="j1"))
    joao = joao["chat_id"]
    assert ok(client.get("/api/v1/chats?waiting=true", headers=AUTH))["items"] == []
    # João is handed to a person first; then Maria, whose message is older.
    ok(client.patch(f"/api/v1/chats/{joao}", json={"mode": "human"}, headers=AUTH))
    chat = ok(client.patch(f"/api/v1/chats/{maria}", json={"mode": "human"}, headers=AUTH))
    assert chat["waiting_since"] == "2026-11-25T13:00:00Z"
    listed = ok(client.get("/api/v1/chats?waiting=true", headers=AUTH))["items"]
    assert [c["id"] for c in listed] == [maria, joao]
    page = ok(client.get("/api/v1/chats?waiting=true&limit=1", headers=AUTH))
    rest = ok(
        client.get(f"/api/v1/chats?waiting=true&limit=1&cursor={page['next_cursor']}", headers=AUTH)
    )
    assert [c["id"] for c in rest["items"]] == [joao] and rest["next_cursor"] is None
    # Answering Maria takes her out of the queue.
    ok(client.post(f"/api/v1/chats/{maria}/messages", json={"text": "Oi!"}, headers=AUTH), 201)
    listed = ok(client.get("/api/v1/chats?waiting=true", headers=AUTH))["items"]
    assert [c["id"] for c in listed] == [joao]
    assert ok(client.get(f"/api/v1/chats/{maria}", headers=AUTH))["waiting_since"] is None
    assert client.get("/api/v1/chats?waiting=maybe", headers=AUTH).status_code == 400


def _channel_id(http) -> str:
    return ok(http.get("/api/v1/channels", headers=AUTH))[0]["id"]


def test_a_secretary_sends_a_template_after_the_window_closed(http, clock):
    channel_id = _channel_id(http)
    admin, secretary = login(http, "admin"), login(http, "secretary")
    channel = ok(
        http.patch(f"/api/v1/channels/{channel_id}", json={"templates": TEMPLATES}, headers=admin)
    )
    assert channel["templates"][0] == {
        "name": "retorno",
        "language": "pt_BR",
        "body": "Olá {{1}}, podemos falar sobre {{2}}?",
        "parameters": 2,
    }
    # Templates are the admin's to register; a secretary reads them.
    refused = http.patch(
        f"/api/v1/channels/{channel_id}", json={"templates": []}, headers=login(http, "manager")
    )
    assert refused.status_code == 403
    listed = ok(http.get(f"/api/v1/channels/{channel_id}/templates", headers=secretary))
    assert [(t["name"], t["language"], t["parameters"]) for t in listed] == [
        ("retorno", "pt_BR", 2),
        ("lembrete", "en_US", 1),
    ]
    chat_id = ok(simulate(http, channel_id, "Quanto custa?"))["chat_id"]
    url = f"/api/v1/chats/{chat_id}/messages"
    body = {"template": {"name": "retorno", "parameters": ["Maria", "o orçamento"]}}
    message = ok(http.post(url, json=body, headers=secretary), 201)  # inside the window too
    assert (message["kind"], message["status"]) == ("template", "sent")
    assert message["body"] == "Olá Maria, podemos falar sobre o orçamento?"
    assert message["extra"]["name"] == "retorno" and message["extra"]["language"] == "pt_BR"
    # A day later (the admin token: a staff session would have expired meanwhile).
    clock.advance(hours=25)
    closed = http.post(url, json={"text": "Oi"}, headers=AUTH)
    assert closed.status_code == 409 and closed.json()["code"] == "window_closed"
    assert ok(http.post(url, json=body, headers=AUTH), 201)["kind"] == "template"
    for wrong, field in [
        ({"template": {"name": "promocao"}}, "template.name"),
        ({"template": {"name": "retorno", "parameters": ["Maria"]}}, "template.parameters"),
        ({"template": {"name": "lembrete", "parameters": ["Mary"]}}, "template.name"),
        ({"template": {"name": "retorno", "parameters": ["a", "b"]}, "text": "oi"}, "template"),
    ]:
        answer = http.post(url, json=wrong, headers=AUTH)
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == field
    english = {"template": {"name": "lembrete", "language": "en_US", "parameters": ["Mary"]}}
    assert ok(http.post(url, json=english, headers=AUTH), 201)["body"] == "Hi Mary!"
    bad = {"templates": [{"name": "retorno", "body": "Oi {{2}}"}]}
    answer = http.patch(f"/api/v1/channels/{channel_id}", json=bad, headers=AUTH)
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "templates.body"


def test_the_dashboard_of_today(http, clock):
    channel_id = _channel_id(http)
    secretary = login(http, "secretary")
    chat_id = ok(simulate(http, channel_id, "Oi"))["chat_id"]
    ok(http.patch(f"/api/v1/chats/{chat_id}", json={"mode": "human"}, headers=AUTH))
    clock.advance(minutes=2)
    figures = ok(http.get("/api/v1/dashboard", headers=secretary))
    assert figures == {
        "date": "2026-11-25",
        "timezone": "America/Sao_Paulo",
        "appointments": {
            "total": 0,
            "by_status": {
                "requested": 0,
                "confirmed": 0,
                "attended": 0,
                "no_show": 0,
                "cancelled": 0,
            },
        },
        "chats_waiting": 1,
        "longest_wait_seconds": 120,
        "new_leads": 1,
        "first_response": {"median_seconds": None, "count": 0},
        "chats_handled": {"ai": 0, "human": 0},
        "patient_messages_by_hour": [0] * 10 + [1] + [0] * 13,
    }
    ok(http.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Oi!"}, headers=AUTH), 201)
    figures = ok(http.get("/api/v1/dashboard?date=2026-11-25", headers=secretary))
    assert figures["first_response"] == {"median_seconds": 120, "count": 1}
    assert figures["chats_handled"] == {"ai": 0, "human": 1}
    assert (figures["chats_waiting"], figures["longest_wait_seconds"]) == (0, None)
    yesterday = ok(http.get("/api/v1/dashboard?date=2026-11-24", headers=secretary))
    assert yesterday["new_leads"] == 0
    assert http.get("/api/v1/dashboard?date=amanha", headers=secretary).status_code == 400
