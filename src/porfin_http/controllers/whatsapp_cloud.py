"""Meta's WhatsApp Cloud API webhook: ``GET``/``POST /webhooks/whatsapp/cloud/{channel_id}``.

Public routes: the handshake is checked against the channel's ``webhook_verify_token``, every
delivery against ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the channel's
``app_secret``) before the body is even parsed. See docs/whatsapp-cloud.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException, NotAuthorizedException, PermissionDeniedException
from litestar.params import FromPath, QueryParameter

from porfin_adapters.whatsapp_cloud.webhook import (
    SIGNATURE_HEADER,
    handshake_answer,
    signature_valid,
)
from porfin_core.domain.channel import Provider
from porfin_http.auth import META_SIGNATURE, PUBLIC
from porfin_http.deps import Services
from porfin_http.problems import problems

if TYPE_CHECKING:
    from litestar.types import ASGIApp, Message, Receive, Scope, Send


class CloudOutcomeOut(msgspec.Struct):
    """What became of one message, status or error of the webhook."""

    outcome: str
    """stored, duplicate, status, pending_status, stale_status or ignored."""
    message_id: str | None = None
    detail: str | None = None


class CloudWebhookOut(msgspec.Struct):
    """The webhook's answer (Meta only looks at the 200)."""

    outcomes: list[CloudOutcomeOut]


@get(
    "/webhooks/whatsapp/cloud/{channel_id:str}",
    summary="Cloud API webhook verification",
    description="Meta's verification handshake: with `hub.mode=subscribe` and the channel's "
    "`webhook_verify_token` as `hub.verify_token`, answers the `hub.challenge` as text; "
    "otherwise 403.",
    security=PUBLIC,
    tags=["webhooks"],
    media_type=MediaType.TEXT,
    responses=problems(403, 404),
)
async def cloud_webhook_verify(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    channel_id: FromPath[str],
    mode: Annotated[str | None, QueryParameter(name="hub.mode")] = None,
    verify_token: Annotated[str | None, QueryParameter(name="hub.verify_token")] = None,
    challenge: Annotated[str | None, QueryParameter(name="hub.challenge")] = None,
) -> Response[str]:
    """Echo the challenge to a valid verification request."""
    channel = await container.find_webhook_channel()(channel_id, Provider.CLOUD_API)
    expected = await container.find_webhook_channel().secret(channel, "webhook_verify_token")
    answer = handshake_answer(mode, verify_token, challenge, expected)
    if answer is None or channel.archived:
        raise PermissionDeniedException("the verify token does not match")
    return Response(answer, media_type=MediaType.TEXT, status_code=200)


@post(
    "/webhooks/whatsapp/cloud/{channel_id:str}",
    summary="Cloud API webhook",
    description="Receives a Meta WhatsApp Cloud API webhook (`field: messages`: messages, "
    "statuses, errors) for a Cloud API channel. Authenticated by `X-Hub-Signature-256`: "
    "`sha256=` + the HMAC-SHA256 of the raw body with the channel's `app_secret`. Idempotent "
    "on the message id; an inactive or removed channel answers 200 and records nothing. "
    "See docs/whatsapp-cloud.md.",
    status_code=200,
    security=META_SIGNATURE,
    tags=["webhooks"],
    responses=problems(400, 401, 404),
)
async def cloud_webhook(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    channel_id: FromPath[str],
) -> CloudWebhookOut:
    """Verify, parse and record one Cloud API webhook."""
    return await record_cloud_webhook(
        container, channel_id, await request.body(), request.headers.get(SIGNATURE_HEADER)
    )


async def record_cloud_webhook(
    container: Services, channel_id: str, body: bytes, signature: str | None
) -> CloudWebhookOut:
    """What :func:`cloud_webhook` does once it has the body: also run by :class:`CloudWebhookLane`.

    Raises:
        NotFound: no Cloud API channel ``channel_id``.
        NotAuthorizedException: the signature is missing or wrong.
        ClientException: the body is not JSON.
        StorageUnavailable: storage failed (Meta delivers again later).
    """
    find_channel = container.find_webhook_channel()
    channel = await find_channel(channel_id, Provider.CLOUD_API)
    if channel.archived:
        # Its secrets are gone, and a non-200 would have Meta retry for 7 days.
        return CloudWebhookOut([CloudOutcomeOut("ignored", None, "channel was removed")])
    secret = await find_channel.secret(channel, "app_secret")
    if not signature_valid(body, signature, secret):
        raise NotAuthorizedException(f"a valid {SIGNATURE_HEADER} signature is required")
    try:
        payload = _decode_json(body)
    except msgspec.DecodeError as exc:
        raise ClientException("the body is not JSON") from exc
    if not channel.active:
        return CloudWebhookOut([CloudOutcomeOut("ignored", None, "channel is inactive")])
    outcomes = await container.cloud_api_inbound()(channel, payload)
    return CloudWebhookOut([CloudOutcomeOut(o.outcome, o.message_id, o.detail) for o in outcomes])


_decode_json = msgspec.json.Decoder().decode
_encode_json = msgspec.json.Encoder().encode

CLOUD_WEBHOOK_PATH = re.compile(r"/webhooks/whatsapp/cloud/([^/]+)")
_JSON_HEADERS = [(b"content-type", b"application/json")]


class CloudWebhookLane:
    """ASGI wrapper answering Cloud API webhook deliveries without Litestar's routing,
    dependency injection and response machinery, which cost a fifth to a third of the CPU of
    each delivery (Meta may send thousands a second).

    It takes only ``POST /webhooks/whatsapp/cloud/{channel_id}`` with a ``Content-Length``
    within ``max_body_bytes`` and no ``Origin`` (servers, not browsers, call webhooks), and
    answers only what it fully recorded (200, the same body as :func:`cloud_webhook`).
    Everything else goes to the Litestar application: any other request untouched, and a
    delivery that failed in any way with its body replayed, so errors (401, 400, 404, 413,
    503...) are answered by the documented route, as RFC 9457 problem details. A delivery
    is recorded idempotently, so running it again there is harmless.
    """

    def __init__(self, app: ASGIApp, services: Services, max_body_bytes: int) -> None:
        self.app = app
        self.services = services
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        match = CLOUD_WEBHOOK_PATH.fullmatch(scope["path"])
        length, signature = -1, None
        if match is not None:
            for name, value in scope["headers"]:
                if name == b"content-length":
                    length = int(value) if value.isdigit() else -1
                elif name == b"x-hub-signature-256":
                    signature = value.decode("latin-1")
                elif name == b"origin":  # a browser's request: CORS is the framework's
                    length = -1
                    break
        if match is None or not 0 <= length <= self.max_body_bytes:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away: nothing to answer
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            answer = await record_cloud_webhook(self.services, match[1], body, signature)
        except Exception:  # answered by the route, as problem details
            await self.app(scope, _replay(body, receive), send)
            return
        encoded = _encode_json(answer)
        scope["path_template"] = CLOUD_WEBHOOK_TEMPLATE
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_JSON_HEADERS, (b"content-length", str(len(encoded)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": encoded})


CLOUD_WEBHOOK_TEMPLATE = "/webhooks/whatsapp/cloud/{channel_id}"
"""The route's name in metrics and the access log (as Litestar names it)."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """``receive`` as the application sees it again: ``body`` first, then the real one (which
    reports the disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
