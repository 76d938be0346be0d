"""The Asaas gateway against a fake Asaas API on 127.0.0.1: requests have the documented
bodies, a PIX charge comes back with its QR code, a retry after a lost answer never makes a
second payment, webhooks are read only with the account's token, and Asaas's errors become
Porfin's."""

from __future__ import annotations

import base64
import binascii
import json
import socket
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from porfin_adapters.asaas import AsaasGateway
from porfin_adapters.asaas.gateway import to_cents, to_reais
from porfin_core.errors import (
    GatewayError,
    InvalidCredentials,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.payments import BillingType, ChargeRequest, GatewayChargeStatus
from tests.fakes.asaas_api import API_KEY, FIXTURES, AsaasApiFake, fixture

WEBHOOK_TOKEN = "5tLxsL6uoN-porfin-webhook"
CPF = "24971563792"


@pytest.fixture(scope="module")
def asaas_server() -> Iterator[AsaasApiFake]:
    with AsaasApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(asaas_server) -> AsaasApiFake:
    asaas_server.reset()
    return asaas_server


@pytest.fixture
async def gateway(fake):
    gateway = AsaasGateway(
        api_key=API_KEY, webhook_token=WEBHOOK_TOKEN, base_url=f"{fake.url}/v3", timeout=5
    )
    yield gateway
    await gateway.aclose()


def charge(charge_id: str = "chg_0001", **changes) -> ChargeRequest:
    fields = {
        "charge_id": charge_id,
        "clinic_id": "clinica",
        "amount_cents": 15090,
        "description": "Sinal da consulta de 02/12 com Dra. Ana",
        "due_date": date(2026, 12, 1),
        "payer_name": "Marcelo Almeida",
        "payer_email": "marcelo.almeida@gmail.com",
        "payer_phone": "+5547993766370",
        "payer_document": "249.715.637-92",
    }
    fields.update(changes)
    return ChargeRequest(**fields)


def crc_ok(code: str) -> bool:
    return f"{binascii.crc_hqx(code[:-4].encode(), 0xFFFF):04X}" == code[-4:]


# -- creating charges -------------------------------------------------------------------


async def test_a_pix_charge_is_created_with_the_documented_bodies_and_its_qr(gateway, fake):
    created = await gateway.create_charge(charge())

    [customer_call] = fake.calls("POST", "/v3/customers")
    assert set(customer_call.json) <= set(fixture("customer_create_request_postman.json"))
    assert customer_call.json == {
        "name": "Marcelo Almeida",
        "cpfCnpj": CPF,
        "externalReference": f"porfin:clinica:{CPF}",
        "notificationDisabled": True,
        "email": "marcelo.almeida@gmail.com",
        "mobilePhone": "47993766370",
    }
    [payment_call] = fake.calls("POST", "/v3/payments")
    documented = fixture("payment_create_request_pix_docs.json")
    assert set(documented) <= set(payment_call.json)
    assert set(payment_call.json) <= set(fixture("payment_create_request_boleto_postman.json"))
    assert payment_call.json["billingType"] == "PIX"
    assert payment_call.json["customer"] in fake.customers
    assert payment_call.json["dueDate"] == "2026-12-01"
    assert payment_call.json["externalReference"] == "chg_0001"
    # Reais as a JSON number with its centavos, like the docs' 100.90: never a string or float.
    assert '"value":150.90' in payment_call.raw.replace(" ", "")
    assert payment_call.json["value"] == Decimal("150.90")
    for call in fake.requests:
        assert call.headers["access_token"] == API_KEY
        assert call.headers["user-agent"].startswith("Porfin/")
    assert payment_call.headers["content-type"] == "application/json"

    assert created.provider_charge_id.startswith("pay_")
    assert created.status is GatewayChargeStatus.PENDING
    assert created.amount_cents == 15090
    assert created.paid_cents == 0
    assert created.pix_copy_paste is not None
    assert created.pix_copy_paste.startswith("000201") and crc_ok(created.pix_copy_paste)
    assert created.pix_qr_png_base64 is not None
    assert base64.b64decode(created.pix_qr_png_base64).startswith(b"\x89PNG")
    assert created.expires_at is not None and created.expires_at.tzinfo is not None
    assert created.payment_url and created.payment_url.startswith(fake.url)
    assert len(fake.calls("GET", f"/v3/payments/{created.provider_charge_id}/pixQrCode")) == 1


async def test_the_same_payer_is_one_asaas_customer(gateway, fake):
    await gateway.create_charge(charge("chg_1"))
    await gateway.create_charge(charge("chg_2", payer_document=CPF))
    assert len(fake.calls("POST", "/v3/customers")) == 1
    assert len(fake.customers) == 1
    assert {p["customer"] for p in fake.payments.values()} == set(fake.customers)


async def test_a_retry_after_a_lost_answer_does_not_create_a_second_payment(gateway, fake):
    fake.drop_next("POST /v3/payments")
    with pytest.raises(GatewayError) as caught:
        await gateway.create_charge(charge("chg_lost"))
    assert caught.value.retryable
    assert caught.value.fields["delivery_unknown"] is True
    [made] = fake.payments_for("chg_lost")  # Asaas did create it

    # The process died before storing the answer: a new one retries with the same charge id.
    restarted = AsaasGateway(
        api_key=API_KEY, webhook_token=WEBHOOK_TOKEN, base_url=f"{fake.url}/v3"
    )
    try:
        retried = await restarted.create_charge(charge("chg_lost"))
    finally:
        await restarted.aclose()

    assert retried.provider_charge_id == made["id"]
    assert retried.pix_copy_paste and crc_ok(retried.pix_copy_paste)
    assert len(fake.payments_for("chg_lost")) == 1
    assert len(fake.calls("POST", "/v3/payments")) == 1


async def test_a_lost_customer_answer_is_retried_without_a_second_customer(gateway, fake):
    fake.drop_next("POST /v3/customers")
    with pytest.raises(GatewayError):
        await gateway.create_charge(charge("chg_c"))
    await gateway.create_charge(charge("chg_c"))
    assert len(fake.customers) == 1
    assert len(fake.payments_for("chg_c")) == 1


async def test_creating_twice_answers_the_same_payment(gateway, fake):
    first = await gateway.create_charge(charge("chg_twice"))
    second = await gateway.create_charge(charge("chg_twice"))
    assert first.provider_charge_id == second.provider_charge_id
    assert first.pix_copy_paste == second.pix_copy_paste
    assert len(fake.payments_for("chg_twice")) == 1


async def test_a_failed_create_retried_later_makes_exactly_one_payment(gateway, fake):
    fake.fail_next("500", on="POST /v3/payments")
    with pytest.raises(GatewayError) as caught:
        await gateway.create_charge(charge("chg_500"))
    assert caught.value.retryable
    await gateway.create_charge(charge("chg_500"))
    assert len(fake.payments_for("chg_500")) == 1


@pytest.mark.parametrize("document", [None, "", "  "])
async def test_a_payer_without_cpf_or_cnpj_is_a_clear_validation_error(gateway, fake, document):
    with pytest.raises(ValidationError) as caught:
        await gateway.create_charge(charge(payer_document=document))
    assert caught.value.fields["field"] == "payer_document"
    assert "CPF" in caught.value.message
    assert not fake.calls("POST", "/v3/customers")
    assert not fake.calls("POST", "/v3/payments")


async def test_a_malformed_document_or_amount_is_refused_before_asaas(gateway, fake):
    with pytest.raises(ValidationError):
        await gateway.create_charge(charge(payer_document="123"))
    with pytest.raises(ValidationError):
        await gateway.create_charge(charge(amount_cents=0))
    assert not fake.calls("POST", "/v3/payments")


async def test_a_cnpj_payer_and_a_boleto_charge(gateway, fake):
    created = await gateway.create_charge(
        charge("chg_boleto", billing_type=BillingType.BOLETO, payer_document="12.ABC.345/01DE-35")
    )
    [customer_call] = fake.calls("POST", "/v3/customers")
    assert customer_call.json["cpfCnpj"] == "12ABC34501DE35"
    [payment_call] = fake.calls("POST", "/v3/payments")
    assert payment_call.json["billingType"] == "BOLETO"
    assert created.pix_copy_paste is None and created.pix_qr_png_base64 is None
    assert created.payment_url
    assert not [r for r in fake.requests if r.path.endswith("/pixQrCode")]


# -- reading and cancelling -------------------------------------------------------------


async def test_get_charge_follows_the_payment(gateway, fake):
    created = await gateway.create_charge(charge("chg_get"))
    pending = await gateway.get_charge(created.provider_charge_id)
    assert pending.status is GatewayChargeStatus.PENDING and pending.paid_cents == 0
    fake.confirm(created.provider_charge_id)
    paid = await gateway.get_charge(created.provider_charge_id)
    assert paid.status is GatewayChargeStatus.PAID
    assert paid.paid_cents == paid.amount_cents == 15090


async def test_an_unknown_payment_is_not_found(gateway):
    with pytest.raises(NotFound):
        await gateway.get_charge("pay_999999999999")


async def test_cancel_deletes_a_pending_payment_once(gateway, fake):
    created = await gateway.create_charge(charge("chg_cancel"))
    cancelled = await gateway.cancel_charge(created.provider_charge_id)
    assert cancelled.status is GatewayChargeStatus.CANCELLED
    assert fake.payments[created.provider_charge_id]["deleted"] is True
    again = await gateway.cancel_charge(created.provider_charge_id)
    assert again.status is GatewayChargeStatus.CANCELLED
    assert len(fake.calls("DELETE", f"/v3/payments/{created.provider_charge_id}")) == 1


async def test_a_paid_payment_cannot_be_cancelled(gateway, fake):
    created = await gateway.create_charge(charge("chg_paid"))
    fake.confirm(created.provider_charge_id)
    with pytest.raises(InvalidStateTransition):
        await gateway.cancel_charge(created.provider_charge_id)
    assert fake.payments[created.provider_charge_id]["deleted"] is False


async def test_asaas_refusing_the_delete_is_an_invalid_transition(gateway, fake):
    created = await gateway.create_charge(charge("chg_race"))
    fake.fail_next("400", on=f"DELETE /v3/payments/{created.provider_charge_id}")
    with pytest.raises(InvalidStateTransition):
        await gateway.cancel_charge(created.provider_charge_id)


# -- webhooks ---------------------------------------------------------------------------


def test_the_documented_event_is_read_with_the_right_token(gateway):
    body = (FIXTURES / "webhook_event_payment_received_docs.json").read_bytes()
    [notice] = gateway.read_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body)
    assert notice.event_id == "evt_05b708f961d739ea7eba7e4db318f621&368604920"
    assert notice.provider_charge_id == "pay_080225913252"
    assert notice.status is GatewayChargeStatus.PAID
    assert notice.raw_type == "PAYMENT_RECEIVED"
    assert notice.occurred_at is not None
    assert notice.occurred_at.isoformat() == "2024-06-12T16:45:03-03:00"
    # A replay of the same delivery names the same event.
    [replayed] = gateway.read_webhook({"Asaas-Access-Token": WEBHOOK_TOKEN}, body)
    assert replayed.event_id == notice.event_id


