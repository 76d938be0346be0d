"""The Cloud API webhook's fast lane: deliveries that record cleanly are answered without
Litestar's handler machinery, everything else by the documented route, body replayed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from porfin_core.errors import NotFound
from porfin_http.app import create_app
from porfin_http.controllers.whatsapp_cloud import CLOUD_WEBHOOK_TEMPLATE, CloudWebhookLane
from tests.e2e.test_cloud_webhook import add_channel, deliver, fixture, sign


class Spy:
    """An ASGI app in front of the real one, remembering what reached it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, scope, receive, send) -> None:
        self.calls.append((scope.get("method", ""), scope.get("path", "")))
        await self.app(scope, receive, send)


@pytest.fixture
async def lane_app(container):
    """The app, with a spy between the lane and Litestar's own handling."""
    app = create_app(container)
    lane = app.asgi_handler.app  # inside the operations middleware
    assert isinstance(lane, CloudWebhookLane)
    spy = lane.app = Spy(lane.app)
    async with AsyncTestClient(app) as client:
        container.app_under_test = client
        yield client, spy


async def test_a_clean_delivery_never_reaches_the_framework(lane_app):
    client, spy = lane_app
    channel_id = await add_channel(client)
    spy.calls.clear()
    answer = await deliver(client, channel_id, fixture("inbound_text"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    assert spy.calls == []
    # The operations middleware still wraps it: request id and security headers.
    assert answer.headers["x-request-id"]
    assert answer.headers["cache-control"] == "no-store"


async def test_a_refused_delivery_is_answered_by_the_route_as_a_problem(lane_app):
    client, spy = lane_app
    channel_id = await add_channel(client)
    spy.calls.clear()
    answer = await deliver(client, channel_id, fixture("inbound_text"), secret="wrong")
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert spy.calls == [("POST", f"/webhooks/whatsapp/cloud/{channel_id}")]


async def test_the_lane_and_the_route_give_the_same_answer(lane_app):
    client, spy = lane_app
    channel_id = await add_channel(client)
    body = json.dumps(fixture("inbound_text")).encode()
    headers = {"X-Hub-Signature-256": sign(body), "Content-Type": "application/json"}
    path = f"/webhooks/whatsapp/cloud/{channel_id}"
    spy.calls.clear()
    by_lane = await client.post(path, content=body, headers=headers)
    # A browser's Origin sends the request through Litestar (CORS is the framework's).
    by_route = await client.post(path, content=body, headers={**headers, "Origin": "https://x"})
    assert spy.calls == [("POST", path)]
    assert by_lane.status_code == by_route.status_code == 200
    assert by_lane.headers["content-type"] == by_route.headers["content-type"]
    first, again = by_lane.json()["outcomes"][0], by_route.json()["outcomes"][0]
    assert (first["outcome"], again["outcome"]) == ("stored", "duplicate")
    assert first["message_id"] == again["message_id"]


def test_the_lane_names_the_route_as_litestar_does(container):
    app = create_app(container)
    assert CLOUD_WEBHOOK_TEMPLATE in {route.path_format for route in app.routes}


# -- the lane alone, in front of a fake application ------------------------------------------


class FailingServices:
    """Services whose channel lookup always fails: every delivery is the route's to answer."""

    def find_webhook_channel(self) -> Any:
        async def find(channel_id: str, provider: Any) -> Any:
            raise NotFound("channel not found", id=channel_id)

        return find


class Recorder:
    """The application behind the lane: reads the whole body and answers 299."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        body, more = b"", scope["type"] == "http"
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def run(lane, *, method="POST", path="/webhooks/whatsapp/cloud/c1", headers=(), chunks=()):
    messages = [
        {"type": "http.request", "body": chunk, "more_body": n < len(chunks) - 1}
        for n, chunk in enumerate(chunks or [b""])
    ]
    sent: list[dict[str, Any]] = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": list(headers)}
    await lane(scope, receive, send)
    return [m["status"] for m in sent if m["type"] == "http.response.start"]


def length(body: bytes) -> tuple[bytes, bytes]:
    return (b"content-length", str(len(body)).encode())


async def test_other_requests_pass_through_untouched():
    inner = Recorder()
    lane = CloudWebhookLane(inner, FailingServices(), max_body_bytes=100)  # type: ignore[arg-type]
    assert await run(lane, method="GET", headers=[length(b"x")], chunks=[b"x"]) == [299]
    assert await run(lane, path="/webhooks/whatsapp/evolution/c1", chunks=[b"y"]) == [299]
    assert await run(lane, path="/webhooks/whatsapp/cloud/c1/x", chunks=[b"z"]) == [299]
    assert inner.bodies == [b"x", b"y", b"z"]


@pytest.mark.parametrize(
    "headers",
    [
        [],  # no Content-Length (chunked): the framework enforces the body limit
        [(b"content-length", b"1000")],  # over the limit: the framework's 413
        [(b"content-length", b"abc")],
        [(b"content-length", b"4"), (b"origin", b"https://x")],
    ],
)
async def test_what_the_lane_does_not_take_is_not_read(headers):
    inner = Recorder()
    lane = CloudWebhookLane(inner, FailingServices(), max_body_bytes=100)  # type: ignore[arg-type]
    assert await run(lane, headers=headers, chunks=[b"ab", b"cd"]) == [299]
    assert inner.bodies == [b"abcd"]


async def test_a_failed_delivery_reaches_the_application_with_its_whole_body():
    inner = Recorder()
    lane = CloudWebhookLane(inner, FailingServices(), max_body_bytes=100)  # type: ignore[arg-type]
    body = [b'{"object":', b'"whatsapp_business_account"}']
    assert await run(lane, headers=[length(b"".join(body))], chunks=body) == [299]
    assert inner.bodies == [b"".join(body)]


async def test_a_client_gone_before_the_body_ends_gets_no_answer():
    inner = Recorder()
    lane = CloudWebhookLane(inner, FailingServices(), max_body_bytes=100)  # type: ignore[arg-type]
    sent: list[dict[str, Any]] = []

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/webhooks/whatsapp/cloud/c1",
        "headers": [(b"content-length", b"5")],
    }
    await lane(scope, receive, send)
    assert sent == []
    assert inner.bodies == []
