"""The Asaas API v3 over HTTP, and Asaas's errors as Porfin's.

Asaas answers errors as ``{"errors": [{"code": "invalid_value", "description": "..."}]}``
with HTTP 400 (the request's data), 401 (the API key), 403, 404, 429 (rate limit) or 5xx
(docs.asaas.com "HTTP response codes"). They leave this module as:

- 400: :class:`~porfin_core.errors.ValidationError` (the same call cannot succeed);
- 404: :class:`~porfin_core.errors.NotFound`;
- 408, 429, 5xx: :class:`~porfin_core.errors.GatewayError` with ``retryable=True``;
- 401, 403 and anything else: :class:`~porfin_core.errors.GatewayError`, not retryable;
- no answer: :class:`~porfin_core.errors.GatewayError`, retryable, with ``delivery_unknown``
  when the request may have reached Asaas (a lost answer, not a refused connection).

Every error carries ``provider`` (``asaas``), ``provider_code`` (Asaas's first error code, or
``http_<status>``), ``reason``, ``http_status`` and ``operation``.

Amounts are decimal reais in Asaas's JSON: bodies are encoded with :class:`~decimal.Decimal`
numbers and answers are parsed with ``parse_float=Decimal``, so no float touches money.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp
import msgspec

from porfin_adapters.http import NO_ANSWER, LoopSession, no_answer_error
from porfin_core.errors import GatewayError, NotFound, ValidationError

PRODUCTION_URL = "https://api.asaas.com/v3"
SANDBOX_URL = "https://api-sandbox.asaas.com/v3"
PROVIDER = "asaas"
USER_AGENT = "Porfin/0.1 (+https://github.com/porfin)"
"""Asaas requires a ``User-Agent`` from accounts created after 2024-06-13."""

MAX_CONNECTIONS = 20
"""Connections to Asaas kept open at most (and requests in flight)."""

_encoder = msgspec.json.Encoder(decimal_format="number")


def encode(body: Any) -> bytes:
    """``body`` as JSON, :class:`~decimal.Decimal` values as JSON numbers (``100.90``)."""
    return _encoder.encode(body)


def decode(raw: bytes) -> Any:
    """Asaas JSON, numbers with a fraction as :class:`~decimal.Decimal`."""
    return json.loads(raw, parse_float=Decimal)


def _errors(body: Any) -> list[dict[str, str]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list):
        return []
    return [
        {"code": str(e.get("code") or ""), "description": str(e.get("description") or "")}
        for e in errors
        if isinstance(e, dict)
    ]


def classify(body: Any, http_status: int, *, operation: str) -> Exception:
    """The Porfin error for an Asaas error answer (``body`` as parsed JSON, or None)."""
    errors = _errors(body)
    provider_code = errors[0]["code"] if errors and errors[0]["code"] else f"http_{http_status}"
    described = "; ".join(e["description"] for e in errors if e["description"])
    fields: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_code": provider_code,
        "http_status": http_status,
        "operation": operation,
    }
    if errors:
        fields["errors"] = errors
    if http_status == 400:
        reason = described or "Asaas refused the request's data"
        return ValidationError(f"Asaas refused the request: {reason}", reason=reason, **fields)
    if http_status == 404:
        reason = described or "Asaas does not know this resource"
        return NotFound(reason, reason=reason, **fields)
    if http_status == 401:
        reason = "Asaas refused the API key (wrong key, or a key of the other environment)"
        retryable = False
    elif http_status == 429:
        reason = "Asaas's rate limit was reached; retrying later"
        retryable = True
    elif http_status >= 500 or http_status == 408:
        reason = f"Asaas answered HTTP {http_status}; retrying"
        retryable = True
    else:
        reason = described or f"Asaas answered HTTP {http_status}"
        retryable = False
    return GatewayError(reason, retryable=retryable, reason=reason, **fields)


def transport_error(exc: BaseException, *, operation: str) -> GatewayError:
    """The :class:`GatewayError` for a request that got no answer.

    A request that never reached Asaas is safe to send again. One whose answer was lost may
    have been carried out (a payment created): it is retryable too, flagged
    ``delivery_unknown``; :meth:`AsaasGateway.create_charge` is safe to retry anyway, because
    it looks the payment up by its ``externalReference`` before creating one.
    """
    return no_answer_error(
        exc,
        provider=PROVIDER,
        operation=operation,
        unreachable="Asaas could not be reached; retrying",
        lost="Asaas did not answer; the request may or may not have been carried out",
    )


class AsaasClient:
    """Talks to one Asaas account.

    Args:
        api_key: The account's API key (sent as the ``access_token`` header).
        base_url: :data:`PRODUCTION_URL`, :data:`SANDBOX_URL`, or a local fake in tests.
        timeout: Seconds for connecting and for each read.
    """

    def __init__(self, api_key: str, base_url: str = SANDBOX_URL, timeout: float = 20.0) -> None:
        self._api_key = api_key
        self.base_url = base_url.rstrip("/")
        self._http = LoopSession(timeout, MAX_CONNECTIONS)

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled HTTP session of the running event loop (a new one on another loop)."""
        return self._http.get()

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._http.aclose()

    async def call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        json: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Make one request and return its JSON object.

        Raises:
            ValidationError: Asaas refused the data (400).
            NotFound: Asaas does not know the resource (404).
            GatewayError: any other failure, or no answer (see :func:`classify`,
                :func:`transport_error`).
        """
        headers = {
            "access_token": self._api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        data: bytes | None = None
        if json is not None:
            headers["Content-Type"] = "application/json"
            data = encode(json)
        try:
            async with self.session.request(
                method,
                f"{self.base_url}/{path.lstrip('/')}",
                headers=headers,
                data=data,
                params=params,
            ) as response:
                status = response.status
                raw = await response.read()
        except NO_ANSWER as exc:
            raise transport_error(exc, operation=operation) from exc
        try:
            body = decode(raw) if raw else None
        except ValueError:
            body = None
        if 200 <= status < 300:
            if isinstance(body, dict):
                return body
            reason = "Asaas answered something that is not a JSON object"
            raise GatewayError(
                reason,
                retryable=False,
                provider=PROVIDER,
                provider_code="bad_response",
                reason=reason,
                http_status=status,
                operation=operation,
            )
        raise classify(body, status, operation=operation)
