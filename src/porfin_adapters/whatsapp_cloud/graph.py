"""The Graph API over HTTP: one client per installation, and Meta's errors as Porfin's.

Every failure leaves this module as a :class:`~porfin_core.errors.GatewayError` whose
``retryable`` says whether the same request may succeed later, with the fields staff and
operators need: ``provider_code`` (Meta's ``error.code``), ``reason`` (a short human
explanation), ``details`` (Meta's ``error_data.details``), ``http_status``, ``fbtrace_id``.

Meta asks integrations to build on ``error.code`` and ``details``, not on HTTP statuses
(reference §A.4.1): the status only decides when the body carries no Graph error.
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from porfin_adapters.http import NO_ANSWER, LoopSession, no_answer_error
from porfin_core.domain.channel import Channel
from porfin_core.errors import GatewayError, NotFound, StorageUnavailable
from porfin_core.ports.secrets import SecretStore

DEFAULT_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
"""The Graph API version Porfin speaks unless a channel pins another (``api_version``)."""
PROVIDER = "cloud_api"

# Codes where the same request can succeed later without changes (reference §A.4.2), with the
# reason staff see while Porfin waits.
RETRYABLE: Mapping[int, str] = {
    130429: "the number's message throughput was reached; retrying with backoff",
    131056: "too many messages to this patient in a short time; retrying with backoff",
    4: "the app reached its Graph API call limit; retrying later",
    80007: "the WhatsApp Business Account reached its rate limit; retrying later",
    2: "WhatsApp is temporarily unavailable or overloaded; retrying",
    131000: "WhatsApp failed to send for an unknown reason; retrying",
    131016: "a WhatsApp service is temporarily unavailable; retrying",
    133004: "the WhatsApp server is temporarily unavailable; retrying",
    131057: "the business account is in maintenance mode; retrying",
    2494100: "the account is in maintenance mode; retrying",
}
"""Graph error codes retried with backoff, and what staff are told."""

# Codes where retrying the same request is pointless until a person changes something.
PERMANENT: Mapping[int, str] = {
    131047: "the patient's 24-hour window is closed: only an approved template can be sent "
    "until the patient writes again",
    131026: "WhatsApp could not deliver to this number (not on WhatsApp, terms not accepted "
    "or an old app version)",
    132000: "the template's parameters do not match the approved template",
    132001: "the template does not exist in this language or is not approved",
    132005: "the template's translated text is too long",
    132007: "the template's content violates a WhatsApp policy",
    132012: "the template's parameters are formatted incorrectly",
    132015: "the template is paused for low quality",
    132016: "the template is permanently disabled",
    190: "the channel's access token expired or is invalid: configure a new one",
    0: "WhatsApp could not authenticate the channel's token: configure a new one",
    368: "the WhatsApp Business Account is restricted for a policy violation",
    131031: "the WhatsApp Business Account is restricted or disabled",
    131051: "WhatsApp does not support this message type",
    100: "WhatsApp refused the request's parameters",
    131008: "a required parameter is missing",
    131009: "a parameter value is not valid",
    131021: "the sender and the recipient are the same number",
    131048: "the number is limited because earlier messages were flagged as spam",
    131049: "WhatsApp held the message back to protect engagement; wait 24 hours",
    131050: "the patient chose not to receive marketing messages",
    130403: "the business blocked this patient",
    131052: "WhatsApp could not download the patient's media",
    131053: "WhatsApp could not use the uploaded media (often a wrong file type)",
    131042: "there is a problem with the account's payment method",
    3: "the app lacks the permission for this call",
    10: "the app lacks the permission for this call",
}
"""Graph error codes that are not retried, and what staff are told."""


def classify(body: Any, http_status: int, *, operation: str = "send") -> GatewayError:
    """The :class:`GatewayError` for a Graph error answer (``body`` as parsed JSON, or None).

    Known retryable codes (and unknown codes Meta flags ``is_transient``, or any answer with
    a 5xx/429 status and no code) are ``retryable``; everything else is not.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("code"), int):
        retryable = http_status >= 500 or http_status in (408, 429)
        reason = (
            f"WhatsApp answered HTTP {http_status}; retrying"
            if retryable
            else f"WhatsApp answered HTTP {http_status} without an error code"
        )
        return GatewayError(
            reason,
            retryable=retryable,
            provider=PROVIDER,
            provider_code=f"http_{http_status}",
            reason=reason,
            http_status=http_status,
            operation=operation,
        )
    code: int = error["code"]
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    if code in RETRYABLE:
        retryable, reason = True, RETRYABLE[code]
    elif code in PERMANENT:
        retryable, reason = False, PERMANENT[code]
    else:
        retryable = error.get("is_transient") is True or http_status >= 500
        reason = str(error.get("message") or f"WhatsApp error {code}")
    fields: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_code": str(code),
        "reason": reason,
        "http_status": http_status,
        "operation": operation,
    }
    if details:
        fields["details"] = str(details)
    if isinstance(error.get("error_subcode"), int):
        fields["error_subcode"] = error["error_subcode"]
    if error.get("fbtrace_id"):
        fields["fbtrace_id"] = str(error["fbtrace_id"])
    if code == 131056:
        # Meta: "retry after 4^X seconds (starting with X=0)" for the pair rate limit.
        fields["backoff_base"] = 4
    return GatewayError(reason, retryable=retryable, **fields)