async def test_an_event_about_a_porfin_charge_carries_its_id_and_amount(gateway, fake):
    created = await gateway.create_charge(charge("chg_hook"))
    fake.confirm(created.provider_charge_id)
    body = fake.webhook_body("PAYMENT_RECEIVED", created.provider_charge_id)
    [notice] = gateway.read_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body)
    assert notice.charge_id == "chg_hook"
    assert notice.provider_charge_id == created.provider_charge_id
    assert notice.paid_cents == 15090
    assert gateway.read_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body) == [notice]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"asaas-access-token": ""},
        {"asaas-access-token": "wrong"},
        {"asaas-access-token": WEBHOOK_TOKEN + "x"},
        {"access_token": WEBHOOK_TOKEN},
    ],
)
def test_a_webhook_without_the_right_token_is_refused(gateway, headers):
    body = (FIXTURES / "webhook_event_payment_received_docs.json").read_bytes()
    with pytest.raises(InvalidCredentials):
        gateway.read_webhook(headers, body)


def test_no_configured_token_refuses_every_webhook():
    gateway = AsaasGateway(api_key=API_KEY, webhook_token="")
    body = (FIXTURES / "webhook_event_payment_received_docs.json").read_bytes()
    with pytest.raises(InvalidCredentials):
        gateway.read_webhook({"asaas-access-token": ""}, body)


