"""The Cloud API :class:`~porfin_core.ports.messaging.MessagingGateway`: messages to Meta.

``send`` builds the request body (:mod:`.payloads`), uploads a file from Porfin's media store
first when the message carries one without a Cloud API media id, waits for its turn
(:mod:`.pacing`), posts to ``/<version>/<phone_number_id>/messages`` and reads Meta's answer:
``messages[0].id`` is the provider id status webhooks will name, ``contacts[0].wa_id`` the
address WhatsApp actually used (Brazil's 9th digit may differ from the number asked).
"""

from __future__ import annotations

import attrs

from porfin_adapters.whatsapp_cloud.graph import PROVIDER, GraphClient
from porfin_adapters.whatsapp_cloud.media import CloudApiMedia
from porfin_adapters.whatsapp_cloud.pacing import MAX_MESSAGES_PER_SECOND, CloudApiPacer
from porfin_adapters.whatsapp_cloud.payloads import MEDIA_KINDS, mark_as_read_body, message_body
from porfin_core.domain.channel import Channel
from porfin_core.domain.message import Message
from porfin_core.errors import GatewayError, ValidationError
from porfin_core.ports.messaging import SendReceipt


def _invalid_message(exc: ValidationError) -> GatewayError:
    return GatewayError(
        exc.message,
        retryable=False,
        provider=PROVIDER,
        provider_code="invalid_message",
        reason=exc.message,
    )


class CloudApiGateway:
    """Sends messages through Meta's WhatsApp Business Cloud API.

    Args:
        graph: The Graph API client (base URL, version, tokens, error mapping).
        media: Uploads attachments kept in Porfin's media store.
        pacer: Per-number and per-patient pacing; the gateway waits rather than failing.
    """

    def __init__(self, graph: GraphClient, media: CloudApiMedia, pacer: CloudApiPacer) -> None:
        self._graph = graph
        self._media = media
        self._pacer = pacer

    def _messages_per_second(self, channel: Channel) -> int | None:
        """A channel's own rate (``settings["messages_per_second"]``), when it has a valid one."""
        raw = channel.settings.get("messages_per_second")
        if raw is None or not raw.isdigit():
            return None
        value = int(raw)
        return value if 1 <= value <= MAX_MESSAGES_PER_SECOND else None

    async def _with_uploaded_media(self, channel: Channel, message: Message) -> Message:
        media = message.media
        if (
            message.kind not in MEDIA_KINDS
            or media is None
            or media.provider_media_id
            or media.url
            or not media.stored_path
        ):
            return message
        provider_id = await self._media.upload(channel, message.clinic_id, media.stored_path)
        return attrs.evolve(message, media=attrs.evolve(media, provider_media_id=provider_id))

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        """Send ``message`` to ``recipient`` (E.164 phone, or a BSUID).

        Raises:
            GatewayError: see :mod:`porfin_adapters.whatsapp_cloud.graph` for the codes and
                their ``retryable`` class; a message this gateway cannot express is
                ``invalid_message`` (not retryable).
        """
        phone_number_id = self._graph.phone_number_id(channel)
        message = await self._with_uploaded_media(channel, message)
        try:
            body = message_body(recipient, message)
        except ValidationError as exc:
            raise _invalid_message(exc) from exc
        # Echoed in the message's status webhooks: a send whose answer was lost is recognised
        # by its first status (see porfin_core.domain.outbound).
        body["biz_opaque_callback_data"] = message.id
        await self._pacer.wait_turn(phone_number_id, recipient, self._messages_per_second(channel))
        answer = await self._graph.call(
            channel, "POST", f"{phone_number_id}/messages", operation="send", json=body
        )
        return parse_send_response(answer)

    async def mark_as_read(
        self, channel: Channel, provider_message_id: str, *, typing: bool = False
    ) -> None:
        """Mark a patient's message (and the earlier ones) read; with ``typing``, also show
        "typing..." to the patient until the next message (or 25 seconds).

        Raises:
            GatewayError: Meta refused or could not be reached.
        """
        phone_number_id = self._graph.phone_number_id(channel)
        await self._pacer.wait_turn(phone_number_id, None, self._messages_per_second(channel))
        await self._graph.call(
            channel,
            "POST",
            f"{phone_number_id}/messages",
            operation="mark_as_read",
            json=mark_as_read_body(provider_message_id, typing=typing),
        )


def parse_send_response(answer: dict[str, object]) -> SendReceipt:
    """The receipt in Meta's success answer (``messages[0].id``, ``contacts[0].wa_id``).

    Raises:
        GatewayError: no message id in a success answer (not retryable: Meta may have
            accepted the message, and sending it again could deliver it twice).
    """
    messages = answer.get("messages")
    first = messages[0] if isinstance(messages, list) and messages else None
    provider_id = first.get("id") if isinstance(first, dict) else None
    if not isinstance(provider_id, str) or not provider_id:
        reason = "WhatsApp accepted the request but named no message id"
        raise GatewayError(
            reason, retryable=False, provider=PROVIDER, provider_code="bad_response", reason=reason
        )
    contacts = answer.get("contacts")
    contact = contacts[0] if isinstance(contacts, list) and contacts else None
    wa_id = contact.get("wa_id") if isinstance(contact, dict) else None
    return SendReceipt(
        provider_message_id=provider_id, recipient_id=wa_id if isinstance(wa_id, str) else None
    )
