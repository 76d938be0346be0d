"""An async client of an Evolution API v2 server (Baileys engine).

Routes are ``/<controller>/<action>/<instance>``, authenticated by the ``apikey`` header
(the global key or the instance token). Request bodies follow the server's schemas
(``src/validate/*.schema.ts`` of Evolution v2.3); the shapes are pinned by the payloads in
``../shared/fixtures/evolution/``. Every failure becomes a :class:`GatewayError` whose
``retryable`` says whether the same call may succeed later (5xx, 429, timeouts, connection
errors) or not (4xx: unknown instance, name in use, a number not on WhatsApp...).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import attrs
import httpx

from porfin_core.errors import GatewayError

PROVIDER = "evolution"
DEFAULT_TIMEOUT = 30.0
"""Seconds for one request (sending media through Baileys can take a while)."""

_RETRYABLE_STATUS = frozenset({408, 425, 429})


@attrs.frozen
class SentMessage:
    """Evolution's answer to a send: the Baileys message key.

    Attributes:
        id: ``key.id``, the provider message id (webhooks carry it as ``key.id``/``keyId``).
        remote_jid: ``key.remoteJid``: the JID Evolution resolved the number to (e.g. the
            12-digit form of an old Brazilian mobile).
        status: ``PENDING`` until the server acknowledges it.
        raw: The whole response.
    """

    id: str
    remote_jid: str | None
    status: str | None
    raw: dict[str, Any]


@attrs.frozen
class QrCode:
    """What ``GET /instance/connect`` returned: a QR code to scan and/or a pairing code.

    Attributes:
        code: The QR code's content (render it as a QR code), None when already connected.
        pairing_code: The code to type on the phone (asked for with ``number``).
        base64: The QR code as a ``data:image/png;base64,...`` URL, when the server sent one.
        count: How many QR codes this connection attempt has produced.
        state: The connection state, when the server answered with it (already ``open``).
    """

    code: str | None
    pairing_code: str | None
    base64: str | None = None
    count: int | None = None
    state: str | None = None


@attrs.frozen
class MediaFile:
    """What ``/chat/getBase64FromMediaMessage`` returned: a message's file, decrypted.

    Attributes:
        base64: The bytes, base64-encoded.
        mimetype: The file's type as WhatsApp gave it.
        file_name: The document's name, or ``<message id>.<extension>``.
    """

    base64: str
    mimetype: str | None
    file_name: str | None


@attrs.frozen
class WhatsAppNumber:
    """One answer of ``/chat/whatsappNumbers``: whether a number is on WhatsApp, and its JID."""

    number: str
    exists: bool
    jid: str | None


class EvolutionClient:
    """Calls one Evolution server.

    Args:
        base_url: The server, e.g. ``https://evolution.example.com``.
        api_key: The instance token or the global key (creating instances needs the global).
        http: A shared ``httpx.AsyncClient``; one is made (and closed by :meth:`aclose`)
            when omitted.
        timeout: Seconds per request.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        http: httpx.AsyncClient | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._api_key = api_key
        self._own_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._timeout = timeout

    async def aclose(self) -> None:
        """Close the HTTP client, if this client made it."""
        if self._own_http:
            await self._http.aclose()

    async def __aenter__(self) -> EvolutionClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- instance lifecycle ------------------------------------------------------------

    async def create_instance(
        self,
        name: str,
        *,
        token: str | None = None,
        qrcode: bool = True,
        number: str | None = None,
        integration: str = "WHATSAPP-BAILEYS",
        webhook: Mapping[str, Any] | None = None,
        groups_ignore: bool | None = None,
    ) -> dict[str, Any]:
        """``POST /instance/create`` (needs the global key); returns the server's answer.

        Raises:
            GatewayError: e.g. the name is in use (403, not retryable).
        """
        body: dict[str, Any] = {"instanceName": name, "integration": integration}
        if token is not None:
            body["token"] = token
        body["qrcode"] = qrcode
        if number is not None:
            body["number"] = number
        if groups_ignore is not None:
            body["groupsIgnore"] = groups_ignore
        if webhook is not None:
            body["webhook"] = dict(webhook)
        answer = await self._call("POST", "/instance/create", json=body)
        return answer if isinstance(answer, dict) else {"response": answer}

    async def connect(self, instance: str, number: str | None = None) -> QrCode:
        """``GET /instance/connect/{instance}``: start pairing; with ``number`` (digits with
        the country code) the server also makes a pairing code.

        Raises:
            GatewayError: unknown instance (404) or the server failed.
        """
        params = {"number": number} if number else None
        answer = await self._call("GET", f"/instance/connect/{_seg(instance)}", params=params)
        data = answer if isinstance(answer, dict) else {}
        nested = data.get("instance")
        state = nested.get("state") if isinstance(nested, dict) else None
        count = data.get("count")
        return QrCode(
            code=_text(data.get("code")),
            pairing_code=_text(data.get("pairingCode")),
            base64=_text(data.get("base64")),
            count=count if isinstance(count, int) else None,
            state=_text(state),
        )

    async def connection_state(self, instance: str) -> str:
        """``GET /instance/connectionState/{instance}``: ``open``, ``connecting`` or ``close``.

        Raises:
            GatewayError: unknown instance (404) or the server failed.
        """
        answer = await self._call("GET", f"/instance/connectionState/{_seg(instance)}")
        nested = answer.get("instance") if isinstance(answer, dict) else None
        state = nested.get("state") if isinstance(nested, dict) else None
        if not isinstance(state, str):
            raise GatewayError(
                "Evolution answered the connection state without a state",
                retryable=True,
                provider=PROVIDER,
            )
        return state

    async def logout(self, instance: str) -> None:
        """``DELETE /instance/logout/{instance}``: unpair the phone.

        Raises:
            GatewayError: unknown instance, or not connected (400).
        """
        await self._call("DELETE", f"/instance/logout/{_seg(instance)}")

    async def restart(self, instance: str) -> None:
        """Restart the instance's session (``POST``, as the v2.3 router has it; the docs say
        ``PUT``).

        Raises:
            GatewayError: unknown instance or the server failed.
        """
        await self._call("POST", f"/instance/restart/{_seg(instance)}")

    async def set_webhook(
        self,
        instance: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        events: Sequence[str] = (),
        base64: bool = True,
        by_events: bool = False,
    ) -> dict[str, Any]:
        """``POST /webhook/set/{instance}`` in the v2.3 code's shape (``{"webhook": {...}}``).

        Raises:
            GatewayError: unknown instance or an invalid body.
        """
        hook: dict[str, Any] = {
            "enabled": True,
            "url": url,
            "byEvents": by_events,
            "base64": base64,
            "events": list(events),
        }
        if headers:
            hook["headers"] = dict(headers)
        answer = await self._call("POST", f"/webhook/set/{_seg(instance)}", json={"webhook": hook})
        return answer if isinstance(answer, dict) else {"response": answer}

    # -- sending -----------------------------------------------------------------------

    async def send_text(
        self,
        instance: str,
        number: str,
        text: str,
        *,
        delay: int | None = None,
        link_preview: bool | None = None,
        quoted_id: str | None = None,
    ) -> SentMessage:
        """``POST /message/sendText/{instance}``.

        Raises:
            GatewayError: see the module's docstring.
        """
        body: dict[str, Any] = {"number": number, "text": text}
        _metadata(body, delay, link_preview, quoted_id)
        return await self._send("sendText", instance, body)

    async def send_media(
        self,
        instance: str,
        number: str,
        *,
        mediatype: str,
        media: str,
        mimetype: str | None = None,
        caption: str | None = None,
        file_name: str | None = None,
        delay: int | None = None,
        quoted_id: str | None = None,
    ) -> SentMessage:
        """``POST /message/sendMedia/{instance}``: ``mediatype`` is ``image``, ``video``,
        ``document`` or ``audio``; ``media`` a URL or base64 (no data-URL prefix).

        Raises:
            GatewayError: see the module's docstring.
        """
        body: dict[str, Any] = {"number": number, "mediatype": mediatype}
        if mimetype is not None:
            body["mimetype"] = mimetype
        body["media"] = media
        if caption is not None:
            body["caption"] = caption
        if file_name is not None:
            body["fileName"] = file_name
        _metadata(body, delay, None, quoted_id)
        return await self._send("sendMedia", instance, body)

    async def send_whatsapp_audio(
        self,
        instance: str,
        number: str,
        audio: str,
        *,
        delay: int | None = None,
        quoted_id: str | None = None,
    ) -> SentMessage:
        """``POST /message/sendWhatsAppAudio/{instance}``: a voice note (``ptt``); ``audio``
        is a URL or base64. The server converts it to Ogg/Opus.

        Raises:
            GatewayError: see the module's docstring.
        """
        body: dict[str, Any] = {"number": number, "audio": audio}
        _metadata(body, delay, None, quoted_id)
        return await self._send("sendWhatsAppAudio", instance, body)

    async def send_location(
        self,
        instance: str,
        number: str,
        *,
        latitude: float,
        longitude: float,
        name: str,
        address: str,
        delay: int | None = None,
    ) -> SentMessage:
        """``POST /message/sendLocation/{instance}``.

        Raises:
            GatewayError: see the module's docstring.
        """
        body: dict[str, Any] = {
            "number": number,
            "name": name,
            "address": address,
            "latitude": latitude,
            "longitude": longitude,
        }
        _metadata(body, delay, None, None)
        return await self._send("sendLocation", instance, body)

    async def send_reaction(
        self, instance: str, *, remote_jid: str, message_id: str, from_me: bool, reaction: str
    ) -> SentMessage:
        """``POST /message/sendReaction/{instance}``: react to a message (empty ``reaction``
        removes it).

        Raises:
            GatewayError: see the module's docstring.
        """
        body = {
            "key": {"remoteJid": remote_jid, "fromMe": from_me, "id": message_id},
            "reaction": reaction,
        }
        return await self._send("sendReaction", instance, body)

    async def send_list(
        self,
        instance: str,
        number: str,
        *,
        title: str,
        description: str,
        button_text: str,
        footer_text: str,
        sections: Sequence[Mapping[str, Any]],
    ) -> SentMessage:
        """``POST /message/sendList/{instance}``. Baileys does not render lists on phones
        (they arrive blank or not at all); :class:`EvolutionGateway` sends numbered text
        instead. Kept for the official-API integration of Evolution.

        Raises:
            GatewayError: see the module's docstring.
        """
        body = {
            "number": number,
            "title": title,
            "description": description,
            "buttonText": button_text,
            "footerText": footer_text,
            "sections": [dict(s) for s in sections],
        }
        return await self._send("sendList", instance, body)

    async def send_buttons(
        self,
        instance: str,
        number: str,
        *,
        title: str,
        description: str,
        footer: str,
        buttons: Sequence[Mapping[str, Any]],
    ) -> SentMessage:
        """``POST /message/sendButtons/{instance}``; same caveat as :meth:`send_list`.

        Raises:
            GatewayError: see the module's docstring.
        """
        body = {
            "number": number,
            "title": title,
            "description": description,
            "footer": footer,
            "buttons": [dict(b) for b in buttons],
        }
        return await self._send("sendButtons", instance, body)

    async def mark_as_read(self, instance: str, *, remote_jid: str, message_id: str) -> None:
        """``POST /chat/markMessageAsRead/{instance}`` for one inbound message.

        Raises:
            GatewayError: see the module's docstring.
        """
        body = {"readMessages": [{"remoteJid": remote_jid, "fromMe": False, "id": message_id}]}
        await self._call("POST", f"/chat/markMessageAsRead/{_seg(instance)}", json=body)

    async def whatsapp_numbers(self, instance: str, numbers: Sequence[str]) -> list[WhatsAppNumber]:
        """``POST /chat/whatsappNumbers/{instance}``: which numbers are on WhatsApp, and the
        JID of each (the 12- or 13-digit form WhatsApp knows for a Brazilian mobile).

        Raises:
            GatewayError: see the module's docstring.
        """
        answer = await self._call(
            "POST", f"/chat/whatsappNumbers/{_seg(instance)}", json={"numbers": list(numbers)}
        )
        rows = answer if isinstance(answer, list) else []
        return [
            WhatsAppNumber(
                number=str(row.get("number", "")),
                exists=bool(row.get("exists")),
                jid=_text(row.get("jid")),
            )
            for row in rows
            if isinstance(row, dict)
        ]

    async def media_base64(
        self, instance: str, message_id: str, *, convert_to_mp4: bool = False
    ) -> MediaFile:
        """``POST /chat/getBase64FromMediaMessage/{instance}``: the file of a message the
        instance received or sent, looked up by its key id in the server's store, decrypted
        by Baileys (which asks WhatsApp to upload it again when the link expired).

        Raises:
            GatewayError: the server could not find or download it (``400``, not retryable),
                or failed; an answer without ``base64`` is not retryable.
        """
        body = {"message": {"key": {"id": message_id}}, "convertToMp4": convert_to_mp4}
        answer = await self._call(
            "POST", f"/chat/getBase64FromMediaMessage/{_seg(instance)}", json=body
        )
        data = answer if isinstance(answer, dict) else {}
        encoded = _text(data.get("base64"))
        if encoded is None:
            raise GatewayError(
                "Evolution answered getBase64FromMediaMessage without the file",
                retryable=False,
                provider=PROVIDER,
                reason="Evolution answered without the file",
            )
        return MediaFile(
            base64=encoded,
            mimetype=_text(data.get("mimetype")),
            file_name=_text(data.get("fileName")),
        )

    # -- plumbing ----------------------------------------------------------------------

    async def _send(self, action: str, instance: str, body: dict[str, Any]) -> SentMessage:
        answer = await self._call("POST", f"/message/{action}/{_seg(instance)}", json=body)
        key = answer.get("key") if isinstance(answer, dict) else None
        message_id = key.get("id") if isinstance(key, dict) else None
        if not isinstance(message_id, str) or not message_id:
            # Accepted but unidentifiable: the message may have left, so a retry could send
            # it twice. Not retryable; the status webhooks will tell.
            raise GatewayError(
                f"Evolution accepted {action} but returned no message key",
                retryable=False,
                provider=PROVIDER,
            )
        assert isinstance(key, dict) and isinstance(answer, dict)
        status = answer.get("status")
        return SentMessage(
            id=message_id,
            remote_jid=_text(key.get("remoteJid")),
            status=status if isinstance(status, str) else None,
            raw=answer,
        )

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        url = self._base_url + path
        try:
            response = await self._http.request(
                method,
                url,
                json=json,
                params=params,
                headers={"apikey": self._api_key},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise GatewayError(
                f"Evolution did not answer {method} {path} in time",
                retryable=True,
                provider=PROVIDER,
            ) from exc
        except httpx.HTTPError as exc:
            raise GatewayError(
                f"could not reach Evolution at {self._base_url}: {type(exc).__name__}",
                retryable=True,
                provider=PROVIDER,
            ) from exc
        if response.status_code >= 400:
            raise _error(response, method, path)
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise GatewayError(
                f"Evolution answered {method} {path} with something that is not JSON",
                retryable=response.status_code >= 500,
                provider=PROVIDER,
            ) from exc


def _error(response: httpx.Response, method: str, path: str) -> GatewayError:
    status = response.status_code
    reason = _reason(response)
    retryable = status >= 500 or status in _RETRYABLE_STATUS
    if status == 401:
        reason = f"the API key was refused ({reason})" if reason else "the API key was refused"
    return GatewayError(
        f"Evolution refused {method} {path} ({status}): {reason or response.reason_phrase}",
        retryable=retryable,
        provider=PROVIDER,
        status=status,
    )


def _reason(response: httpx.Response) -> str:
    """The ``response.message`` of Evolution's error body, made one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if not isinstance(body, dict):
        return ""
    inner = body.get("response")
    message = inner.get("message") if isinstance(inner, dict) else body.get("message")
    if isinstance(message, list):
        parts = []
        for item in message:
            if isinstance(item, dict) and item.get("exists") is False:
                parts.append(f"{item.get('number') or item.get('jid')} is not on WhatsApp")
            else:
                parts.append(str(item))
        return "; ".join(parts)[:500]
    if message is not None:
        return str(message)[:500]
    error = body.get("error")
    return str(error) if error else ""


def _metadata(
    body: dict[str, Any], delay: int | None, link_preview: bool | None, quoted_id: str | None
) -> None:
    if delay is not None:
        body["delay"] = delay
    if link_preview is not None:
        body["linkPreview"] = link_preview
    if quoted_id is not None:
        body["quoted"] = {"key": {"id": quoted_id}}


def _seg(value: str) -> str:
    return quote(value, safe="")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