@pytest.mark.parametrize(
    ("event", "status"),
    [
        ("PAYMENT_RECEIVED", GatewayChargeStatus.PAID),
        ("PAYMENT_CONFIRMED", GatewayChargeStatus.PAID),
        ("PAYMENT_OVERDUE", GatewayChargeStatus.EXPIRED),
        ("PAYMENT_DELETED", GatewayChargeStatus.CANCELLED),
        ("PAYMENT_REFUNDED", GatewayChargeStatus.REFUNDED),
        ("PAYMENT_CREATED", None),
        ("PAYMENT_UPDATED", None),
        ("PAYMENT_RESTORED", None),
    ],
)
def test_events_map_to_statuses(gateway, event, status):
    envelope = fixture("webhook_event_payment_received_docs.json")
    envelope["event"] = event
    body = json.dumps(envelope).encode()
    [notice] = gateway.read_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body)
    assert notice.status is status
    assert notice.raw_type == event


def test_bodies_that_are_not_asaas_events(gateway):
    headers = {"asaas-access-token": WEBHOOK_TOKEN}
    with pytest.raises(ValidationError):
        gateway.read_webhook(headers, b"not json")
    with pytest.raises(ValidationError):
        gateway.read_webhook(headers, b"[]")
    assert gateway.read_webhook(headers, b'{"id":"evt_1","event":"TRANSFER_DONE"}') == []


