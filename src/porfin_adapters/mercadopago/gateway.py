"""Mercado Pago as Porfin's :class:`~porfin_core.ports.payments.PaymentGateway` (PIX).

- ``create_charge``: ``POST /v1/payments`` with ``payment_method_id: pix`` and
  ``X-Idempotency-Key: <charge_id>``: a retry (after a timeout, a crash between "created" and
  "stored") gets the payment of the first attempt back, never a second one.
- ``get_charge``: ``GET /v1/payments/{id}``; ``cancel_charge``: ``PUT /v1/payments/{id}``
  with ``{"status": "cancelled"}``.
- ``read_webhook``: verifies ``x-signature`` (see :mod:`.signature`) and reads the
  notification. Mercado Pago's notifications say *which* payment changed, not how: notices
  carry no status, and the caller reads the payment with ``get_charge``.

Every failure leaves as a Porfin error: 400 -> :class:`ValidationError` (with Mercado Pago's
``cause`` list), 404 -> :class:`NotFound`, 401/403 -> a final :class:`GatewayError`, 408/409/
429/5xx and lost answers -> a retryable :class:`GatewayError` (``delivery_unknown`` when the
request may have been accepted).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from porfin_adapters.http import NO_ANSWER, LoopSession, no_answer_error
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import (
    ChargeRequest,
    GatewayCharge,
    GatewayChargeStatus,
    PaymentNotice,
)

from . import payloads
from .signature import signature_valid

DEFAULT_BASE_URL = "https://api.mercadopago.com"
PROVIDER = "mercadopago"


def transport_error(exc: BaseException, *, operation: str) -> GatewayError:
    """The retryable :class:`GatewayError` for a request that got no answer
    (``delivery_unknown`` unless it surely never reached Mercado Pago)."""
    return no_answer_error(
        exc,
        provider=PROVIDER,
        operation=operation,
        unreachable="Mercado Pago could not be reached; retrying",
        lost="Mercado Pago did not answer; the request may or may not have been accepted",
    )


def _causes(body: Any) -> list[dict[str, Any]]:
    cause = body.get("cause") if isinstance(body, dict) else None
    if isinstance(cause, dict):
        cause = [cause]
    if not isinstance(cause, list):
        return []
    return [
        {"code": str(c.get("code")), "description": str(c.get("description") or "")}
        for c in cause
        if isinstance(c, dict)
    ]


def classify(body: Any, http_status: int, *, operation: str) -> Exception:
    """The Porfin error for a Mercado Pago error answer (``body`` parsed, or None)."""
    causes = _causes(body)
    message = body.get("message") if isinstance(body, dict) else None
    error = body.get("error") if isinstance(body, dict) else None
    provider_code = causes[0]["code"] if causes else str(error or f"http_{http_status}")
    described = "; ".join(c["description"] for c in causes if c["description"])
    detail = described or (str(message) if message else f"HTTP {http_status}")
    fields: dict[str, Any] = {
        "provider": PROVIDER,
        "provider_code": provider_code,
        "http_status": http_status,
        "operation": operation,
    }
    if causes:
        fields["causes"] = causes
    if http_status == 404:
        return NotFound(f"Mercado Pago does not know this payment ({detail})", **fields)
    if http_status in (400, 422):
        return ValidationError(f"Mercado Pago refused the request: {detail}", **fields)
    if http_status in (401, 403):
        reason = (
            "Mercado Pago refused the access token: configure a valid one"
            if http_status == 401
            else "the Mercado Pago account may not make this call"
        )
        return GatewayError(reason, retryable=False, reason=reason, **fields)
    retryable = http_status >= 500 or http_status in (408, 409, 429)
    reason = (
        f"Mercado Pago answered HTTP {http_status}; retrying"
        if retryable
        else f"Mercado Pago answered HTTP {http_status}: {detail}"
    )
    return GatewayError(reason, retryable=retryable, reason=reason, **fields)


MAX_CONNECTIONS = 20
"""Connections to Mercado Pago kept open at most."""


class MercadoPagoGateway:
    """PIX charges at Mercado Pago for one account (one access token).

    Args:
        access_token: The account's ``TEST-...``/``APP_USR-...`` access token.
        webhook_secret: The "assinatura secreta" of the application's Webhooks settings.
        base_url: ``https://api.mercadopago.com``, or a local fake in tests.
        time_zone: Where a due date ends (``date_of_expiration`` is its 23:59:59).
        timeout: Seconds for connecting and for each read.
        max_webhook_age: Refuse notifications whose ``ts`` is older (or further in the
            future) than this; None (default) does not check, since Mercado Pago's docs do
            not settle whether ``ts`` is in seconds or milliseconds (both are accepted here).
        now: The current time (aware), for ``max_webhook_age``.
    """

    def __init__(
        self,
        access_token: str,
        webhook_secret: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        time_zone: str = payloads.DEFAULT_TIME_ZONE,
        timeout: float = 20.0,
        max_webhook_age: timedelta | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._token = access_token
        self._secret = webhook_secret
        self._zone = time_zone
        self._max_age = max_webhook_age
        self._now = now
        self._http = LoopSession(timeout, MAX_CONNECTIONS)

    # -- HTTP -----------------------------------------------------------------------------

    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled HTTP session of the running event loop (a new one on another loop)."""
        return self._http.get()

    async def aclose(self) -> None:
        """Close pooled connections (the container's ``stop``)."""
        await self._http.aclose()

    async def verify_credentials(self) -> dict[str, Any]:
        """``GET /users/me``: the account the access token belongs to, the cheapest call that
        proves the token works.

        Raises:
            GatewayError: the token was refused (401/403), or Mercado Pago failed or did not
                answer.
        """
        answer: dict[str, Any] = await self._call(
            "GET", "/users/me", operation="verify_credentials"
        )
        return answer

    async def _call(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        sent = {"Authorization": f"Bearer {self._token}", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        try:
            async with self.session.request(
                method, f"{self.base_url}{path}", data=body, headers=sent
            ) as response:
                status = response.status
                raw = await response.read()
        except NO_ANSWER as exc:
            raise transport_error(exc, operation=operation) from exc
        try:
            parsed = payloads.loads(raw) if raw else None
        except ValueError:
            parsed = None
        if 200 <= status < 300 and isinstance(parsed, dict):
            return parsed
        if 200 <= status < 300:
            reason = "Mercado Pago answered something that is not a JSON object"
            raise GatewayError(
                reason,
                retryable=False,
                provider=PROVIDER,
                provider_code="bad_response",
                reason=reason,
                http_status=status,
                operation=operation,
            )
        raise classify(parsed, status, operation=operation)

    def _charge(self, payment: Any, operation: str) -> GatewayCharge:
        try:
            return payloads.gateway_charge(payment)
        except ValidationError as exc:
            # A payment we cannot read is Mercado Pago's fault, not the caller's data.
            raise GatewayError(
                exc.message,
                retryable=False,
                provider=PROVIDER,
                provider_code="bad_response",
                reason=exc.message,
                operation=operation,
            ) from exc

    # -- PaymentGateway -------------------------------------------------------------------

    async def create_charge(self, request: ChargeRequest) -> GatewayCharge:
        """Create a PIX payment (idempotent on ``request.charge_id``).

        Raises:
            ValidationError: not PIX, a payment link (``as_link``), no payer e-mail, or
                Mercado Pago refused the data.
            GatewayError: Mercado Pago failed or could not be reached.
        """
        if request.as_link:
            raise ValidationError("payment links are an Asaas feature", field="payment_link")
        body = payloads.dumps(payloads.payment_body(request, self._zone))
        payment = await self._call(
            "POST",
            "/v1/payments",
            operation="create_charge",
            body=body,
            headers={"X-Idempotency-Key": request.charge_id},
        )
        return self._charge(payment, "create_charge")

    async def get_charge(self, provider_charge_id: str) -> GatewayCharge:
        """The payment as Mercado Pago holds it now.

        Raises:
            NotFound: Mercado Pago does not know it.
            GatewayError: Mercado Pago failed or could not be reached.
        """
        payment = await self._call(
            "GET", f"/v1/payments/{_path_id(provider_charge_id)}", operation="get_charge"
        )
        return self._charge(payment, "get_charge")

    async def cancel_charge(self, provider_charge_id: str) -> GatewayCharge:
        """Cancel a pending payment. An already cancelled (or expired) one is returned as it
        is, so a retried cancel is not an error.

        Raises:
            NotFound: Mercado Pago does not know it.
            InvalidStateTransition: it is paid, refunded or otherwise over.
            GatewayError: Mercado Pago failed or could not be reached.
        """
        current = await self.get_charge(provider_charge_id)
        if current.status in (GatewayChargeStatus.CANCELLED, GatewayChargeStatus.EXPIRED):
            return current
        if current.status is not GatewayChargeStatus.PENDING:
            raise InvalidStateTransition(
                f"a {current.status.value} Mercado Pago payment cannot be cancelled",
                provider=PROVIDER,
                provider_charge_id=provider_charge_id,
                status=current.status.value,
            )
        try:
            payment = await self._call(
                "PUT",
                f"/v1/payments/{_path_id(provider_charge_id)}",
                operation="cancel_charge",
                body=payloads.dumps({"status": "cancelled"}),
            )
        except ValidationError as exc:
            # The only data sent is the new status: a refusal means the payment moved on
            # (paid a moment ago) between the read and the cancel.
            raise InvalidStateTransition(
                f"Mercado Pago refused to cancel the payment: {exc.message}",
                provider=PROVIDER,
                provider_charge_id=provider_charge_id,
            ) from exc
        return self._charge(payment, "cancel_charge")

    def read_webhook(
        self,
        headers: Mapping[str, str],
        body: bytes,
        *,
        query: Mapping[str, str] | None = None,
    ) -> list[PaymentNotice]:
        """Verify a notification's ``x-signature`` and read it.

        The signed ``data.id`` is the URL's ``data.id`` (``query``) when given, as Mercado
        Pago's docs say, else the body's ``data.id`` (the same value for payment
        notifications); when both are present they must agree, so the id acted on is always
        the signed one. Notifications of other topics (merchant orders...) read as no notice.

        Raises:
            InvalidCredentials: no, malformed, wrong or (with ``max_webhook_age``) stale
                signature, or ``data.id`` differing between the URL and the body.
            ValidationError: a signed body that is not a Mercado Pago notification.
        """
        lowered = {k.lower(): v for k, v in headers.items()}
        try:
            notification = payloads.loads(body) if body else None
        except ValueError:
            notification = None
        data = notification.get("data") if isinstance(notification, dict) else None
        body_id = data.get("id") if isinstance(data, dict) else None
        body_id = str(body_id) if body_id not in (None, "") else None
        query_id = (query or {}).get("data.id") or None
        if query_id is not None and body_id is not None and query_id.lower() != body_id.lower():
            raise InvalidCredentials(
                "the notification's data.id differs between its URL and its body",
                provider=PROVIDER,
            )
        data_id = query_id or body_id
        valid, ts = signature_valid(self._secret, lowered, data_id)
        if not valid or ts is None:
            raise InvalidCredentials(
                "the notification's x-signature is missing or does not match",
                provider=PROVIDER,
            )
        if self._max_age is not None and not self._fresh(ts, self._max_age):
            raise InvalidCredentials(
                "the notification's x-signature is too old", provider=PROVIDER, ts=ts
            )
        if not isinstance(notification, dict):
            raise ValidationError("the body is not a Mercado Pago notification")
        topic = notification.get("type") or notification.get("topic")
        if topic != "payment":
            return []
        if data_id is None:
            raise ValidationError("the payment notification has no data.id")
        event_id = notification.get("id")
        action = notification.get("action")
        return [
            PaymentNotice(
                event_id=str(event_id) if event_id not in (None, "") else f"{data_id}:{ts}",
                provider_charge_id=data_id,
                status=None,
                occurred_at=_moment(notification.get("date_created")),
                raw_type=str(action or topic),
            )
        ]

    def _fresh(self, ts: str, max_age: timedelta) -> bool:
        if not ts.isdigit():
            return False
        value = int(ts)
        # Mercado Pago calls ts milliseconds but shows 10-digit (seconds) examples.
        seconds = value / 1000 if value >= 10**11 else value
        age = self._now().timestamp() - seconds
        return abs(age) <= max_age.total_seconds()


def _path_id(provider_charge_id: str) -> str:
    if not provider_charge_id.isdigit():
        raise NotFound(
            "Mercado Pago payment ids are numbers",
            provider=PROVIDER,
            provider_charge_id=provider_charge_id,
        )
    return provider_charge_id


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
