"""The simulator's gateway: accepts every message and remembers what was sent."""

from __future__ import annotations

from collections import deque

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.message import Message
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.messaging import SendReceipt


@attrs.frozen
class SimulatedDelivery:
    """One message the simulator "delivered" to a patient's phone: its text or caption, and
    for an attachment its kind, type and id in Porfin's media store."""

    channel_id: str
    recipient: str
    provider_message_id: str
    body: str | None
    kind: str = "text"
    mime_type: str | None = None
    media_id: str | None = None


class SimulatorGateway:
    """Accepts every outbound message (text or attachment), names it ``sim.<id>`` and keeps
    the latest in ``sent``.

    Delivery statuses for simulated messages are reported through the simulator webhook,
    like a real provider would (see docs/api.md).
    """

    def __init__(self, ids: IdGenerator, keep: int = 1000) -> None:
        self._ids = ids
        self.sent: deque[SimulatedDelivery] = deque(maxlen=keep)

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        provider_id = f"sim.{self._ids.new_id()}"
        media = message.media
        self.sent.append(
            SimulatedDelivery(
                channel.id,
                recipient,
                provider_id,
                message.body,
                kind=message.kind.value,
                mime_type=media.mime_type if media is not None else None,
                media_id=media.stored_path if media is not None else None,
            )
        )
        return SendReceipt(provider_message_id=provider_id, recipient_id=recipient)
