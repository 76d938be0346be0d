"""A fake of Mercado Pago's payments API (plain ASGI), served by uvicorn on 127.0.0.1.

It speaks the documented wire format (reference §4.2, ``../shared/fixtures/mercadopago``):

- ``POST /v1/payments``: checks the bearer token, the ``X-Idempotency-Key`` header and the
  PIX body (``transaction_amount`` a number with at most two places, ``payment_method_id:
  pix``, ``payer.email``), answers 201 with the payment: the fields of the OpenAPI fixture
  ``payment_pix_response_openapi_fixture.json`` plus ``point_of_interaction`` as in the
  devsite excerpt, with a BR Code whose CRC is right and a real QR PNG. The same
  idempotency key answers the same payment (never a second one);
- ``GET /users/me``: the account of the token (how Porfin checks it);
- ``GET /v1/payments/{id}``; ``PUT /v1/payments/{id}`` with ``{"status": "cancelled"}``
  (a pending payment only; 400 otherwise);
- errors in Mercado Pago's shape ``{"message", "error", "status", "cause": [...]}``;
- test controls: :meth:`MercadoPagoFake.fail_next` (429, 500, 401...),
  :meth:`MercadoPagoFake.drop_next_create` (the payment is created, the answer is lost),
  :meth:`MercadoPagoFake.approve`, :meth:`MercadoPagoFake.expire`, and :func:`signed_notification`
  (a webhook call signed exactly as Mercado Pago signs it).

Amounts are kept as :class:`~decimal.Decimal` and written as JSON numbers (``100.5``), as
Mercado Pago writes them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import attrs
import segno
import uvicorn

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("mercadopago")
TOKEN = "TEST-1234567890123456-112600-0123456789abcdef0123456789abcdef-123456789"
WEBHOOK_SECRET = "fake-webhook-secret-0123456789abcdef"
PIX_KEY = "financeiro@clinica.example"


def fixture(name: str) -> Any:
    """A Mercado Pago fixture, parsed (numbers with a fraction as Decimal)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def error(status: int, error_code: str, message: str, *causes: tuple[int, str]) -> dict[str, Any]:
    """An error answer in Mercado Pago's shape."""
    return {
        "message": message,
        "error": error_code,
        "status": status,
        "cause": [{"code": code, "description": text, "data": None} for code, text in causes],
    }


FAILURES: dict[str, tuple[int, Any]] = {
    "429": (429, error(429, "too_many_requests", "Too many requests")),
    "500": (500, error(500, "internal_error", "internal_error")),
    "502": (502, "<html>Bad Gateway</html>"),
    "401": (401, error(401, "unauthorized", "invalid access token", (2001, "invalid token"))),
    "400": (
        400,
        error(400, "bad_request", "invalid parameters", (4020, "notification_url must be url")),
    ),
}
"""Scripted failures: HTTP status and body, by name."""


def br_code(amount: Decimal, txid: str) -> str:
    """A dynamic-looking PIX "copia e cola" with a correct CRC (not a real charge)."""

    def tlv(tag: str, value: str) -> str:
        return f"{tag}{len(value):02d}{value}"

    account = tlv("00", "br.gov.bcb.pix") + tlv("01", PIX_KEY)
    payload = (
        tlv("00", "01")
        + tlv("26", account)
        + tlv("52", "0000")
        + tlv("53", "986")
        + tlv("54", f"{amount:.2f}")
        + tlv("58", "BR")
        + tlv("59", "CLINICA EXEMPLO")
        + tlv("60", "SAO PAULO")
        + tlv("62", tlv("05", txid[:25]))
        + "6304"
    )
    return payload + f"{binascii.crc_hqx(payload.encode(), 0xFFFF):04X}"


