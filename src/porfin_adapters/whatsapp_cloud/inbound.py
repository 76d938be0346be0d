"""Recording what a Cloud API webhook reported, through the core's use cases.

Only local work happens here: each message and status is committed by its use case, and the
webhook answers as soon as all are. Media stays a reference (Meta's media id, type, hash);
fetching the bytes is later work, after the commit.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import attrs

from porfin_adapters.webhook_outcomes import Outcome
from porfin_adapters.whatsapp_cloud.webhook import (
    Event,
    Ignored,
    InboundMessage,
    StatusUpdate,
    parse_webhook,
)
from porfin_core.domain.channel import Channel, Provider
from porfin_core.ports.clock import Clock
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage, ReceiveMessage
from porfin_core.use_cases.record_delivery_status import DeliveryReport, RecordDeliveryStatus

logger = logging.getLogger(__name__)


@attrs.define(kw_only=True)
class CloudApiInbound:
    """Records the events of one Cloud API webhook for a channel."""

    receive: ReceiveInboundMessage
    record_status: RecordDeliveryStatus
    clock: Clock

    async def __call__(self, channel: Channel, payload: Any) -> list[Outcome]:
        """Record ``payload`` (a decoded, signature-checked body) for an active ``channel``.

        Raises:
            StorageUnavailable, TransactionConflict: storage failed (the webhook answers 5xx
                and Meta delivers again later; everything is idempotent).
        """
        number = channel.external_ids.get("phone_number_id")
        return [
            await self._record(channel, event)
            for event in parse_webhook(payload, phone_number_id=number)
        ]

    async def _record(self, channel: Channel, event: Event) -> Outcome:
        if isinstance(event, InboundMessage):
            received = await self.receive(
                ReceiveMessage(
                    channel_id=channel.id,
                    channel=channel,
                    provider=Provider.CLOUD_API,
                    provider_message_id=event.provider_message_id,
                    sender=event.sender,
                    sender_name=event.sender_name,
                    kind=event.kind,
                    body=event.body,
                    media=event.media,
                    extra=event.extra,
                    raw=event.raw,
                    reply_to_provider_id=event.reply_to_provider_id,
                    sent_at=event.sent_at,
                )
            )
            return Outcome.of_message(received)
        if isinstance(event, StatusUpdate):
            result = await self.record_status(
                DeliveryReport(
                    channel_id=channel.id,
                    provider_message_id=event.provider_message_id,
                    status=event.status,
                    at=event.at or self.clock.now(),
                    error_code=event.error_code,
                    error_detail=event.error_detail,
                    provider=Provider.CLOUD_API,
                    message_id=event.callback_data,
                )
            )
            return Outcome.of_status(result, event.status)
        assert isinstance(event, Ignored)
        # Nothing is stored for it: the log line keeps the payload part, so it is never lost.
        logger.warning(
            "cloud api webhook part ignored: %s: %s",
            event.reason,
            _dump(event.raw),
            extra={"channel": channel.id},
        )
        return Outcome("ignored", None, event.reason)


def _dump(raw: Any) -> str:
    try:
        return json.dumps(raw, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return repr(raw)
