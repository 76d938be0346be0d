"""Recording what an Evolution webhook reported, through the core's use cases.

Only fast, local work happens here (the inline media is already in the payload); the webhook
answers as soon as everything is committed.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from porfin_adapters.evolution.health import ChannelActivity
from porfin_adapters.evolution.inbound_media import keep_inline_media
from porfin_adapters.evolution.webhook import (
    ConnectionChange,
    Event,
    Ignored,
    InboundMessage,
    OutboundEcho,
    QrCodeChange,
    StatusUpdate,
    parse_event,
)
from porfin_adapters.webhook_outcomes import Outcome
from porfin_core.domain.channel import Channel, Provider
from porfin_core.ports.clock import Clock
from porfin_core.ports.media import MediaStore
from porfin_core.use_cases.receive_inbound_message import ReceiveInboundMessage, ReceiveMessage
from porfin_core.use_cases.record_channel_connection import (
    ConnectionReport,
    RecordChannelConnection,
)
from porfin_core.use_cases.record_delivery_status import DeliveryReport, RecordDeliveryStatus

logger = logging.getLogger(__name__)


@attrs.define(kw_only=True)
class EvolutionInbound:
    """Records the events of one Evolution webhook for a channel.

    Every webhook also notes the channel's last activity in ``activity`` (in this process,
    no write: the health monitor persists it, see :mod:`porfin_adapters.evolution.health`).
    """

    receive: ReceiveInboundMessage
    record_status: RecordDeliveryStatus
    record_connection: RecordChannelConnection
    media: MediaStore
    clock: Clock
    activity: ChannelActivity = attrs.field(factory=ChannelActivity)

    async def __call__(self, channel: Channel, payload: Any) -> list[Outcome]:
        """Record ``payload`` for ``channel`` (authenticated and active).

        Raises:
            StorageUnavailable, TransactionConflict: storage failed (the webhook answers 5xx
                and Evolution retries).
        """
        now = self.clock.now()
        # Any webhook, even one with nothing to record (presence...), shows the session alive.
        self.activity.seen(channel.id, now)
        groups = channel.settings.get("groups") == "true"
        outcomes = []
        for event in parse_event(payload, now=now, groups=groups):
            outcomes.append(await self._record(channel, event))
        return outcomes

    async def _record(self, channel: Channel, event: Event) -> Outcome:
        if isinstance(event, InboundMessage):
            return await self._message(channel, event)
        if isinstance(event, StatusUpdate | OutboundEcho):
            status = event.status if isinstance(event, StatusUpdate) else "sent"
            result = await self.record_status(
                DeliveryReport(
                    channel_id=channel.id,
                    provider_message_id=event.provider_message_id,
                    status=status,
                    at=event.at,
                    error_detail="Evolution reported ERROR" if status == "failed" else None,
                    provider=Provider.EVOLUTION,
                )
            )
            if isinstance(event, OutboundEcho):
                return Outcome("reconciled", result.message_id)
            return Outcome.of_status(result, status)
        if isinstance(event, ConnectionChange | QrCodeChange):
            report = (
                ConnectionReport(
                    channel_id=channel.id,
                    at=event.at,
                    state=event.state,
                    reason=event.reason,
                    provider=Provider.EVOLUTION,
                )
                if isinstance(event, ConnectionChange)
                else ConnectionReport(
                    channel_id=channel.id,
                    at=event.at,
                    qr_code=event.code,
                    pairing_code=event.pairing_code,
                    provider=Provider.EVOLUTION,
                )
            )
            connection = await self.record_connection(report)
            return Outcome("connection", None, connection.state if connection else None)
        assert isinstance(event, Ignored)
        logger.info("evolution webhook ignored: %s", event.reason, extra={"channel": channel.id})
        return Outcome("ignored", None, event.reason)

    async def _message(self, channel: Channel, event: InboundMessage) -> Outcome:
        event = await keep_inline_media(self.media, channel.clinic_id, event, self.clock.now())
        received = await self.receive(
            ReceiveMessage(
                channel_id=channel.id,
                provider=Provider.EVOLUTION,
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
                from_clinic_phone=event.from_me,
            )
        )
        return Outcome.of_message(received)