def transport_error(exc: BaseException, *, operation: str) -> GatewayError:
    """The :class:`GatewayError` for a request that got no answer.

    A request that never reached Meta (connection refused, connect timeout) is safe to send
    again. One whose answer was lost (read timeout, connection dropped) may have been
    accepted: it is retryable too, but flagged ``delivery_unknown`` so a caller that cannot
    reconcile by status webhooks does not send it twice.
    """
    return no_answer_error(
        exc,
        provider=PROVIDER,
        operation=operation,
        unreachable="WhatsApp could not be reached; retrying",
        lost="WhatsApp did not answer in time; the message may or may not have been accepted",
    )


MAX_CONNECTIONS = 100
"""Connections to the Graph API kept open at most."""


class GraphClient:
    """Talks to the Graph API for any Cloud API channel.

    Args:
        secrets: Where the channels' access tokens live.
        base_url: ``https://graph.facebook.com``, or a local fake in tests.
        api_version: Version used when the channel does not pin one.
        timeout: Seconds for connecting and for each read.
    """

    def __init__(
        self,
        secrets: SecretStore,
        base_url: str = DEFAULT_GRAPH_URL,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = 20.0,
    ) -> None:
        self._secrets = secrets
        self.base_url = base_url.rstrip("/")
        self.api_version = api_version
        self._http = LoopSession(timeout, MAX_CONNECTIONS)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled HTTP session of the running event loop (a new one on another loop)."""
        return self._http.get()

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._http.aclose()

    def url(self, channel: Channel, path: str) -> str:
        """``<base>/<version>/<path>`` for ``channel`` (its ``api_version`` or the default)."""
        version = channel.settings.get("api_version") or self.api_version
        return f"{self.base_url}/{version}/{path.lstrip('/')}"

    def phone_number_id(self, channel: Channel) -> str:
        """The channel's ``phone_number_id``.

        Raises:
            GatewayError: the channel has none (not retryable).
        """
        value = channel.external_ids.get("phone_number_id")
        if not value:
            raise GatewayError(
                "the channel has no phone_number_id",
                retryable=False,
                provider=PROVIDER,
                provider_code="not_configured",
                reason="the channel has no phone_number_id",
            )
        return value

    async def token(self, channel: Channel) -> str:
        """The channel's access token, from the secret store.

        Raises:
            GatewayError: no token configured or it is gone (not retryable), or the secret
                store cannot be read (retryable).
        """
        ref = channel.secrets.get("access_token")
        reason = "the channel has no access token: configure one"
        if ref is None:
            raise GatewayError(
                reason, retryable=False, provider=PROVIDER, provider_code="190", reason=reason
            )
        try:
            return await self._secrets.get(ref)
        except NotFound:
            raise GatewayError(
                reason, retryable=False, provider=PROVIDER, provider_code="190", reason=reason
            ) from None
        except StorageUnavailable as exc:
            raise GatewayError(
                "the channel's access token could not be read",
                retryable=True,
                provider=PROVIDER,
                provider_code="secret_store",
                reason="the channel's access token could not be read",
            ) from exc

    async def call(
        self,
        channel: Channel,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Make one Graph API request for ``channel`` and return its JSON object.

        Raises:
            GatewayError: Meta answered an error, an answer that is not a JSON object, or
                nothing at all (see :func:`classify`, :func:`transport_error`).
        """
        token = await self.token(channel)
        form: aiohttp.FormData | None = None
        if files:
            form = aiohttp.FormData()
            for name, value in (data or {}).items():
                form.add_field(name, value)
            for name, (filename, content, content_type) in files.items():
                form.add_field(name, content, filename=filename, content_type=content_type)
        try:
            async with self.session.request(
                method,
                self.url(channel, path),
                headers={"Authorization": f"Bearer {token}"},
                json=json,
                data=form if form is not None else (dict(data) if data else None),
                params=params,
            ) as response:
                status = response.status
                raw = await response.read()
        except NO_ANSWER as exc:
            raise transport_error(exc, operation=operation) from exc
        try:
            body = _json.loads(raw) if raw else None
        except ValueError:
            body = None
        success = 200 <= status < 300
        if success and isinstance(body, dict):
            return body
        if success:
            raise GatewayError(
                "WhatsApp answered something that is not a JSON object",
                retryable=False,
                provider=PROVIDER,
                provider_code="bad_response",
                reason="WhatsApp answered something that is not a JSON object",
                http_status=status,
                operation=operation,
            )
        raise classify(body, status, operation=operation)

    async def download(
        self,
        channel: Channel,
        url: str,
        *,
        limit: int,
        too_large: Callable[[], Exception],
        operation: str = "media_download",
    ) -> bytes:
        """GET ``url`` (a media URL Meta gave) with the channel's token, at most ``limit``
        bytes.

        Raises:
            GatewayError: a non-2xx answer (404/408/429/5xx retryable: the 5-minute URL may
                have expired and a new one may work) or no answer.
            Exception: ``too_large()`` when the body passes ``limit``.
        """
        token = await self.token(channel)
        chunks: list[bytes] = []
        total = 0
        try:
            async with self.session.get(
                url, headers={"Authorization": f"Bearer {token}"}
            ) as response:
                if not 200 <= response.status < 300:
                    await response.read()
                    code = response.status
                    reason = f"WhatsApp's media URL answered HTTP {code}"
                    raise GatewayError(
                        reason,
                        retryable=code in (404, 408, 429) or code >= 500,
                        provider=PROVIDER,
                        provider_code=f"http_{code}",
                        reason=reason,
                        operation=operation,
                    )
                async for chunk in response.content.iter_chunked(65_536):
                    total += len(chunk)
                    if total > limit:
                        raise too_large()
                    chunks.append(chunk)
        except NO_ANSWER as exc:
            raise transport_error(exc, operation=operation) from exc
        return b"".join(chunks)
