"""Operations: request ids, security headers, CORS, access log and Prometheus metrics."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from dependency_injector import providers
from litestar.testing import TestClient

from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, TOKEN, simulate

PROBLEM = "application/problem+json"
API_CSP = "default-src 'none'; frame-ancestors 'none'"
ORIGIN = "https://app.clinica.com.br"
METRICS_TOKEN = "metrics-token-0123456789"


@pytest.fixture
def make_client(tmp_path, clock) -> Iterator[Any]:
    """``make_client(**settings)``: a running app with these settings on top of the tests'."""
    clients: list[TestClient[Any]] = []

    def make(**overrides: Any) -> TestClient[Any]:
        data_dir = tmp_path / f"app{len(clients)}"
        settings = Settings(
            storage=StorageKind.SQLITE, data_dir=data_dir, admin_token=TOKEN, **overrides
        )
        container = create_container(settings)
        container.clock.override(providers.Object(clock))
        client = TestClient(create_app(container))
        clients.append(client.__enter__())
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def logs() -> Iterator[list[dict[str, Any]]]:
    """Every structlog event, with the context variables merged in as in production."""
    capture = structlog.testing.LogCapture()
    previous = structlog.get_config()
    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, capture],
        cache_logger_on_first_use=False,
    )
    yield capture.entries
    structlog.configure(**previous)


def assert_security_headers(response, *, api: bool = True) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in headers
    if api:
        assert headers["content-security-policy"] == API_CSP
        assert headers["cache-control"] == "no-store"


# -- security headers ------------------------------------------------------------------------


def test_every_kind_of_answer_carries_the_security_headers(client, channel_id):
    answers = [
        client.get("/api/v1/chats", headers=AUTH),  # 200, patient data
        client.get("/health"),
        client.get("/ready"),
        simulate(client, channel_id),
        client.get("/api/v1/chats/nope", headers=AUTH),  # 404 problem from a handler
        client.get("/api/v1/chats"),  # 401 problem from the guard
        client.get("/nope"),  # 404 problem from the router
        client.delete("/api/v1/chats", headers=AUTH),  # 405 problem from the router
        client.get("/metrics"),
    ]
    for response in answers:
        assert_security_headers(response)
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 404, 401, 404, 405, 200]


def test_the_openapi_pages_get_a_policy_that_lets_their_scripts_run(client):
    for path in ("/schema", "/schema/swagger", "/schema/scalar"):
        response = client.get(path)
        assert response.status_code == 200
        assert_security_headers(response, api=False)
        policy = response.headers["content-security-policy"]
        assert "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net" in policy
        assert "frame-ancestors 'none'" in policy
        # every script the page loads is allowed by the policy
        for src in re.findall(r'<script[^>]*src="([^"]+)"', response.text):
            assert src.startswith("https://cdn.jsdelivr.net/"), src
        assert "cache-control" not in response.headers


def test_hsts_only_when_configured(make_client):
    client = make_client(hsts_max_age=31_536_000)
    for response in (client.get("/health"), client.get("/nope"), client.get("/schema")):
        assert response.headers["strict-transport-security"] == "max-age=31536000"


