"""The Mercado Pago gateway against a fake payments API on 127.0.0.1: the create body is the
documented PIX request, a retry after a lost answer finds the first payment (one payment, not
two), amounts travel as exact decimals, webhooks are accepted only with Mercado Pago's
signature, and every error leaves as the right Porfin error."""

from __future__ import annotations

import base64
import binascii
import json
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from porfin_adapters.mercadopago.gateway import MercadoPagoGateway
from porfin_adapters.mercadopago.payloads import cents, dumps, expiration
from porfin_adapters.mercadopago.signature import manifest, parse_signature, sign
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import (
    BillingType,
    ChargeRequest,
    GatewayChargeStatus,
    PaymentGateway,
)
from tests.fakes.mercadopago_api import (
    TOKEN,
    WEBHOOK_SECRET,
    MercadoPagoFake,
    fixture,
    signed_notification,
)


@pytest.fixture(scope="module")
def mp_server() -> Iterator[MercadoPagoFake]:
    with MercadoPagoFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(mp_server) -> MercadoPagoFake:
    mp_server.reset()
    return mp_server


@pytest.fixture
async def gateway(fake):
    gateway = MercadoPagoGateway(TOKEN, WEBHOOK_SECRET, base_url=fake.url, timeout=2.0)
    yield gateway
    await gateway.aclose()


def request(charge_id: str = "chg_01", amount_cents: int = 15000, **changes) -> ChargeRequest:
    fields = {
        "charge_id": charge_id,
        "clinic_id": "clinica",
        "amount_cents": amount_cents,
        "description": "Sinal da consulta de 01/12",
        "due_date": date(2026, 12, 1),
        "payer_name": "Maria da Silva Souza",
        "payer_email": "maria@example.com",
        "payer_phone": "+5511987654321",
        "payer_document": "191.191.191-00",
        **changes,
    }
    return ChargeRequest(**fields)


def crc_ok(code: str) -> bool:
    body, crc = code[:-4], code[-4:]
    return body.endswith("6304") and f"{binascii.crc_hqx(body.encode(), 0xFFFF):04X}" == crc


def test_the_adapter_is_a_payment_gateway():
    gateway: PaymentGateway = MercadoPagoGateway(TOKEN, WEBHOOK_SECRET)
    assert gateway is not None


# -- create ---------------------------------------------------------------------------------


async def test_the_create_request_is_the_documented_pix_payment(gateway, fake):
    await gateway.create_charge(request())

    [sent] = fake.creates()
    documented = fixture("payment_pix_create_request_devsite_curl.json")
    body = sent.json
    # Every field the devsite example sends (address aside: Porfin has none) is sent, shaped
    # the same way.
    assert set(documented) <= set(body)
    assert set(documented["payer"]) - {"address"} <= set(body["payer"])
    assert set(documented["payer"]["identification"]) == set(body["payer"]["identification"])
    assert body["payment_method_id"] == "pix"
    assert body["transaction_amount"] == Decimal("150.00")
    assert b'"transaction_amount":150.00' in sent.raw
    assert body["description"] == "Sinal da consulta de 01/12"
    assert body["external_reference"] == "chg_01"
    assert body["date_of_expiration"] == "2026-12-01T23:59:59.000-03:00"
    assert body["payer"] == {
        "email": "maria@example.com",
        "first_name": "Maria",
        "last_name": "da Silva Souza",
        "identification": {"type": "CPF", "number": "19119119100"},
        "phone": {"area_code": "11", "number": "987654321"},
    }
    assert sent.headers["x-idempotency-key"] == "chg_01"
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["content-type"] == "application/json"


async def test_a_created_charge_carries_the_pix_code_qr_and_link(gateway, fake):
    charge = await gateway.create_charge(request())

    assert charge.status is GatewayChargeStatus.PENDING
    assert charge.amount_cents == 15000 and charge.paid_cents == 0
    assert charge.provider_charge_id in fake.payments
    assert charge.pix_copy_paste is not None and crc_ok(charge.pix_copy_paste)
    assert "br.gov.bcb.pix" in charge.pix_copy_paste
    assert charge.pix_qr_png_base64 is not None
    assert base64.b64decode(charge.pix_qr_png_base64).startswith(b"\x89PNG\r\n\x1a\n")
    assert charge.payment_url is not None and charge.payment_url.startswith(fake.url)
    assert charge.expires_at == datetime(2026, 12, 2, 2, 59, 59, tzinfo=UTC)
    assert charge.paid_at is None


