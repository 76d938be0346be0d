"""Meta's WhatsApp Cloud API webhook: ``GET``/``POST /webhooks/whatsapp/cloud/{channel_id}``.

Public routes: the handshake is checked against the channel's ``webhook_verify_token``, every
delivery against ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the channel's
``app_secret``) before the body is even parsed. See docs/whatsapp-cloud.md.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

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
    channel = await container.find_webhook_channel()(channel_id, Provider.CLOUD_API)
    if channel.archived:
        # Its secrets are gone, and a non-200 would have Meta retry for 7 days.
        return CloudWebhookOut([CloudOutcomeOut("ignored", None, "channel was removed")])
    body = await request.body()
    secret = await container.find_webhook_channel().secret(channel, "app_secret")
    if not signature_valid(body, request.headers.get(SIGNATURE_HEADER), secret):
        raise NotAuthorizedException(f"a valid {SIGNATURE_HEADER} signature is required")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClientException("the body is not JSON") from exc
    if not channel.active:
        return CloudWebhookOut([CloudOutcomeOut("ignored", None, "channel is inactive")])
    outcomes = await container.cloud_api_inbound()(channel, payload)
    return CloudWebhookOut([CloudOutcomeOut(o.outcome, o.message_id, o.detail) for o in outcomes])
