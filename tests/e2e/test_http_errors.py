"""Bad input on every endpoint gets problem details and changes nothing stored."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import AUTH, simulate

PROBLEM = "application/problem+json"


def _snapshot(client):
    chats = client.get("/api/v1/chats?limit=200", headers=AUTH).json()["items"]
    return chats, [
        client.get(f"/api/v1/chats/{c['id']}/messages?limit=200", headers=AUTH).json()["items"]
        for c in chats
    ]


@pytest.fixture
def chat_id(client, channel_id):
    return simulate(client, channel_id, "Olá").json()["chat_id"]


def bad_requests(channel_id, chat_id):
    hook = f"/webhooks/simulator/{channel_id}"
    chat = f"/api/v1/chats/{chat_id}"
    return [
        ("GET", "/api/v1/chats?limit=0", None, 400),
        ("GET", "/api/v1/chats?limit=abc", None, 400),
        ("GET", "/api/v1/chats?mode=robot", None, 400),
        ("GET", "/api/v1/chats?cursor=%%%", None, 422),
        ("GET", "/api/v1/chats?assignee=a&unassigned=true", None, 422),
        ("GET", "/api/v1/chats/nope", None, 404),
        ("GET", "/api/v1/chats/nope/messages", None, 404),
        ("GET", f"{chat}/messages?limit=1000", None, 400),
        ("GET", f"{chat}/messages?cursor=bm90LWEtY3Vyc29y", None, 422),
        ("PATCH", chat, {"mode": "robot"}, 400),
        ("PATCH", chat, {"mode": "paused"}, 422),
        ("PATCH", chat, {"mode": "paused", "paused_until": "2020-01-01T00:00:00+00:00"}, 422),
        ("PATCH", chat, {"mode": "paused", "paused_until": "2030-01-01T00:00:00"}, 400),
        ("PATCH", chat, {"status": "open"}, 409),
        ("PATCH", chat, {"surprise": 1}, 400),
        ("PATCH", chat, {"reason": "sem modo"}, 422),
        ("PATCH", chat, {"assignee_id": " "}, 422),
        ("PATCH", "/api/v1/chats/nope", {"mode": "ai"}, 404),
        ("POST", f"{chat}/messages", {"text": ""}, 400),
        ("POST", f"{chat}/messages", {"text": "   "}, 422),
        ("POST", f"{chat}/messages", {"text": "x" * 4097}, 400),
        ("POST", f"{chat}/messages", {}, 422),  # neither text nor media_id
        ("POST", f"{chat}/messages", {"media_id": "nope"}, 422),
        ("POST", f"{chat}/messages", "not json", 400),
        ("POST", "/api/v1/chats/nope/messages", {"text": "oi"}, 404),
        ("GET", "/api/v1/chats?waiting=maybe", None, 400),
        ("POST", f"{chat}/messages", {"template": {"name": "retorno"}}, 422),  # no such template
        ("POST", f"{chat}/messages", {"template": {"name": "a", "parameters": "x"}}, 400),
        ("POST", f"{chat}/messages", {"template": {"name": "a"}, "text": "oi"}, 422),
        ("GET", "/api/v1/channels/nope/templates", None, 404),
        ("GET", "/api/v1/dashboard?date=2026-13-01", None, 400),
        ("POST", hook, {}, 422),
        ("POST", hook, {"message": {"id": "x", "from": "abc", "text": "oi"}}, 422),
        ("POST", hook, {"message": {"id": "x", "from": "+5511987654321"}}, 400),
        ("POST", hook, {"message": {"id": "", "from": "+5511987654321", "text": "oi"}}, 400),
        ("POST", hook, {"status": {"id": "x", "status": "exploded"}}, 400),
        (
            "POST",
            hook,
            {
                "message": {"id": "x", "from": "+5511987654321", "text": "oi"},
                "status": {"id": "y", "status": "read"},
            },
            422,
        ),
        (
            "POST",
            "/webhooks/simulator/nope",
            {"message": {"id": "x", "from": "+5511987654321", "text": "oi"}},
            404,
        ),
        ("POST", hook, "[1,2", 400),
    ]


def test_every_bad_request_is_a_problem_and_changes_nothing(client, channel_id, chat_id):
    before = _snapshot(client)
    for method, url, body, status in bad_requests(channel_id, chat_id):
        kwargs = {"content": body} if isinstance(body, str) else {"json": body}
        if body is None:
            kwargs = {}
        headers = {**AUTH, "Content-Type": "application/json"} if body is not None else AUTH
        response = client.request(method, url, headers=headers, **kwargs)
        assert response.status_code == status, (method, url, body, response.text)
        assert response.headers["content-type"].startswith(PROBLEM), (method, url)
        problem = response.json()
        assert problem["status"] == status
        assert problem["type"].startswith("urn:porfin:problem:")
        assert problem["title"]
    assert _snapshot(client) == before


def test_validation_problems_name_the_offending_field(client, channel_id):
    response = client.post(
        f"/webhooks/simulator/{channel_id}",
        json={"message": {"id": "x", "from": "abc", "text": "oi"}},
        headers=AUTH,
    )
    assert response.json()["code"] == "invalid_phone"
    bad = client.get("/api/v1/chats?limit=0", headers=AUTH).json()
    assert bad["errors"][0]["field"].endswith("limit")


def test_every_protected_route_refuses_a_missing_or_wrong_token(client, channel_id, chat_id):
    routes = [
        ("GET", "/api/v1/chats"),
        ("GET", f"/api/v1/chats/{chat_id}"),
        ("PATCH", f"/api/v1/chats/{chat_id}"),
        ("GET", f"/api/v1/chats/{chat_id}/messages"),
        ("POST", f"/api/v1/chats/{chat_id}/messages"),
        ("GET", "/api/v1/channels"),
        ("GET", f"/api/v1/channels/{channel_id}/templates"),
        ("GET", "/api/v1/dashboard"),
        ("POST", f"/webhooks/simulator/{channel_id}"),
    ]
    for method, url in routes:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
            response = client.request(method, url, headers=headers, json={})
            assert response.status_code == 401, (method, url, headers)
            assert response.headers["content-type"].startswith(PROBLEM)
            assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_body_larger_than_the_limit_is_refused(client, channel_id):
    huge = "x" * 1_100_000
    response = client.post(
        f"/webhooks/simulator/{channel_id}",
        content=huge,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)


def test_unknown_routes_and_methods_are_problems(client):
    assert client.get("/nope", headers=AUTH).headers["content-type"].startswith(PROBLEM)
    response = client.delete("/api/v1/chats", headers=AUTH)
    assert response.status_code == 405
    assert response.headers["content-type"].startswith(PROBLEM)


def test_openapi_documents_every_operation_with_its_problems(client):
    schema = client.get("/schema/openapi.json").json()
    assert schema["openapi"].startswith("3.1")
    schemes = schema["components"]["securitySchemes"]
    assert schemes["OAuth2"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if path in ("/health", "/ready", "/metrics") or path.startswith("/api/v1/auth/"):
                assert operation["security"] == [{}], (method, path)
                continue
            if path == "/api/v1/calendar/oauth/callback" or path.endswith("/calendar.ics"):
                # Public: the signed OAuth state / the feed's token in the URL is the credential.
                assert operation["security"] == [{}], (method, path)
                continue
            if path.startswith("/webhooks/whatsapp/cloud/") and method == "get":
                # Meta's handshake: checked against the verify token, answers 403 otherwise.
                assert operation["security"] == [{}], (method, path)
                assert "403" in operation["responses"], (method, path)
                continue
            if path.startswith("/webhooks/whatsapp/cloud/"):
                assert operation["security"] == [{"MetaSignature": []}], (method, path)
            elif path.startswith("/webhooks/whatsapp/evolution/"):
                assert operation["security"] == [{"ChannelWebhookSecret": []}], (method, path)
            elif path.startswith("/webhooks/payments/"):
                assert operation["security"] == [{"PaymentWebhookSignature": []}], (method, path)
            elif path.startswith("/webhooks/"):
                assert operation["security"] == [{"BearerToken": []}], (method, path)
            else:
                assert operation["security"] == [{"BearerToken": []}, {"OAuth2": []}]
                assert "403" in operation["responses"], (method, path)
            assert "401" in operation["responses"], (method, path)
            assert PROBLEM in operation["responses"]["401"]["content"], (method, path)
    assert client.get("/schema/swagger").status_code == 200
    assert client.get("/schema/scalar").status_code == 200