async def test_the_same_charge_id_never_makes_a_second_payment(gateway, fake):
    first = await gateway.create_charge(request())
    again = await gateway.create_charge(request())

    assert again.provider_charge_id == first.provider_charge_id
    assert len(fake.payments) == 1


async def test_a_retry_after_a_lost_answer_returns_the_first_payment(gateway, fake):
    fake.drop_next_create()
    with pytest.raises(GatewayError) as lost:
        await gateway.create_charge(request("chg_lost"))
    assert lost.value.retryable and lost.value.fields["delivery_unknown"] is True
    assert len(fake.payments) == 1  # Mercado Pago did create it

    charge = await gateway.create_charge(request("chg_lost"))

    assert len(fake.payments) == 1
    assert charge.provider_charge_id == next(iter(fake.payments))
    keys = [r.headers["x-idempotency-key"] for r in fake.creates()]
    assert keys == ["chg_lost", "chg_lost"]


async def test_a_payer_without_e_mail_is_refused_before_calling(gateway, fake):
    with pytest.raises(ValidationError) as caught:
        await gateway.create_charge(request(payer_email=None))
    assert caught.value.fields["field"] == "payer_email"
    assert "e-mail" in caught.value.message
    assert fake.requests == []


async def test_only_pix_charges_are_made(gateway, fake):
    with pytest.raises(ValidationError):
        await gateway.create_charge(request(billing_type=BillingType.BOLETO))
    assert fake.requests == []


# -- amounts --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount_cents", "written"),
    [
        (1, b"0.01"),
        (30, b"0.30"),  # 0.1 + 0.2 in floats is 0.30000000000000004
        (115, b"1.15"),  # int(1.15 * 100) == 114 in floats
        (1005, b"10.05"),
        (100050, b"1000.50"),
        (123456789, b"1234567.89"),
    ],
)
async def test_amounts_travel_as_exact_decimals(gateway, fake, amount_cents, written):
    charge = await gateway.create_charge(request(amount_cents=amount_cents))
    fake.approve(charge.provider_charge_id)
    paid = await gateway.get_charge(charge.provider_charge_id)

    assert b'"transaction_amount":' + written + b"," in fake.creates()[0].raw
    assert charge.amount_cents == amount_cents
    assert paid.paid_cents == amount_cents


def test_decimal_helpers_never_round_through_floats():
    assert cents(Decimal("0.1") + Decimal("0.2"), "x") == 30
    assert cents(Decimal("1.15"), "x") == 115
    assert cents(Decimal("2.675"), "x") == 268  # half-up on a third place
    assert cents(100, "x") == 10000
    assert dumps({"a": Decimal("0.30"), "b": "__porfin_decimal_0__"}) == (
        b'{"a":0.30,"b":"__porfin_decimal_0__"}'
    )
    with pytest.raises(ValidationError):
        cents(True, "x")


def test_the_expiration_is_the_end_of_the_due_day_in_sao_paulo():
    assert expiration(date(2026, 12, 1)) == "2026-12-01T23:59:59.000-03:00"
    assert expiration(date(2026, 12, 1), "America/Manaus") == "2026-12-01T23:59:59.000-04:00"


# -- get / cancel ---------------------------------------------------------------------------


async def test_get_reports_payment_and_expiry(gateway, fake):
    paid = await gateway.create_charge(request("chg_paid"))
    expired = await gateway.create_charge(request("chg_expired"))
    fake.approve(paid.provider_charge_id)
    fake.expire(expired.provider_charge_id)

    now_paid = await gateway.get_charge(paid.provider_charge_id)
    now_expired = await gateway.get_charge(expired.provider_charge_id)

    assert now_paid.status is GatewayChargeStatus.PAID
    assert now_paid.paid_cents == 15000 and now_paid.paid_at is not None
    assert now_expired.status is GatewayChargeStatus.EXPIRED


async def test_a_partial_payment_is_reported(gateway, fake):
    charge = await gateway.create_charge(request())
    fake.approve(charge.provider_charge_id, paid=Decimal("50.1"))
    assert (await gateway.get_charge(charge.provider_charge_id)).paid_cents == 5010