def qr_png_base64(text: str) -> str:
    """``text`` as a QR code PNG, base64 (as ``qr_code_base64``)."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=2)
    return base64.b64encode(buffer.getvalue()).decode()


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    raw: bytes
    json: Any = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


class MercadoPagoFake:
    """State of the fake: payments, what it received, what it will answer next."""

    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.url = ""
        self.requests: list[Recorded] = []
        self.payments: dict[str, dict[str, Any]] = {}
        self.by_key: dict[str, str] = {}
        """Idempotency key -> payment id."""
        self._failures: list[tuple[int, Any]] = []
        self._drop_creates = 0
        self._ids = itertools.count(2345678901)
        self._lock = threading.Lock()
        self.started = False

    # -- test controls ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget everything."""
        with self._lock:
            self.requests.clear()
            self.payments.clear()
            self.by_key.clear()
            self._failures.clear()
            self._drop_creates = 0

    def fail_next(self, name: str, times: int = 1) -> None:
        """Answer the next ``times`` calls with the failure ``name`` (see :data:`FAILURES`)."""
        with self._lock:
            self._failures.extend([FAILURES[name]] * times)

    def drop_next_create(self) -> None:
        """Create the next payment, then drop the connection before the answer is complete."""
        with self._lock:
            self._drop_creates += 1

    def approve(self, payment_id: str, paid: Decimal | None = None) -> None:
        """The patient paid (``paid`` reais, the whole amount by default)."""
        with self._lock:
            payment = self.payments[payment_id]
            total = payment["transaction_amount"] if paid is None else paid
            payment.update(
                status="approved",
                status_detail="accredited",
                date_approved=_iso(datetime.now(UTC)),
                date_last_updated=_iso(datetime.now(UTC)),
            )
            payment["transaction_details"].update(
                total_paid_amount=total, net_received_amount=total
            )

    def expire(self, payment_id: str) -> None:
        """The PIX code expired unpaid (Mercado Pago cancels it with ``expired``)."""
        with self._lock:
            self.payments[payment_id].update(status="cancelled", status_detail="expired")

    def creates(self) -> list[Recorded]:
        """The ``POST /v1/payments`` requests, oldest first."""
        return [r for r in self.requests if r.method == "POST" and r.path == "/v1/payments"]

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        raw = b""
        while True:
            message = await receive()
            raw += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        try:
            body = json.loads(raw, parse_float=Decimal) if raw else None
        except ValueError:
            body = None
        recorded = Recorded(scope["method"], scope["path"], headers, raw, body)
        with self._lock:
            self.requests.append(recorded)
        status, answer, drop = self._answer(recorded)
        payload = (
            answer.encode()
            if isinstance(answer, str)
            else json.dumps(answer, default=float).encode()
        )
        media = b"text/html" if isinstance(answer, str) else b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        if drop:
            # Half the answer, then the connection closes (uvicorn closes it when the app
            # returns with the response incomplete): the client never learns the payment id.
            await send({"type": "http.response.body", "body": payload[:10], "more_body": True})
            return
        await send({"type": "http.response.body", "body": payload})

    def _answer(self, r: Recorded) -> tuple[int, Any, bool]:
        if r.headers.get("authorization") != f"Bearer {self.token}":
            return (*FAILURES["401"], False)
        with self._lock:
            if self._failures:
                status, body = self._failures.pop(0)
                return status, body, False
        parts = r.path.strip("/").split("/")
        if parts == ["users", "me"] and r.method == "GET":
            return 200, {"id": 123456789, "nickname": "TESTCLINICA", "site_id": "MLB"}, False
        if parts == ["v1", "payments"] and r.method == "POST":
            return self._create(r)
        if len(parts) == 3 and parts[:2] == ["v1", "payments"]:
            with self._lock:
                payment = self.payments.get(parts[2])
            if payment is None:
                missing = (2000, "Payment not found")
                return 404, error(404, "not_found", "Payment not found", missing), False
            if r.method == "GET":
                return 200, payment, False
            if r.method == "PUT":
                return self._update(payment, r.json)
        return 404, error(404, "not_found", f"{r.method} {r.path} not found"), False

    def _create(self, r: Recorded) -> tuple[int, Any, bool]:
        key = r.headers.get("x-idempotency-key")
        if not key:
            bad = error(400, "bad_request", "header X-Idempotency-Key is required")
            return 400, bad, False
        with self._lock:
            known = self.by_key.get(key)
            if known is not None:
                return 201, self.payments[known], False
        problem = _check_create(r.json)
        if problem is not None:
            code, text = problem
            return 400, error(400, "bad_request", text, (code, text)), False
        body = r.json
        payment_id = str(next(self._ids))
        payment = fixture("payment_pix_response_openapi_fixture.json")
        payment.pop("x-mp-resourceId", None)
        now = _iso(datetime.now(UTC))
        amount = Decimal(body["transaction_amount"])
        point = fixture("payment_pix_point_of_interaction_devsite_excerpt.json")
        code = br_code(amount, f"MP{payment_id}")
        point["point_of_interaction"]["transaction_data"].update(
            qr_code=code,
            qr_code_base64=qr_png_base64(code),
            ticket_url=f"{self.url}/payments/{payment_id}/ticket?caller_id=123456",
        )
        payment.update(
            id=int(payment_id),
            date_created=now,
            date_last_updated=now,
            date_of_expiration=body.get("date_of_expiration") or now,
            status="pending",
            status_detail="pending_waiting_transfer",
            description=body.get("description"),
            payer={"email": body["payer"]["email"], **body["payer"]},
            transaction_amount=amount,
            external_reference=body.get("external_reference"),
            metadata=body.get("metadata") or {},
            **point,
        )
        with self._lock:
            self.payments[payment_id] = payment
            self.by_key[key] = payment_id
            drop = self._drop_creates > 0
            if drop:
                self._drop_creates -= 1
        return 201, payment, drop

    def _update(self, payment: dict[str, Any], body: Any) -> tuple[int, Any, bool]:
        if not isinstance(body, dict) or body.get("status") != "cancelled":
            return 400, error(400, "bad_request", "invalid status", (1, "invalid status")), False
        with self._lock:
            if payment["status"] not in ("pending", "in_process"):
                text = f"Payment can't be cancelled: status {payment['status']}"
                return 400, error(400, "bad_request", text, (2040, text)), False
            payment.update(status="cancelled", status_detail="by_collector")
        return 200, payment, False

    # -- serving ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serving(cls, token: str = TOKEN) -> Iterator[MercadoPagoFake]:
        """Run a fake on a free loopback port in a thread for the duration of the block."""
        fake = cls(token)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(
            uvicorn.Config(fake, log_level="critical", lifespan="on", ws="none")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        try:
            while not server.started:
                if time.monotonic() > deadline:
                    raise RuntimeError("the fake Mercado Pago API did not start")
                time.sleep(0.01)
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


def _check_create(body: Any) -> tuple[int, str] | None:
    """Why ``body`` is not a PIX payment Mercado Pago accepts: (cause code, text), or None."""
    if not isinstance(body, dict):
        return 3001, "body must be a JSON object"
    amount = body.get("transaction_amount")
    if isinstance(amount, bool) or not isinstance(amount, int | Decimal) or amount <= 0:
        return 4037, "Invalid transaction_amount"
    if Decimal(amount) != Decimal(amount).quantize(Decimal("0.01")):
        return 4037, "Invalid transaction_amount"
    if body.get("payment_method_id") != "pix":
        return 4049, "payment_method_id must be pix"
    payer = body.get("payer")
    if not isinstance(payer, dict) or not payer.get("email"):
        return 4050, "payer.email must be a valid email"
    expiration = body.get("date_of_expiration")
    if expiration is not None:
        try:
            moment = datetime.fromisoformat(expiration)
        except (TypeError, ValueError):
            return 4033, "date_of_expiration must be a valid date"
        if moment.tzinfo is None:
            return 4033, "date_of_expiration must have an offset"
    return None


def mp_signature(secret: str, data_id: str, request_id: str, ts: str) -> str:
    """``v1`` as Mercado Pago computes it (written here from its docs, independently of the
    adapter): hex HMAC-SHA256 of ``id:<data.id lower-cased>;request-id:<id>;ts:<ts>;``."""
    signed = f"id:{data_id.lower()};request-id:{request_id};ts:{ts};"
    return hmac.new(secret.encode(), signed.encode(), hashlib.sha256).hexdigest()


def signed_notification(
    payment_id: str,
    *,
    secret: str = WEBHOOK_SECRET,
    event_id: int = 12345,
    action: str = "payment.updated",
    request_id: str = "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
    ts: str | None = None,
) -> tuple[dict[str, str], bytes, dict[str, str]]:
    """A webhook call as Mercado Pago makes it: (headers, body, query).

    The body is the documented notification (``webhook_notification_payment_docs.json``) about
    ``payment_id``; the URL carries ``?data.id=<id>&type=payment``; ``x-signature`` is
    ``ts=<ts>,v1=<hmac>`` over ``id:<data.id>;request-id:<x-request-id>;ts:<ts>;``.
    """
    ts = ts if ts is not None else str(int(time.time()))
    body = fixture("webhook_notification_payment_docs.json")
    body.update(id=event_id, action=action, data={"id": payment_id})
    headers = {
        "x-signature": f"ts={ts},v1={mp_signature(secret, payment_id, request_id, ts)}",
        "x-request-id": request_id,
        "content-type": "application/json",
    }
    return headers, json.dumps(body).encode(), {"data.id": payment_id, "type": "payment"}
