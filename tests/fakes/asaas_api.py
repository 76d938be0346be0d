"""A fake of the Asaas API v3, served by uvicorn on 127.0.0.1.

It speaks the documented wire format of the endpoints Porfin's gateway uses (reference §4.1 and
the request fixtures in ``../shared/fixtures/asaas``):

- ``GET /v3/customers?externalReference=`` and ``POST /v3/customers`` (fields limited to the
  ones of ``customer_create_request_postman.json``; ``name`` and ``cpfCnpj`` required);
- ``GET /v3/payments?externalReference=``, ``POST /v3/payments`` (``PaymentSaveRequestDto``:
  ``customer``, ``billingType``, ``value`` as a JSON number in reais, ``dueDate``
  ``yyyy-MM-dd`` required), ``GET /v3/payments/{id}``, ``DELETE /v3/payments/{id}`` (refused
  with ``invalid_action`` once received) and ``GET /v3/payments/{id}/pixQrCode`` (a real BR
  Code with its CRC, and its QR as a PNG in base64);
- payment links: ``GET /v3/paymentLinks?externalReference=`` (deleted links only with
  ``includeDeleted=true``), ``POST /v3/paymentLinks`` (fields of
  ``payment_link_create_request_postman.json`` plus the documented optional
  ``externalReference``, ``callback``, ``isAddressRequired``; ``name``, ``billingType``,
  ``chargeType`` required, ``dueDateLimitDays`` when a boleto may be chosen,
  ``maxInstallmentCount`` for INSTALLMENT), ``GET`` and ``DELETE /v3/paymentLinks/{id}``;
  payments made through a link carry ``paymentLink`` and are listed by
  ``GET /v3/payments?paymentLink=`` (:meth:`AsaasApiFake.pay_link` is the patient paying);
- every call needs the ``access_token`` header (401 otherwise) and a ``User-Agent``;
- scripted failures: :meth:`AsaasApiFake.fail_next` (``429``, ``500``, ``401``, ``400``) and
  :meth:`AsaasApiFake.drop_next`, which carries the call out (creates the payment) and then
  breaks the connection in the middle of the answer: the "killed between created and stored"
  case;
- sandbox actions for tests: :meth:`AsaasApiFake.confirm` (the patient paid), and
  :meth:`AsaasApiFake.webhook_body` (an event as Asaas posts it).

Use :meth:`AsaasApiFake.serving` (a context manager) to run it in a thread.
"""

from __future__ import annotations

import base64
import binascii
import copy
import io
import itertools
import json
import re
import socket
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import attrs
import msgspec
import segno
import uvicorn
from litestar import Litestar, Request, Response, delete, get, post
from litestar.params import FromPath

from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("asaas")
API_KEY = "$aact_hmlg_000MzkwODA2MWY2OGM3MWRlMDU2NWM3MzJlNzZmNGZhZGY6OmZha2U="