def test_a_body_larger_than_the_limit_is_a_problem_with_headers(make_client):
    client = make_client(max_body_bytes=2048)
    channel_id = client.get("/api/v1/channels", headers=AUTH).json()[0]["id"]
    response = client.post(
        f"/webhooks/simulator/{channel_id}",
        content=b"x" * 4096,
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert_security_headers(response)


# -- request ids -----------------------------------------------------------------------------


def test_a_well_formed_request_id_is_echoed(client):
    for request_id in ("abc-123", "req_01.ABC", "x" * 128):
        response = client.get("/health", headers={"X-Request-ID": request_id})
        assert response.headers["x-request-id"] == request_id


@pytest.mark.parametrize("bad", ["x" * 129, "has space", "a/b", "ação".encode(), "<script>", ""])
def test_a_malformed_request_id_is_replaced(client, bad):
    response = client.get("/health", headers={"X-Request-ID": bad})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_each_request_gets_its_own_id_and_problems_quote_it(client):
    ids = {client.get("/health").headers["x-request-id"] for _ in range(5)}
    assert len(ids) == 5
    problem = client.get("/api/v1/chats/nope", headers={**AUTH, "X-Request-ID": "trace-me-1"})
    assert problem.json()["request_id"] == "trace-me-1"
    assert problem.headers["x-request-id"] == "trace-me-1"


def test_log_lines_of_a_request_carry_its_id(container, logs):
    class Broken:
        async def __call__(self, command: Any) -> Any:
            raise RuntimeError("disk on fire")

    container.list_channels.override(providers.Object(Broken()))
    with TestClient(create_app(container)) as client:
        response = client.get("/api/v1/channels", headers={**AUTH, "X-Request-ID": "incident-7"})
    assert response.status_code == 500
    assert response.json()["request_id"] == "incident-7"
    assert "disk on fire" not in response.text
    errors = [e for e in logs if e["event"] == "http.unhandled_error"]
    assert [e["request_id"] for e in errors] == ["incident-7"]


# -- access log ------------------------------------------------------------------------------


def test_no_access_log_by_default(client, logs):
    client.get("/api/v1/chats", headers=AUTH)
    assert not [e for e in logs if e["event"] == "http.request"]


def test_the_access_log_has_one_line_per_request_without_probe_noise(make_client, logs):
    client = make_client(access_log=True)
    chat_id = simulate(client, client.get("/api/v1/channels", headers=AUTH).json()[0]["id"])
    chat_id = chat_id.json()["chat_id"]
    logs.clear()
    client.get(f"/api/v1/chats/{chat_id}", headers={**AUTH, "X-Request-ID": "line-1"})
    client.get("/health")
    client.get("/ready")
    client.get("/metrics")
    client.get("/nope")
    lines = [e for e in logs if e["event"] == "http.request"]
    assert [(e["method"], e["route"], e["status"]) for e in lines] == [
        ("GET", "/api/v1/chats/{chat_id}", 200),
        ("GET", "unmatched", 404),
    ]
    first = lines[0]
    assert first["request_id"] == "line-1"
    assert first["log_level"] == "info"
    assert first["client_ip"] == "testclient"
    assert isinstance(first["duration_ms"], float)
    assert chat_id not in str(first)


# -- CORS ------------------------------------------------------------------------------------


def preflight(client, origin: str, method: str = "PATCH"):
    return client.options(
        "/api/v1/chats/some-chat",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_no_cors_headers_unless_origins_are_configured(client):
    response = client.get("/api/v1/chats", headers={**AUTH, "Origin": ORIGIN})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


def test_a_configured_origin_passes_the_preflight_and_reads_answers(make_client):
    client = make_client(cors_origins=(ORIGIN, "http://localhost:5173"))
    response = preflight(client, ORIGIN)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert {"authorization", "content-type"} <= set(allowed_headers.split(", "))
    methods = set(response.headers["access-control-allow-methods"].split(", "))
    assert {"GET", "POST", "PATCH"} <= methods
    assert "origin" in response.headers["vary"].lower()
    assert_security_headers(response)

    answer = client.get("/api/v1/chats", headers={**AUTH, "Origin": ORIGIN})
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    assert "X-Request-ID" in answer.headers["access-control-expose-headers"]


def test_other_origins_are_refused(make_client):
    client = make_client(cors_origins=(ORIGIN,))
    response = preflight(client, "https://evil.example")
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    answer = client.get("/api/v1/chats", headers={**AUTH, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers
    assert preflight(client, ORIGIN, method="TRACE").status_code == 400


# -- metrics ---------------------------------------------------------------------------------


def scrape(client, headers: dict[str, str] | None = None) -> str:
    response = client.get("/metrics", headers=headers or {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of the series ``name{labels}`` (labels in any order), or None."""
    for line in text.splitlines():
        match = re.fullmatch(r"(\w+)(?:\{(.*)\})? (\S+)", line)
        if match is None or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return None


def test_metrics_count_requests_by_route_template_and_messages_by_kind(client, channel_id, clock):
    chat_id = simulate(client, channel_id, "Oi", message_id="m-1").json()["chat_id"]
    simulate(client, channel_id, "Tudo bem?", message_id="m-2")
    clock.advance(minutes=1)
    sent = client.post(f"/api/v1/chats/{chat_id}/messages", json={"text": "Olá!"}, headers=AUTH)
    provider_id = sent.json()["provider_message_id"]
    status = {"status": {"id": provider_id, "status": "delivered"}}
    client.post(f"/webhooks/simulator/{channel_id}", json=status, headers=AUTH)
    for _ in range(3):
        client.get(f"/api/v1/chats/{chat_id}", headers=AUTH)
    client.get("/nope/123")
    client.request("BREW", "/api/v1/chats")

    deadline = time.monotonic() + 5
    while True:  # events reach the counters through the dispatcher, in the background
        text = scrape(client)
        if sample(text, "porfin_message_status_total", status="delivered") or (
            time.monotonic() > deadline
        ):
            break
        time.sleep(0.05)

    def requests(method: str, route: str, status: str) -> float | None:
        return sample(text, "porfin_http_requests_total", method=method, route=route, status=status)

    def durations(suffix: str, **labels: str) -> float | None:
        return sample(text, f"porfin_http_request_duration_seconds_{suffix}", **labels)

    route = "/api/v1/chats/{chat_id}"
    hook = "/webhooks/simulator/{channel_id}"
    assert requests("GET", route, "200") == 3
    assert requests("POST", hook, "200") == 3
    assert requests("GET", "unmatched", "404") == 1
    assert requests("other", "unmatched", "405") == 1  # unknown methods share one label
    assert durations("count", method="GET", route=route) == 3
    assert durations("bucket", method="GET", route=route, le="+Inf") == 3
    assert durations("bucket", method="GET", route=route, le="10.0") == 3
    assert sample(text, "porfin_messages_total", direction="inbound", author="patient") == 2
    assert sample(text, "porfin_messages_total", direction="outbound", author="staff") == 1
    assert sample(text, "porfin_message_status_total", status="sent") == 1
    assert sample(text, "porfin_message_status_total", status="delivered") == 1

    # Route labels are templates: no id ever becomes a label value.
    routes = set(re.findall(r'route="([^"]*)"', text))
    assert routes <= {
        "/api/v1/chats",
        route,
        "/api/v1/chats/{chat_id}/messages",
        "/api/v1/channels",
        hook,
        "/metrics",
        "unmatched",
    }, routes
    assert chat_id not in text and channel_id not in text


def test_metrics_behind_a_token(make_client):
    client = make_client(metrics_token=METRICS_TOKEN)
    for headers in ({}, AUTH, {"Authorization": "Bearer wrong"}):
        response = client.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"].startswith(PROBLEM)
        assert "porfin_http" not in response.text
    assert "porfin_http_requests_total" in scrape(
        client, {"Authorization": f"Bearer {METRICS_TOKEN}"}
    )


def test_metrics_can_be_turned_off(make_client):
    client = make_client(metrics_enabled=False)
    assert client.get("/metrics").status_code == 404
    assert client.get("/health").status_code == 200


def test_metrics_are_not_part_of_the_openapi_document(client):
    assert "/metrics" not in client.get("/schema/openapi.json").json()["paths"]


def test_openmetrics_is_served_when_asked_for(client):
    response = client.get("/metrics", headers={"Accept": "application/openmetrics-text"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


def test_multiprocess_mode_adds_up_every_worker(tmp_path, monkeypatch):
    from prometheus_client import values

    from porfin_http.metrics import Metrics

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    workers = []
    for pid in ("101", "102"):  # what each worker process would be
        monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda pid=pid: pid))
        metrics = Metrics()
        metrics.observe_request("GET", "/health", 200, 0.002)
        workers.append(metrics)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "counter_101.db",
        "counter_102.db",
        "histogram_101.db",
        "histogram_102.db",
    ]
    for metrics in workers:
        text = metrics.exposition(None)[0].decode()
        labels = {"method": "GET", "route": "/health"}
        assert sample(text, "porfin_http_requests_total", **labels, status="200") == 2
        assert sample(text, "porfin_http_request_duration_seconds_count", **labels) == 2


# -- the real server -------------------------------------------------------------------------


@pytest.mark.slow
def test_two_workers_share_their_metrics_and_log_json_with_request_ids(tmp_path):
    import json
    import os
    import signal
    import subprocess
    import urllib.request

    from tests.support import free_port, serve

    port = free_port()
    env = {
        **os.environ,
        "PORFIN_DATA_DIR": str(tmp_path),
        "PORFIN_ADMIN_TOKEN": TOKEN,
        "PORFIN_ACCESS_LOG": "true",
        "PORFIN_LOG_FORMAT": "json",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    stale = tmp_path / "prometheus" / "counter_1.db"
    stale.parent.mkdir()
    stale.write_bytes(b"left by an earlier run")
    proc = serve(port, env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"

    def get(path: str, **headers: str) -> tuple[int, str]:
        request = urllib.request.Request(f"{url}{path}", headers=headers)
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read().decode()

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get("/health")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert not stale.exists()
        for i in range(20):
            get("/api/v1/channels", Authorization=f"Bearer {TOKEN}", **{"X-Request-ID": f"r-{i}"})
        # Whichever worker answers the scrape, it reports both workers' requests.
        for _ in range(4):
            text = get("/metrics")[1]
            labels = {"method": "GET", "route": "/api/v1/channels", "status": "200"}
            assert sample(text, "porfin_http_requests_total", **labels) == 20
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["event"] == "http.request"]
    assert sorted(line["request_id"] for line in requests) == sorted(f"r-{i}" for i in range(20))
    assert {line["route"] for line in requests} == {"/api/v1/channels"}
    assert all(line["level"] == "info" and line["timestamp"] for line in requests)
