"""``EvolutionGateway``: Porfin's outbound messages through an Evolution API instance.

What Baileys can and cannot send decides the mapping:

- text -> ``sendText``; image, video, document -> ``sendMedia`` (the bytes from Porfin's media
  store as base64, else the provider URL); audio -> ``sendWhatsAppAudio`` (a voice note);
  location -> ``sendLocation``; reaction -> ``sendReaction``.
- interactive buttons and lists -> numbered text. Baileys' button and list messages are not
  rendered by WhatsApp phones (Evolution issues #1272, #1515, #1620), so the patient gets the
  options as ``1. ...`` lines and answers with the number.
- templates, stickers, contacts -> refused (not retryable): Baileys numbers have no templates.

Recipients: a canonical E.164 phone is sent as its digits (``5511987654321``); Evolution
checks the number on WhatsApp and, for Brazil, picks the 12- or 13-digit form WhatsApp knows
(``whatsappNumber`` in its Baileys service), and the JID it used comes back as the receipt's
``recipient_id``. Provider addresses (``…@s.whatsapp.net``, ``…@lid``) are passed as they are.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import httpx

from porfin_adapters.evolution.client import PROVIDER, EvolutionClient, SentMessage
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.message import Message, MessageKind
from porfin_core.errors import GatewayError, NotFound, StorageUnavailable
from porfin_core.ports.media import MediaStore
from porfin_core.ports.messaging import SendReceipt
from porfin_core.ports.secrets import SecretStore

_MEDIA_TYPES = {
    MessageKind.IMAGE: "image",
    MessageKind.VIDEO: "video",
    MessageKind.DOCUMENT: "document",
}


def evolution_number(recipient: str) -> str:
    """The ``number`` Evolution takes for ``recipient``: an E.164 phone's digits, or a JID
    as it is (without a device suffix such as ``:24``)."""
    text = recipient.strip()
    if "@" in text:
        user, _, domain = text.partition("@")
        return f"{user.split(':', 1)[0]}@{domain}"
    return "".join(ch for ch in text if ch.isdigit())


def numbered_menu(message: Message) -> str:
    """An interactive message (reply buttons or a list) as numbered text, the only form a
    Baileys number shows reliably.

    ``message.extra`` may hold ``header``, ``footer``, ``buttons`` (``[{"id", "title"}]``)
    and ``sections`` (``[{"title", "rows": [{"id", "title", "description"}]}]``).
    """
    extra = message.extra
    lines: list[str] = []
    header = extra.get("header")
    if isinstance(header, str) and header:
        lines.append(f"*{header}*")
    if message.body:
        lines.append(message.body)
    options: list[str] = []
    for button in extra.get("buttons") or ():
        if isinstance(button, Mapping):
            title = button.get("title") or button.get("displayText") or button.get("id")
            if title:
                options.append(str(title))
    for section in extra.get("sections") or ():
        if not isinstance(section, Mapping):
            continue
        for row in section.get("rows") or ():
            if isinstance(row, Mapping) and (row.get("title") or row.get("id")):
                title = str(row.get("title") or row.get("id"))
                description = row.get("description")
                options.append(f"{title} — {description}" if description else title)
    if options:
        lines.append("")
        lines.extend(f"{n}. {option}" for n, option in enumerate(options, start=1))
        lines.append("")
        lines.append("Responda com o número da opção.")
    footer = extra.get("footer")
    if isinstance(footer, str) and footer:
        lines.append(f"_{footer}_")
    return "\n".join(lines).strip()


class EvolutionGateway:
    """Sends through the Evolution instance named in each channel's settings.

    Args:
        secrets: Resolves the channel's ``api_key``.
        media: Porfin's media store, for attachments staff uploaded.
        http: A shared HTTP client (connection pooling); one per call otherwise.
        timeout: Seconds per request.
    """

    def __init__(
        self,
        secrets: SecretStore,
        media: MediaStore,
        http: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._secrets = secrets
        self._media = media
        self._http = http
        self._timeout = timeout

    async def client_for(self, channel: Channel) -> EvolutionClient:
        """A client of the channel's Evolution server, with its API key.

        Raises:
            GatewayError: not an Evolution channel, or its settings/secret are missing.
        """
        if channel.provider is not Provider.EVOLUTION:
            raise GatewayError(
                "not an Evolution channel", retryable=False, provider=channel.provider.value
            )
        base_url = channel.settings.get("base_url")
        ref = channel.secrets.get("api_key")
        if not base_url or ref is None or not channel.external_ids.get("instance"):
            raise GatewayError(
                "the Evolution channel lacks base_url, instance or api_key",
                retryable=False,
                provider=PROVIDER,
                channel_id=channel.id,
            )
        try:
            api_key = await self._secrets.get(ref)
        except NotFound as exc:
            raise GatewayError(
                "the Evolution channel's api_key is gone from the secret store",
                retryable=False,
                provider=PROVIDER,
                channel_id=channel.id,
            ) from exc
        except StorageUnavailable as exc:
            raise GatewayError(
                "the secret store is unavailable", retryable=True, provider=PROVIDER
            ) from exc
        return EvolutionClient(base_url, api_key, http=self._http, timeout=self._timeout)

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        """Send ``message`` to ``recipient`` through the channel's instance.

        Raises:
            GatewayError: the server refused or failed (see ``EvolutionClient``), or the
                message is of a kind a Baileys number cannot send (not retryable).
        """
        client = await self.client_for(channel)
        try:
            sent = await self._send(client, channel.external_ids["instance"], recipient, message)
        finally:
            await client.aclose()
        return SendReceipt(provider_message_id=sent.id, recipient_id=sent.remote_jid)

    async def _send(
        self, client: EvolutionClient, instance: str, recipient: str, message: Message
    ) -> SentMessage:
        number = evolution_number(recipient)
        if not number:
            raise GatewayError(
                f"not an address Evolution can send to: {recipient!r}",
                retryable=False,
                provider=PROVIDER,
            )
        quoted = message.reply_to_provider_id
        kind = message.kind
        if kind is MessageKind.TEXT:
            return await client.send_text(instance, number, message.body or "", quoted_id=quoted)
        if kind is MessageKind.INTERACTIVE:
            return await client.send_text(
                instance, number, numbered_menu(message), quoted_id=quoted
            )
        if kind in _MEDIA_TYPES or kind is MessageKind.AUDIO:
            media = await self._media_payload(message)
            if kind is MessageKind.AUDIO:
                return await client.send_whatsapp_audio(instance, number, media, quoted_id=quoted)
            ref = message.media
            return await client.send_media(
                instance,
                number,
                mediatype=_MEDIA_TYPES[kind],
                media=media,
                mimetype=ref.mime_type if ref is not None else None,
                caption=(ref.caption if ref is not None else None) or message.body,
                file_name=ref.filename if ref is not None else None,
                quoted_id=quoted,
            )
        if kind is MessageKind.LOCATION:
            return await client.send_location(instance, number, **_location(message.extra))
        if kind is MessageKind.REACTION:
            target = message.extra.get("message_id") or message.reply_to_provider_id
            if not isinstance(target, str) or not target:
                raise GatewayError(
                    "a reaction needs the id of the message it reacts to",
                    retryable=False,
                    provider=PROVIDER,
                )
            jid = number if "@" in number else f"{number}@s.whatsapp.net"
            return await client.send_reaction(
                instance,
                remote_jid=jid,
                message_id=target,
                from_me=bool(message.extra.get("from_me", False)),
                reaction=str(message.extra.get("emoji") or message.body or ""),
            )
        raise GatewayError(
            f"Evolution (Baileys) numbers cannot send {kind.value} messages",
            retryable=False,
            provider=PROVIDER,
            kind=kind.value,
        )

    async def _media_payload(self, message: Message) -> str:
        """Base64 of the file in Porfin's media store, else the provider URL."""
        ref = message.media
        if ref is not None and ref.stored_path:
            try:
                data = await self._media.read(message.clinic_id, ref.stored_path)
            except NotFound as exc:
                raise GatewayError(
                    "the attachment is gone from the media store",
                    retryable=False,
                    provider=PROVIDER,
                ) from exc
            except StorageUnavailable as exc:
                raise GatewayError(
                    "the media store is unavailable", retryable=True, provider=PROVIDER
                ) from exc
            return base64.b64encode(data).decode("ascii")
        if ref is not None and ref.url:
            return ref.url
        raise GatewayError(
            f"a {message.kind.value} message needs a file", retryable=False, provider=PROVIDER
        )


def _location(extra: Mapping[str, Any]) -> dict[str, Any]:
    place = extra.get("location") if isinstance(extra.get("location"), Mapping) else extra
    assert isinstance(place, Mapping)
    try:
        latitude = float(place["latitude"])
        longitude = float(place["longitude"])
    except (KeyError, TypeError, ValueError) as exc:
        raise GatewayError(
            "a location needs latitude and longitude", retryable=False, provider=PROVIDER
        ) from exc
    return {
        "latitude": latitude,
        "longitude": longitude,
        "name": str(place.get("name") or ""),
        "address": str(place.get("address") or ""),
    }
