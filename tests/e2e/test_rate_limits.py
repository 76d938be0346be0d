"""Abuse limits through the API: a bucket per caller, one per client address on /auth, 429s
with Retry-After and RateLimit headers, and one shared bucket across instances with Redis."""

from __future__ import annotations

import pytest
from dependency_injector import providers
from litestar.testing import TestClient

from porfin_adapters.container import create_container
from porfin_adapters.redis.client import redis_client
from porfin_adapters.redis.rate_limits import RedisRateLimiter
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app
from porfin_http.rate_limits import client_key
from tests.e2e.conftest import AUTH, FAST_HASHER, PASSWORD, TOKEN

PROBLEM = "application/problem+json"
# 6 a minute plus a burst of 4: a full bucket of 10, a token back every 10 s.
LOW_LIMITS = {"rate_limit_per_minute": 6, "rate_limit_burst": 4, "auth_rate_limit_per_minute": 3}


def _settings(tmp_path, **overrides):
    return Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        **{**LOW_LIMITS, **overrides},
    )


@pytest.fixture
def container(tmp_path, clock):
    container = create_container(_settings(tmp_path))
    container.clock.override(providers.Object(clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    return container


def _limits(response):
    return tuple(
        response.headers.get(f"ratelimit-{name}") for name in ("limit", "remaining", "reset")
    )


def test_a_burst_then_429_with_retry_after_and_ratelimit_headers(client):
    for n in range(10):
        answer = client.get("/api/v1/channels", headers=AUTH)
        assert answer.status_code == 200, answer.text
        assert _limits(answer) == ("10", str(9 - n), str(10 * (n + 1)))
        assert answer.headers["ratelimit-policy"] == "6;w=60;burst=4"
    refused = client.get("/api/v1/chats", headers=AUTH)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith(PROBLEM)
    assert refused.headers["retry-after"] == "10"
    assert _limits(refused) == ("10", "0", "100")
    assert refused.headers["ratelimit-policy"] == "6;w=60;burst=4"
    assert refused.headers["x-request-id"]  # the operations middleware's headers are there too
    problem = refused.json()
    assert (problem["status"], problem["code"]) == (429, "rate_limited")
    assert problem["type"] == "urn:porfin:problem:rate_limited"
    assert problem["retry_after"] == 10


def test_tokens_come_back_as_the_clock_advances(client, clock):
    for _ in range(10):
        client.get("/api/v1/channels", headers=AUTH)
    assert client.get("/api/v1/channels", headers=AUTH).status_code == 429
    clock.advance(seconds=9)
    refused = client.get("/api/v1/channels", headers=AUTH)
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    clock.advance(seconds=1)
    assert client.get("/api/v1/channels", headers=AUTH).status_code == 200
    assert client.get("/api/v1/channels", headers=AUTH).status_code == 429
    clock.advance(minutes=10)  # a rested bucket holds the burst again, never more
    statuses = [client.get("/api/v1/channels", headers=AUTH).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]


def test_refused_and_forbidden_requests_count_too(client):
    for _ in range(10):
        client.get("/api/v1/chats/nope", headers=AUTH)  # 404s take tokens like any request
    assert client.get("/api/v1/channels", headers=AUTH).status_code == 429
    # Without a valid token there is no caller to charge: 401, no RateLimit headers.
    anonymous = client.get("/api/v1/channels", headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
    assert "ratelimit-limit" not in anonymous.headers


def test_the_defaults_are_100_a_minute_plus_a_burst_of_50(tmp_path, clock):
    container = create_container(
        Settings(storage=StorageKind.SQLITE, data_dir=tmp_path, admin_token=TOKEN)
    )
    container.clock.override(providers.Object(clock))
    with TestClient(create_app(container)) as client:
        answers = [client.get("/api/v1/channels", headers=AUTH) for _ in range(151)]
    assert [a.status_code for a in answers] == [200] * 150 + [429]
    assert _limits(answers[0]) == ("150", "149", "1")
    assert answers[0].headers["ratelimit-policy"] == "100;w=60;burst=50"
    assert answers[-1].headers["retry-after"] == "1"  # a token every 0.6 s


async def _login(api, email, password=PASSWORD):
    return await api.post("/api/v1/auth/login", json={"email": email, "password": password})


async def test_login_and_refresh_are_limited_per_client_address(api):
    wrong = [await _login(api, "ana@clinica.com.br", "wrong password!") for _ in range(2)]
    assert [a.status_code for a in wrong] == [401, 401]
    assert wrong[0].headers["ratelimit-policy"] == "3;w=60"
    assert _limits(wrong[1]) == ("3", "1", "40")
    session = await _login(api, "bia@clinica.com.br")
    assert session.status_code == 200
    # The address has spent its three attempts: even the right password waits, on any account.
    refused = await _login(api, "gerente@clinica.com.br")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "20"
    assert refused.json()["code"] == "rate_limited"
    for path, body in [
        ("/api/v1/auth/refresh", {"refresh_token": session.json()["refresh_token"]}),
        ("/api/v1/auth/token", {"username": "bia@clinica.com.br", "password": PASSWORD}),
    ]:
        kwargs = {"json": body} if path.endswith("refresh") else {"data": body}
        assert (await api.post(path, **kwargs)).status_code == 429, path
    # Refused before the body is read: a malformed body is limited just the same.
    assert (await api.post("/api/v1/auth/login", content=b"{")).status_code == 429
    # The API itself counts per caller, not per address.
    bia = {"Authorization": f"Bearer {session.json()['access_token']}"}
    assert (await api.get("/api/v1/me", headers=bia)).status_code == 200


async def test_each_caller_has_a_bucket_of_their_own(api, clock):
    session = (await _login(api, "gerente@clinica.com.br")).json()
    manager = {"Authorization": f"Bearer {session['access_token']}"}
    for _ in range(10):
        assert (await api.get("/api/v1/chats", headers=AUTH)).status_code == 200
    assert (await api.get("/api/v1/chats", headers=AUTH)).status_code == 429
    mine = await api.get("/api/v1/chats", headers=manager)
    assert mine.status_code == 200
    assert mine.headers["ratelimit-remaining"] == "9"


def test_two_instances_on_one_redis_share_a_callers_bucket(tmp_path, clock, redis_url):
    settings = _settings(tmp_path, redis_url=redis_url)
    instances = [create_container(settings) for _ in range(2)]
    for instance in instances:
        instance.clock.override(providers.Object(clock))
    with (
        TestClient(create_app(instances[0])) as api_a,
        TestClient(create_app(instances[1])) as api_b,
    ):
        for n in range(10):
            api = (api_a, api_b)[n % 2]
            answer = api.get("/api/v1/channels", headers=AUTH)
            assert (answer.status_code, answer.headers["ratelimit-remaining"]) == (200, str(9 - n))
        for api in (api_a, api_b):
            refused = api.get("/api/v1/channels", headers=AUTH)
            assert (refused.status_code, refused.headers["retry-after"]) == (429, "10")
        clock.advance(seconds=10)
        assert api_b.get("/api/v1/channels", headers=AUTH).status_code == 200
        assert api_a.get("/api/v1/channels", headers=AUTH).status_code == 429


def test_an_unreachable_redis_lets_requests_through(tmp_path, clock):
    """Limits must not take the API down: while Redis does not answer, requests pass."""
    container = create_container(_settings(tmp_path))
    container.clock.override(providers.Object(clock))
    nowhere = redis_client(Settings(redis_url="redis://127.0.0.1:1/0"))  # nothing listens
    container.rate_limiter.override(providers.Object(RedisRateLimiter(nowhere)))
    with TestClient(create_app(container)) as client:
        answers = [client.get("/api/v1/channels", headers=AUTH) for _ in range(12)]
    assert {a.status_code for a in answers} == {200}
    assert "ratelimit-limit" not in answers[0].headers


# Public routes a calendar app or Google's redirect calls without a bearer token: the OAuth
# callback (its signed state is the credential) and the ICS feed (a 256-bit token). Calendar
# apps poll the feed every few minutes; the per-address bucket of the login routes would
# lock staff out behind the same address.
UNLIMITED = {
    "/api/v1/calendar/oauth/callback",
    "/api/v1/professionals/{professional_id}/calendar.ics",
}


def test_openapi_documents_the_429_of_every_limited_operation(client):
    schema = client.get("/schema/openapi.json").json()
    limited = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path in UNLIMITED:
                assert "429" not in responses, (method, path)
            elif path.startswith("/api/v1/"):
                assert "429" in responses, (method, path)
                assert PROBLEM in responses["429"]["content"], (method, path)
                limited += 1
            else:
                assert "429" not in responses, (method, path)
    assert limited > 10
    # The RateLimit headers, on the success answers Litestar describes (not on the ones an
    # operation describes itself, such as a file download).
    for path, method, status in [
        ("/api/v1/chats", "get", "200"),
        ("/api/v1/auth/login", "post", "200"),
        ("/api/v1/auth/logout", "post", "204"),
    ]:
        headers = schema["paths"][path][method]["responses"][status]["headers"]
        assert {
            "RateLimit-Limit",
            "RateLimit-Remaining",
            "RateLimit-Reset",
            "RateLimit-Policy",
        } <= set(headers), (method, path)


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("203.0.113.9", "ip:203.0.113.9"),
        ("2001:db8:1:2:aaaa::1", "ip:2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:1:2:3", "ip:2001:db8:1:2::/64"),  # the same subscriber
        ("::ffff:203.0.113.9", "ip:203.0.113.9"),
        ("testclient", "ip:testclient"),
        (None, "ip:unknown"),
    ],
)
def test_client_addresses_are_keyed_by_subscriber(host, key):
    assert client_key(host) == key
