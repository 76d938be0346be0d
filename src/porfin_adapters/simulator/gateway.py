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
    """One message the simulator "delivered" to a patient's phone."""

    channel_id: str
    recipient: str
    provider_message_id: str
    body: str | None


class SimulatorGateway:
    """Accepts every outbound message, names it ``sim.<id>`` and keeps the latest in ``sent``.

    Delivery statuses for simulated messages are reported through the simulator webhook,
    like a real provider would (see docs/api.md).
    """

    def __init__(self, ids: IdGenerator, keep: int = 1000) -> None:
        self._ids = ids
        self.sent: deque[SimulatedDelivery] = deque(maxlen=keep)

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        provider_id = f"sim.{self._ids.new_id()}"
        self.sent.append(SimulatedDelivery(channel.id, recipient, provider_id, message.body))
        return SendReceipt(provider_message_id=provider_id, recipient_id=recipient)