async def test_an_unknown_payment_is_not_found(gateway, fake):
    with pytest.raises(NotFound) as caught:
        await gateway.get_charge("999")
    assert caught.value.fields["provider_code"] == "2000"
    with pytest.raises(NotFound):
        await gateway.get_charge("../v1/other")


async def test_cancel_a_pending_charge_and_cancel_again(gateway, fake):
    charge = await gateway.create_charge(request())

    cancelled = await gateway.cancel_charge(charge.provider_charge_id)
    again = await gateway.cancel_charge(charge.provider_charge_id)

    assert cancelled.status is GatewayChargeStatus.CANCELLED
    assert again.status is GatewayChargeStatus.CANCELLED
    puts = [r for r in fake.requests if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].json == {"status": "cancelled"}


async def test_a_paid_charge_cannot_be_cancelled(gateway, fake):
    charge = await gateway.create_charge(request())
    fake.approve(charge.provider_charge_id)
    with pytest.raises(InvalidStateTransition):
        await gateway.cancel_charge(charge.provider_charge_id)
    assert fake.payments[charge.provider_charge_id]["status"] == "approved"


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("failure", ["429", "500", "502"])
async def test_rate_limits_and_server_errors_are_retryable(gateway, fake, failure):
    fake.fail_next(failure)
    with pytest.raises(GatewayError) as caught:
        await gateway.create_charge(request())
    assert caught.value.retryable
    assert caught.value.fields["http_status"] == int(failure)
    assert fake.payments == {}
    # The retry, with the same key, creates the payment once.
    await gateway.create_charge(request())
    assert len(fake.payments) == 1


async def test_a_bad_token_is_final(fake):
    gateway = MercadoPagoGateway("TEST-wrong", WEBHOOK_SECRET, base_url=fake.url)
    try:
        with pytest.raises(GatewayError) as caught:
            await gateway.get_charge("1")
    finally:
        await gateway.aclose()
    assert not caught.value.retryable
    assert caught.value.fields["http_status"] == 401


async def test_a_refused_request_is_a_validation_error_with_the_causes(gateway, fake):
    fake.fail_next("400")
    with pytest.raises(ValidationError) as caught:
        await gateway.create_charge(request())
    assert caught.value.fields["provider_code"] == "4020"
    assert caught.value.fields["causes"] == [
        {"code": "4020", "description": "notification_url must be url"}
    ]