def test_an_event_without_an_id_gets_a_stable_digest(gateway):
    envelope = fixture("webhook_event_payment_received_docs.json")
    del envelope["id"]
    body = json.dumps(envelope).encode()
    headers = {"asaas-access-token": WEBHOOK_TOKEN}
    [first] = gateway.read_webhook(headers, body)
    [second] = gateway.read_webhook(headers, body)
    assert first.event_id == second.event_id and first.event_id.startswith("sha256:")


# -- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "retryable", "provider_code"),
    [
        ("429", True, "too_many_requests"),
        ("500", True, "http_500"),
        ("401", False, "invalid_access_token"),
    ],
)
async def test_asaas_errors_carry_the_right_retry_class(
    gateway, fake, name, retryable, provider_code
):
    fake.fail_next(name)
    with pytest.raises(GatewayError) as caught:
        await gateway.get_charge("pay_000000000001")
    assert caught.value.retryable is retryable
    assert caught.value.fields["provider"] == "asaas"
    assert caught.value.fields["provider_code"] == provider_code
    assert caught.value.fields["http_status"] == int(name)


async def test_a_refused_payment_is_a_validation_error_with_asaas_reasons(gateway, fake):
    fake.fail_next("400", on="POST /v3/payments")
    with pytest.raises(ValidationError) as caught:
        await gateway.create_charge(charge("chg_400"))
    assert caught.value.fields["provider_code"] == "invalid_value"
    assert [e["code"] for e in caught.value.fields["errors"]] == [
        "invalid_value",
        "invalid_dueDate",
    ]
    assert "vencimento" in caught.value.fields["reason"]


async def test_a_wrong_api_key_is_not_retryable(fake):
    gateway = AsaasGateway(api_key="$aact_prod_wrong", base_url=f"{fake.url}/v3")
    try:
        with pytest.raises(GatewayError) as caught:
            await gateway.create_charge(charge())
    finally:
        await gateway.aclose()
    assert caught.value.retryable is False
    assert caught.value.fields["http_status"] == 401


async def test_an_unreachable_asaas_is_retryable_and_safe_to_resend():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = AsaasGateway(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/v3", timeout=2)
    try:
        with pytest.raises(GatewayError) as caught:
            await gateway.get_charge("pay_1")
    finally:
        await gateway.aclose()
    assert caught.value.retryable and caught.value.fields["delivery_unknown"] is False


# -- money ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reais", "cents"),
    [(Decimal("100.90"), 10090), (100, 10000), (Decimal("0.01"), 1), (Decimal("50.0"), 5000)],
)
def test_reais_and_centavos(reais, cents):
    assert to_cents(reais) == cents
    assert to_reais(cents) == Decimal(reais)
    assert isinstance(to_reais(cents), Decimal)