def fixture(name: str) -> Any:
    """An Asaas fixture, parsed (numbers with a fraction as Decimal)."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"), parse_float=Decimal)


CUSTOMER_FIELDS = frozenset(fixture("customer_create_request_postman.json"))
PAYMENT_FIELDS = frozenset(
    {
        *fixture("payment_create_request_boleto_postman.json"),
        *fixture("payment_create_request_pix_docs.json"),
        "installmentCount",
        "installmentValue",
        "totalValue",
        "split",
        "callback",
    }
)
BILLING_TYPES = frozenset({"BOLETO", "CREDIT_CARD", "PIX", "UNDEFINED"})
LINK_FIELDS = frozenset(
    {
        *fixture("payment_link_create_request_postman.json"),
        "externalReference",
        "callback",
        "isAddressRequired",
    }
)
CHARGE_TYPES = frozenset({"DETACHED", "RECURRENT", "INSTALLMENT"})
PAID = frozenset({"RECEIVED", "CONFIRMED", "RECEIVED_IN_CASH"})


def _errors(code: str, description: str) -> dict[str, Any]:
    return {"errors": [{"code": code, "description": description}]}


FAILURES: dict[str, tuple[int, Any]] = {
    "429": (429, _errors("too_many_requests", "Limite de requisições atingido.")),
    "500": (500, None),
    "401": (401, _errors("invalid_access_token", "A chave de API fornecida é inválida")),
    "400": (
        400,
        {
            "errors": [
                {"code": "invalid_value", "description": "O campo value deve ser informado."},
                {
                    "code": "invalid_dueDate",
                    "description": "A data de vencimento não pode ser anterior a hoje.",
                },
            ]
        },
    ),
}
"""Scripted failures: HTTP status and body, by name."""


@attrs.define
class Recorded:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    raw: str = ""
    json: Any = None


def _tlv(tag: str, value: str) -> str:
    return f"{tag}{len(value):02d}{value}"


def br_code(payment_id: str, cents: int) -> str:
    """A dynamic PIX BR Code for a payment, with its CRC16-CCITT-FALSE."""
    account = _tlv("00", "br.gov.bcb.pix") + _tlv(
        "25", f"pix.asaas.fake/qr/v2/cobv/{payment_id.removeprefix('pay_')}"
    )
    body = (
        _tlv("00", "01")
        + _tlv("01", "12")
        + _tlv("26", account)
        + _tlv("52", "0000")
        + _tlv("53", "986")
        + _tlv("54", f"{Decimal(cents).scaleb(-2)}")
        + _tlv("58", "BR")
        + _tlv("59", "CLINICA FAKE")
        + _tlv("60", "SAO PAULO")
        + _tlv("62", _tlv("05", "***"))
        + "6304"
    )
    return body + f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}"


class AsaasApiFake:
    """State of the fake: customers, payments, what it received, what it will answer next."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.url = ""
        self.requests: list[Recorded] = []
        self.customers: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.links: dict[str, dict[str, Any]] = {}
        self._failures: deque[tuple[str | None, tuple[int, Any]]] = deque()
        self._drops: deque[str] = deque()
        self._holds: deque[str] = deque()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._started = threading.Event()
        self.app = self._build_app()

    # -- test controls ------------------------------------------------------------------

    def reset(self) -> None:
        """Forget requests, customers, payments and scripted failures."""
        with self._lock:
            self.requests.clear()
            self.customers.clear()
            self.payments.clear()
            self.links.clear()
            self._failures.clear()
            self._drops.clear()
            self._holds.clear()

    def fail_next(self, name: str, times: int = 1, *, on: str | None = None) -> None:
        """Answer the next ``times`` calls (those to ``on``, e.g. ``"POST /v3/payments"``, when
        given) with the failure ``name`` (see :data:`FAILURES`), changing nothing."""
        with self._lock:
            self._failures.extend([(on, FAILURES[name])] * times)

    def drop_next(self, on: str = "POST /v3/payments") -> None:
        """Carry the next call to ``on`` out, then break the connection mid-answer."""
        with self._lock:
            self._drops.append(on)

    def hold_next(self, on: str = "POST /v3/payments") -> None:
        """Carry the next call to ``on`` out, then never answer (until the client goes away):
        a process killed meanwhile never learns what Asaas did."""
        with self._lock:
            self._holds.append(on)

    def payments_for(self, reference: str) -> list[dict[str, Any]]:
        """Every payment created with ``externalReference`` = ``reference`` (deleted too)."""
        with self._lock:
            return [p for p in self.payments.values() if p.get("externalReference") == reference]

    def links_for(self, reference: str) -> list[dict[str, Any]]:
        """Every payment link created with ``externalReference`` = ``reference``."""
        with self._lock:
            return [x for x in self.links.values() if x.get("externalReference") == reference]

    def pay_link(
        self,
        link_id: str,
        *,
        billing_type: str = "PIX",
        installments: int = 1,
        status: str = "RECEIVED",
    ) -> list[str]:
        """A patient pays through the link (choosing ``billing_type``, in ``installments``
        card instalments): the payments Asaas makes, with ``paymentLink``, in ``status``
        (``PENDING``: a boleto issued, not paid yet). Returns their ids."""
        with self._lock:
            link = self.links[link_id]
            customer = {
                "object": "customer",
                "id": f"cus_{next(self._ids):012d}",
                "name": "Pagador do link",
                "cpfCnpj": "24971563792",
                "deleted": False,
            }
            self.customers[customer["id"]] = customer
            total = Decimal(link["value"])
            each = (total / installments).quantize(Decimal("0.01"))
            group = f"ins_{next(self._ids):012d}" if installments > 1 else None
            ids = []
            for number in range(1, installments + 1):
                value = each if number < installments else total - each * (installments - 1)
                payment_id = f"pay_{next(self._ids):012d}"
                paid = status in PAID
                self.payments[payment_id] = {
                    "object": "payment",
                    "id": payment_id,
                    "dateCreated": "2026-11-25",
                    "customer": customer["id"],
                    "paymentLink": link_id,
                    "installment": group,
                    "installmentNumber": number if group else None,
                    "value": value,
                    "netValue": value - Decimal("0.99"),
                    "billingType": billing_type,
                    "status": status,
                    "dueDate": "2026-11-28",
                    "description": link.get("description"),
                    "externalReference": None,
                    "invoiceUrl": f"{self.url}/i/{payment_id.removeprefix('pay_')}",
                    "pixTransaction": None,
                    "paymentDate": "2026-11-25" if paid else None,
                    "clientPaymentDate": "2026-11-25" if paid else None,
                    "confirmedDate": "2026-11-25" if paid else None,
                    "deleted": False,
                }
                ids.append(payment_id)
            return ids

    def calls(self, method: str, path: str) -> list[Recorded]:
        """The requests received for ``method`` ``path``."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def confirm(self, payment_id: str, status: str = "RECEIVED") -> None:
        """The patient paid (the sandbox's ``POST /v3/sandbox/payment/{id}/confirm``)."""
        with self._lock:
            payment = self.payments[payment_id]
            payment.update(
                status=status,
                paymentDate=payment["dueDate"],
                clientPaymentDate=payment["dueDate"],
                confirmedDate=payment["dueDate"],
            )

    def webhook_body(self, event: str, payment_id: str, *, event_id: str | None = None) -> bytes:
        """The body Asaas posts for ``event`` about ``payment_id`` (the documented envelope,
        with the payment object in full)."""
        envelope = fixture("webhook_event_payment_received_docs.json")
        with self._lock:
            payment = copy.deepcopy(self.payments[payment_id])
        envelope.update(
            id=event_id or f"evt_{payment_id}_{event}&{next(self._ids)}",
            event=event,
            payment=payment,
        )
        return _dumps(envelope).encode()

    # -- the app ------------------------------------------------------------------------

    def _next_id(self) -> int:
        with self._lock:
            return next(self._ids)

    def _take(self, method: str, path: str) -> tuple[int, Any] | None:
        route = f"{method} {path}"
        with self._lock:
            for index, (on, failure) in enumerate(self._failures):
                if on is None or on == route:
                    del self._failures[index]
                    return failure
        return None

    def _take_drop(self, method: str, path: str) -> bool:
        return self._take_from(self._drops, method, path)

    def _take_from(self, routes: deque[str], method: str, path: str) -> bool:
        route = f"{method} {path}"
        with self._lock:
            if route in routes:
                routes.remove(route)
                return True
        return False

    async def _accept(self, request: Request[Any, Any, Any]) -> Response[Any] | Recorded:
        """Record the request; a refusal (auth, scripted) as a Response."""
        raw = (await request.body()).decode()
        recorded = Recorded(
            request.method,
            request.url.path,
            dict(request.headers),
            dict(request.query_params),
            raw,
            json.loads(raw, parse_float=Decimal) if raw else None,
        )
        with self._lock:
            self.requests.append(recorded)
        if request.headers.get("access_token") != self.api_key:
            return _answer(*FAILURES["401"])
        if not request.headers.get("user-agent"):
            return _answer(400, _errors("invalid_user_agent", "Informe o header User-Agent."))
        scripted = self._take(request.method, request.url.path)
        if scripted is not None:
            return _answer(*scripted)
        return recorded

    def _build_app(self) -> Any:
        fake = self

        @get("/v3/customers")
        async def list_customers(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            reference = got.query.get("externalReference")
            with fake._lock:
                found = [
                    c
                    for c in fake.customers.values()
                    if reference is None or c.get("externalReference") == reference
                ]
            return _answer(200, _page(found))

        @post("/v3/customers", status_code=200)
        async def create_customer(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            body = got.json
            if not isinstance(body, dict) or set(body) - CUSTOMER_FIELDS:
                extra = sorted(set(body) - CUSTOMER_FIELDS) if isinstance(body, dict) else []
                return _answer(400, _errors("invalid_object", f"Campos desconhecidos: {extra}"))
            if not body.get("name"):
                return _answer(400, _errors("invalid_name", "O nome do cliente é obrigatório."))
            if not re.fullmatch(r"\d{11}|[0-9A-Z]{12}\d{2}", str(body.get("cpfCnpj") or "")):
                return _answer(400, _errors("invalid_cpfCnpj", "O CPF/CNPJ informado é inválido."))
            customer = {
                "object": "customer",
                "id": f"cus_{fake._next_id():012d}",
                "dateCreated": "2026-11-25",
                "deleted": False,
                **body,
            }
            with fake._lock:
                fake.customers[customer["id"]] = customer
            return _answer(200, customer)

        @get("/v3/payments")
        async def list_payments(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            reference = got.query.get("externalReference")
            link = got.query.get("paymentLink")
            with fake._lock:
                found = [
                    p
                    for p in fake.payments.values()
                    if not p["deleted"]
                    and (reference is None or p.get("externalReference") == reference)
                    and (link is None or p.get("paymentLink") == link)
                ]
            return _answer(200, _page(found))

        @post("/v3/payments", status_code=200)
        async def create_payment(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            problem = _check_payment(got.json, fake.customers)
            if problem is not None:
                return _answer(400, problem)
            body = got.json
            payment_id = f"pay_{fake._next_id():012d}"
            payment = {
                "object": "payment",
                "id": payment_id,
                "dateCreated": "2026-11-25",
                "customer": body["customer"],
                "value": body["value"],
                "netValue": body["value"] - Decimal("0.99"),
                "billingType": body["billingType"],
                "status": "PENDING",
                "dueDate": body["dueDate"],
                "description": body.get("description"),
                "externalReference": body.get("externalReference"),
                "paymentLink": None,
                "invoiceUrl": f"{fake.url}/i/{payment_id.removeprefix('pay_')}",
                "invoiceNumber": f"{fake._next_id():08d}",
                "bankSlipUrl": (
                    f"{fake.url}/b/pdf/{payment_id}" if body["billingType"] == "BOLETO" else None
                ),
                "pixTransaction": None,
                "paymentDate": None,
                "clientPaymentDate": None,
                "confirmedDate": None,
                "deleted": False,
            }
            with fake._lock:
                fake.payments[payment_id] = payment
            return _answer(200, payment)

        @get("/v3/payments/{payment_id:str}")
        async def get_payment(
            request: Request[Any, Any, Any], payment_id: FromPath[str]
        ) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            with fake._lock:
                payment = copy.deepcopy(fake.payments.get(payment_id))
            if payment is None:
                return _answer(404, None)
            return _answer(200, payment)

        @delete("/v3/payments/{payment_id:str}", status_code=200)
        async def delete_payment(
            request: Request[Any, Any, Any], payment_id: FromPath[str]
        ) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            with fake._lock:
                payment = fake.payments.get(payment_id)
                if payment is None or payment["deleted"]:
                    return _answer(404, None)
                if payment["status"] in PAID or payment["status"] == "REFUNDED":
                    return _answer(
                        400,
                        _errors("invalid_action", "Não é possível remover uma cobrança recebida."),
                    )
                payment["deleted"] = True
            return _answer(200, {"deleted": True, "id": payment_id})

        @get("/v3/payments/{payment_id:str}/pixQrCode")
        async def pix_qr_code(
            request: Request[Any, Any, Any], payment_id: FromPath[str]
        ) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            with fake._lock:
                payment = copy.deepcopy(fake.payments.get(payment_id))
            if payment is None or payment["deleted"]:
                return _answer(404, None)
            if payment["billingType"] != "PIX":
                return _answer(400, _errors("invalid_billingType", "A cobrança não é do tipo Pix."))
            payload = br_code(payment_id, int(payment["value"] * 100))
            png = io.BytesIO()
            segno.make(payload, error="m").save(png, kind="png", scale=2)
            year, rest = payment["dueDate"].split("-", 1)
            return _answer(
                200,
                {
                    "encodedImage": base64.b64encode(png.getvalue()).decode(),
                    "payload": payload,
                    "expirationDate": f"{int(year) + 1}-{rest} 23:59:59",
                },
            )

        @get("/v3/paymentLinks")
        async def list_links(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            reference = got.query.get("externalReference")
            deleted = got.query.get("includeDeleted") == "true"
            with fake._lock:
                found = [
                    x
                    for x in fake.links.values()
                    if (deleted or not x["deleted"])
                    and (reference is None or x.get("externalReference") == reference)
                ]
            return _answer(200, _page(found))

        @post("/v3/paymentLinks", status_code=200)
        async def create_link(request: Request[Any, Any, Any]) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            problem = _check_link(got.json)
            if problem is not None:
                return _answer(400, problem)
            link_id = f"{fake._next_id():012d}"
            link = {
                "id": link_id,
                "active": True,
                "url": f"{fake.url}/c/{link_id}",
                "deleted": False,
                "viewCount": 0,
                "description": None,
                "value": None,
                "endDate": None,
                "dueDateLimitDays": None,
                "maxInstallmentCount": 1,
                "externalReference": None,
                "notificationEnabled": True,
                **got.json,
            }
            with fake._lock:
                fake.links[link_id] = link
            return _answer(200, link)

        @get("/v3/paymentLinks/{link_id:str}")
        async def get_link(
            request: Request[Any, Any, Any], link_id: FromPath[str]
        ) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            with fake._lock:
                link = copy.deepcopy(fake.links.get(link_id))
            return _answer(404, None) if link is None else _answer(200, link)

        @delete("/v3/paymentLinks/{link_id:str}", status_code=200)
        async def delete_link(
            request: Request[Any, Any, Any], link_id: FromPath[str]
        ) -> Response[Any]:
            got = await fake._accept(request)
            if isinstance(got, Response):
                return got
            with fake._lock:
                link = fake.links.get(link_id)
                if link is None or link["deleted"]:
                    return _answer(404, None)
                link.update(deleted=True, active=False)
            return _answer(200, {"deleted": True, "id": link_id})

        litestar = Litestar(
            [
                list_links,
                create_link,
                get_link,
                delete_link,
                list_customers,
                create_customer,
                list_payments,
                create_payment,
                get_payment,
                delete_payment,
                pix_qr_code,
            ],
            on_startup=[lambda: fake._started.set()],
            openapi_config=None,
        )

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and fake._take_from(
                fake._holds, scope["method"], scope["path"]
            ):
                # Do the work, then say nothing until the client hangs up (or is killed).
                async def keep(message: Any) -> None:
                    return None

                await litestar(scope, receive, keep)
                while (await receive())["type"] != "http.disconnect":
                    continue
                return
            if scope["type"] == "http" and fake._take_drop(scope["method"], scope["path"]):
                # Do the work, then answer headers and half a body and hang up: the client
                # never learns the payment's id.
                async def swallow(message: Any) -> None:
                    return None

                await litestar(scope, receive, swallow)
                await send(
                    {
                        "type": "http.response.start",
                        "status": 200,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", b"4096"),
                        ],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b'{"object":"paym', "more_body": True}
                )
                return
            await litestar(scope, receive, send)

        return app

    # -- serving ------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def serving(cls, api_key: str = API_KEY) -> Iterator[AsaasApiFake]:
        """Run a fake on a free loopback port in a thread for the duration of the block."""
        fake = cls(api_key)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        # "critical": a dropped answer is logged by uvicorn as an error, on purpose here.
        server = uvicorn.Server(
            uvicorn.Config(fake.app, log_level="critical", lifespan="on", ws="none")
        )
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            if not fake._started.wait(timeout=10):
                raise RuntimeError("the fake Asaas API did not start")
            yield fake
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()


_encoder = msgspec.json.Encoder(decimal_format="number")


def _dumps(body: Any) -> str:
    """JSON as Asaas writes it: amounts as numbers in reais (``100.90``), never floats."""
    return _encoder.encode(body).decode()


def _answer(status: int, body: Any) -> Response[Any]:
    if body is None:
        return Response(b"", status_code=status, media_type="application/json")
    return Response(_dumps(body).encode(), status_code=status, media_type="application/json")


def _page(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "list",
        "hasMore": False,
        "totalCount": len(items),
        "limit": 10,
        "offset": 0,
        "data": copy.deepcopy(items),
    }


def _check_payment(body: Any, customers: dict[str, Any]) -> dict[str, Any] | None:
    """Asaas's 400 answer for a payment body, or None when it is valid."""
    if not isinstance(body, dict):
        return _errors("invalid_object", "JSON esperado.")
    unknown = set(body) - PAYMENT_FIELDS
    if unknown:
        return _errors("invalid_object", f"Campos desconhecidos: {sorted(unknown)}")
    if body.get("customer") not in customers:
        return _errors("invalid_customer", "Cliente inexistente.")
    if body.get("billingType") not in BILLING_TYPES:
        return _errors("invalid_billingType", "Forma de pagamento inválida.")
    value = body.get("value")
    if isinstance(value, bool) or not isinstance(value, int | Decimal) or value <= 0:
        return _errors("invalid_value", "O campo value deve ser informado.")
    if isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")):
        return _errors("invalid_value", "O valor tem mais de duas casas decimais.")
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(body.get("dueDate") or "")):
        return _errors("invalid_dueDate", "A data de vencimento é inválida.")
    if len(str(body.get("description") or "")) > 500:
        return _errors("invalid_description", "A descrição tem mais de 500 caracteres.")
    return None


def _check_link(body: Any) -> dict[str, Any] | None:
    """Asaas's 400 answer for a payment link body, or None when it is valid."""
    if not isinstance(body, dict):
        return _errors("invalid_object", "JSON esperado.")
    unknown = set(body) - LINK_FIELDS
    if unknown:
        return _errors("invalid_object", f"Campos desconhecidos: {sorted(unknown)}")
    if not body.get("name"):
        return _errors("invalid_name", "O nome do link é obrigatório.")
    if body.get("billingType") not in BILLING_TYPES:
        return _errors("invalid_billingType", "Forma de pagamento inválida.")
    if body.get("chargeType") not in CHARGE_TYPES:
        return _errors("invalid_chargeType", "Forma de cobrança inválida.")
    value = body.get("value")
    if value is not None and (
        isinstance(value, bool)
        or not isinstance(value, int | Decimal)
        or value <= 0
        or (isinstance(value, Decimal) and value != value.quantize(Decimal("0.01")))
    ):
        return _errors("invalid_value", "Valor inválido.")
    if body["billingType"] in ("UNDEFINED", "BOLETO") and not body.get("dueDateLimitDays"):
        return _errors("invalid_dueDateLimitDays", "Informe os dias úteis para o boleto.")
    if body["chargeType"] == "INSTALLMENT" and not body.get("maxInstallmentCount"):
        return _errors("invalid_maxInstallmentCount", "Informe o número de parcelas.")
    if body["chargeType"] == "RECURRENT" and not body.get("subscriptionCycle"):
        return _errors("invalid_subscriptionCycle", "Informe a periodicidade.")
    end = body.get("endDate")
    if end is not None and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(end)):
        return _errors("invalid_endDate", "Data de encerramento inválida.")
    return None