async def test_an_unreachable_server_is_retryable_and_surely_not_created():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = MercadoPagoGateway(TOKEN, WEBHOOK_SECRET, base_url=f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(GatewayError) as caught:
            await gateway.create_charge(request())
    finally:
        await gateway.aclose()
    assert caught.value.retryable and caught.value.fields["delivery_unknown"] is False


# -- webhooks -------------------------------------------------------------------------------


def test_the_signature_matches_the_reference_check_value():
    assert manifest("123456", "bb56a2f1-6aae-46ac-982e-9dcd3581d08e", "1742505638683") == (
        "id:123456;request-id:bb56a2f1-6aae-46ac-982e-9dcd3581d08e;ts:1742505638683;"
    )
    assert (
        sign(
            "your_secret_key_here",
            "123456",
            "bb56a2f1-6aae-46ac-982e-9dcd3581d08e",
            "1742505638683",
        )
        == "5e0a7ed2ea5ece575e9d1a9bb80f7ce6ca43d6d30e8be93413bae108b94ad7cd"
    )
    assert manifest("AbC9", None, "1") == "id:abc9;ts:1;"
    assert parse_signature(" v1 = ab , ts = 1 ") == ("1", "ab")
    assert parse_signature("ts=1") is None


@pytest.mark.parametrize("with_query", [True, False])
def test_a_signed_notification_is_read(gateway, with_query):
    headers, body, query = signed_notification("999999999")

    [notice] = gateway.read_webhook(headers, body, query=query if with_query else None)

    assert notice.event_id == "12345"
    assert notice.provider_charge_id == "999999999"
    assert notice.status is None and notice.charge_id is None
    assert notice.raw_type == "payment.updated"
    assert notice.occurred_at == datetime.fromisoformat("2015-03-25T10:04:58.396-04:00")


def test_signature_parts_may_come_in_any_order_and_header_case(gateway):
    headers, body, query = signed_notification("999999999")
    ts, v1 = parse_signature(headers["x-signature"]) or ("", "")
    swapped = {"X-Signature": f"v1={v1}, ts={ts}", "X-Request-Id": headers["x-request-id"]}
    assert len(gateway.read_webhook(swapped, body, query=query)) == 1


def test_an_alphanumeric_id_is_signed_lower_case(gateway):
    headers, body, _ = signed_notification("abc123")
    upper = json.loads(body)
    upper["data"]["id"] = "ABC123"
    [notice] = gateway.read_webhook(
        headers, json.dumps(upper).encode(), query={"data.id": "ABC123"}
    )
    assert notice.provider_charge_id == "ABC123"


def _tampered(kind: str) -> tuple[dict[str, str], bytes, dict[str, str] | None]:
    headers, body, query = signed_notification("999999999")
    ts, v1 = parse_signature(headers["x-signature"]) or ("", "")
    if kind == "missing":
        del headers["x-signature"]
    elif kind == "no_v1":
        headers["x-signature"] = f"ts={ts}"
    elif kind == "garbage":
        headers["x-signature"] = "garbage"
    elif kind == "wrong_secret":
        _, body, query = signed_notification("999999999", secret="another-secret")
        headers, _, _ = signed_notification("999999999", secret="another-secret")
    elif kind == "ts":
        headers["x-signature"] = f"ts={int(ts) + 1},v1={v1}"
    elif kind == "request_id":
        headers["x-request-id"] = "00000000-0000-0000-0000-000000000000"
    elif kind == "v1":
        headers["x-signature"] = f"ts={ts},v1={'0' * 64}"
    elif kind == "body_id":
        body = body.replace(b'"999999999"', b'"111111111"')
        query = None
    elif kind == "query_id":
        query = {"data.id": "111111111", "type": "payment"}
    return headers, body, query


@pytest.mark.parametrize(
    "kind",
    [
        "missing",
        "no_v1",
        "garbage",
        "wrong_secret",
        "ts",
        "request_id",
        "v1",
        "body_id",
        "query_id",
    ],
)
def test_a_notification_without_a_valid_signature_is_refused(gateway, kind):
    headers, body, query = _tampered(kind)
    with pytest.raises(InvalidCredentials):
        gateway.read_webhook(headers, body, query=query)


def test_without_a_secret_nothing_is_accepted(fake):
    gateway = MercadoPagoGateway(TOKEN, "", base_url=fake.url)
    headers, body, query = signed_notification("1", secret="")
    with pytest.raises(InvalidCredentials):
        gateway.read_webhook(headers, body, query=query)


def test_a_stale_notification_is_refused_when_an_age_limit_is_set():
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    gateway = MercadoPagoGateway(
        TOKEN, WEBHOOK_SECRET, max_webhook_age=timedelta(minutes=5), now=lambda: now
    )
    fresh_s = str(int(now.timestamp()) - 60)
    fresh_ms = str(int(now.timestamp() * 1000) - 60_000)
    stale = str(int(now.timestamp()) - 600)
    for ts in (fresh_s, fresh_ms):
        headers, body, query = signed_notification("1", ts=ts)
        assert len(gateway.read_webhook(headers, body, query=query)) == 1
    headers, body, query = signed_notification("1", ts=stale)
    with pytest.raises(InvalidCredentials):
        gateway.read_webhook(headers, body, query=query)


def test_other_topics_read_as_no_notice(gateway):
    headers, body, query = signed_notification("42")
    other = json.loads(body)
    other["type"] = "merchant_order"
    assert gateway.read_webhook(headers, json.dumps(other).encode(), query=query) == []


def test_a_signed_body_that_is_not_a_notification_is_invalid(gateway):
    headers, _, query = signed_notification("42")
    with pytest.raises(ValidationError):
        gateway.read_webhook(headers, b"not json", query=query)


async def test_a_webhook_then_a_read_gives_the_new_status(gateway, fake):
    charge = await gateway.create_charge(request())
    fake.approve(charge.provider_charge_id)
    headers, body, query = signed_notification(charge.provider_charge_id)

    [notice] = gateway.read_webhook(headers, body, query=query)
    now = await gateway.get_charge(notice.provider_charge_id)

    assert now.status is GatewayChargeStatus.PAID
