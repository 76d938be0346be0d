"""Take the due deliveries of the sending outbox for one round of sends."""

from __future__ import annotations

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.message import DeliveryStatus, Message, StatusChange
from porfin_core.domain.outbound import Delivery
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

CHANNEL_GONE = "channel_unavailable"
"""The failure code of a message whose channel was removed or turned off before it left."""


@attrs.frozen
class OutboundJob:
    """A claimed delivery with what sending it needs.

    Attributes:
        delivery: The delivery, claimed (its attempt counted, its lease started).
        message: The message to send.
        channel: The channel it leaves from.
    """

    delivery: Delivery
    message: Message
    channel: Channel


@attrs.define(kw_only=True)
class ClaimOutboundMessages:
    """Claim up to ``limit`` due deliveries, earliest first, in one transaction.

    A delivery whose message already has a provider id (a status webhook reconciled an
    attempt whose outcome was lost) or is already final is dropped, not sent again. One whose
    channel is gone or inactive fails the message (``channel_unavailable``). Concurrent
    claimers never take the same delivery: the loser's transaction conflicts and is retried.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, limit: int) -> list[OutboundJob]:
        """The claimed jobs (empty when nothing is due).

        Raises:
            StorageUnavailable: the store failed.
        """

        async def work(uow: UnitOfWork) -> list[OutboundJob]:
            now = self.clock.now()
            due = await uow.deliveries.due(now, limit)
            if not due:
                return []
            channels: dict[str, Channel | None] = {}
            jobs = []
            for delivery in due:
                message = await uow.messages.get(delivery.clinic_id, delivery.message_id)
                if (
                    message.provider_message_id is not None
                    or message.status is not DeliveryStatus.PENDING
                ):
                    await uow.deliveries.remove(delivery)
                    continue
                if delivery.channel_id not in channels:
                    channels[delivery.channel_id] = await _channel(uow, delivery.channel_id)
                channel = channels[delivery.channel_id]
                if channel is None or not channel.active:
                    message.apply_status(
                        StatusChange(
                            DeliveryStatus.FAILED,
                            now,
                            error_code=CHANNEL_GONE,
                            error_detail="the channel was removed or turned off before the "
                            "message left",
                        )
                    )
                    await uow.messages.save(message)
                    uow.record(message.pull_events())
                    await uow.deliveries.remove(delivery)
                    continue
                delivery.claim(now)
                await uow.deliveries.save(delivery)
                jobs.append(OutboundJob(delivery, message, channel))
            await uow.commit()
            return jobs

        return await transact(self.uow_factory, work)


async def _channel(uow: UnitOfWork, channel_id: str) -> Channel | None:
    try:
        return await uow.channels.get(channel_id)
    except NotFound:
        return None
