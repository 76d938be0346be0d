"""The Evolution API (Baileys bridge) webhook: ``POST /webhooks/whatsapp/evolution/{id}``."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from litestar import Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import FromPath, FromQuery

from porfin_adapters.evolution.webhook import event_name
from porfin_adapters.evolution.webhook_auth import presented_secret, secret_matches
from porfin_core.domain.channel import Provider
from porfin_core.errors import ValidationError
from porfin_http.auth import CHANNEL_SECRET
from porfin_http.deps import Services
from porfin_http.problems import problems


class EvolutionOutcomeOut(msgspec.Struct):
    """What became of one event of the webhook."""

    outcome: str
    """stored, duplicate, status, pending_status, stale_status, connection, reconciled or
    ignored."""
    message_id: str | None = None
    detail: str | None = None


class EvolutionWebhookOut(msgspec.Struct):
    """The webhook's answer: the event's name and what was recorded."""

    event: str
    outcomes: list[EvolutionOutcomeOut]


@post(
    "/webhooks/whatsapp/evolution/{channel_id:str}",
    summary="Evolution API webhook",
    description="Receives an Evolution API v2 webhook (MESSAGES_UPSERT, MESSAGES_UPDATE, "
    "SEND_MESSAGE, CONNECTION_UPDATE, QRCODE_UPDATED) for an Evolution channel. "
    "Authenticated by the channel's `webhook_secret`: `Authorization: Bearer <secret>` "
    "(or an HS256 JWT signed with it, Evolution's `jwt_key`), or `?token=<secret>`. "
    "Idempotent on the message key id; an inactive channel answers 200 and records "
    "nothing. See docs/whatsapp-evolution.md.",
    status_code=200,
    security=CHANNEL_SECRET,
    tags=["webhooks"],
    responses=problems(400, 401, 404),
)
async def evolution_webhook(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    channel_id: FromPath[str],
    token: FromQuery[str | None] = None,
) -> EvolutionWebhookOut:
    """Authenticate, parse and record one Evolution webhook."""
    # Any clinic's channel: the URL names the channel, whose secret authenticates the call.
    find_channel = container.find_webhook_channel()
    channel = await find_channel(channel_id, Provider.EVOLUTION)
    secret = await find_channel.secret(channel, "webhook_secret")  # none: nothing accepted
    if not secret_matches(presented_secret(request.headers.get("authorization"), token), secret):
        raise NotAuthorizedException("a valid webhook secret is required")
    try:
        payload = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("the body is not JSON", field="body") from exc
    name = event_name(payload) if isinstance(payload, dict) else ""
    if not channel.active:
        ignored = EvolutionOutcomeOut("ignored", None, "channel is inactive")
        return EvolutionWebhookOut(name, [ignored])
    outcomes = await container.evolution_inbound()(channel, payload)
    return EvolutionWebhookOut(
        name, [EvolutionOutcomeOut(o.outcome, o.message_id, o.detail) for o in outcomes]
    )
