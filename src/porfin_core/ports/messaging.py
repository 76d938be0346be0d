"""Messaging gateways: how an outbound message leaves through a channel's provider."""

from __future__ import annotations

from typing import Protocol

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.message import Message
from porfin_core.domain.outbound import SendOutcome
from porfin_core.errors import GatewayError


@attrs.frozen
class SendReceipt:
    """What the provider said when it accepted a message.

    Attributes:
        provider_message_id: The provider's id for the message (``wamid...``).
        recipient_id: The address the provider actually used (may differ from the one asked,
            e.g. WhatsApp's 12-digit form of a Brazilian mobile).
    """

    provider_message_id: str
    recipient_id: str | None = None


class MessagingGateway(Protocol):
    """Sends messages through one provider (Cloud API, Evolution, simulator)."""

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        """Hand ``message`` to the provider for ``recipient`` (E.164 phone or provider id).

        Raises:
            GatewayError: the provider refused or could not be reached; ``retryable`` tells
                whether the same call may succeed later.
        """
        ...


class GatewayDirectory(Protocol):
    """Finds the gateway that serves a channel's provider."""

    def for_channel(self, channel: Channel) -> MessagingGateway:
        """Return the gateway for ``channel``.

        Raises:
            GatewayError: no gateway is configured for the channel's provider (not retryable).
        """
        ...


async def send_through(
    gateways: GatewayDirectory, channel: Channel, recipient: str, message: Message
) -> SendOutcome:
    """Hand ``message`` to ``channel``'s gateway; the provider's id, or why it failed."""
    try:
        receipt = await gateways.for_channel(channel).send(channel, recipient, message)
    except GatewayError as error:
        return SendOutcome(clinic_id=message.clinic_id, message_id=message.id, error=error)
    return SendOutcome(
        clinic_id=message.clinic_id,
        message_id=message.id,
        provider_message_id=receipt.provider_message_id,
    )
