"""Charges through Asaas and Mercado Pago (local fakes speaking their documented APIs), over
HTTP: the clinic's gateway set by an admin, a charge created at the gateway and delivered, its
webhook verified (a bad token or signature changes nothing) and applied once however often it
is replayed, an answer lost after the gateway created the charge recovered without a
second charge, and an Asaas payment link sent in the chat and paid through it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from porfin_core.domain.pix import parse_br_code
from tests.e2e.conftest import AUTH, login, ok, simulate
from tests.fakes import mercadopago_api
from tests.fakes.asaas_api import API_KEY, AsaasApiFake
from tests.fakes.mercadopago_api import MercadoPagoFake, signed_notification

CPF = "24971563792"
ASAAS_TOKEN = "porfin-asaas-webhook-token"


@pytest.fixture(scope="module")
def asaas_server() -> Iterator[AsaasApiFake]:
    with AsaasApiFake.serving() as fake:
        yield fake


@pytest.fixture(scope="module")
def mercadopago_server() -> Iterator[MercadoPagoFake]:
    with MercadoPagoFake.serving() as fake:
        yield fake


@pytest.fixture
def asaas(asaas_server, http) -> AsaasApiFake:
    asaas_server.reset()
    settings = {
        "api_key": API_KEY,
        "webhook_token": ASAAS_TOKEN,
        "base_url": f"{asaas_server.url}/v3",
    }
    admin = login(http, "admin")
    shown = ok(
        http.put(
            "/api/v1/clinic/payment-gateway",
            json={"provider": "asaas", "settings": settings},
            headers=admin,
        )
    )
    assert shown["provider"] == "asaas"
    assert shown["secret_hints"] == {"api_key": API_KEY[-4:], "webhook_token": ASAAS_TOKEN[-4:]}
    assert API_KEY not in str(shown)
    return asaas_server


@pytest.fixture
def patient(http) -> str:
    [channel] = ok(http.get("/api/v1/channels", headers=AUTH))
    return ok(simulate(http, channel["id"], "Oi, quero pagar o sinal"))["customer_id"]


def _charge(http, headers, patient, **payer):
    body = {
        "customer_id": patient,
        "amount_cents": 15090,
        "description": "Sinal da consulta",
        **payer,
    }
    return ok(http.post("/api/v1/charges", json=body, headers=headers), 201)


def test_an_asaas_charge_is_paid_by_its_webhook_once(http, asaas, patient):
    secretary = login(http, "secretary")
    refused = http.post(
        "/api/v1/charges",
        json={"customer_id": patient, "amount_cents": 100, "description": "x"},
        headers=secretary,
    )
    assert (refused.status_code, "payer_document" in refused.text) == (422, True)
    charge = _charge(http, secretary, patient, payer_document=CPF)
    assert (charge["provider"], charge["status"]) == ("asaas", "pending")
    assert parse_br_code(charge["br_code"]).amount_cents == 15090
    payment_id = charge["provider_charge_id"]
    clinic_id = ok(http.get("/api/v1/clinic", headers=AUTH))["id"]
    gateway = ok(http.get("/api/v1/clinic/payment-gateway", headers=secretary))
    assert gateway["webhook_path"] == f"/webhooks/payments/asaas/{clinic_id}"

    asaas.confirm(payment_id)
    body = asaas.webhook_body("PAYMENT_RECEIVED", payment_id, event_id="evt_1")
    forged = http.post(
        gateway["webhook_path"], content=body, headers={"asaas-access-token": "guess"}
    )
    assert (forged.status_code, forged.json()["code"]) == (401, "invalid_credentials")
    pending = ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))
    assert (pending["status"], pending["transactions"]) == ("pending", [])

    for _ in range(3):
        applied = ok(
            http.post(
                gateway["webhook_path"], content=body, headers={"asaas-access-token": ASAAS_TOKEN}
            )
        )
        assert applied == {"notices": 1, "applied": 1, "ignored": 0}
    paid = ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))
    assert (paid["status"], paid["paid_cents"]) == ("paid", 15090)
    assert [(t["kind"], t["source"], t["by"]) for t in paid["transactions"]] == [
        ("payment", "webhook", "asaas")
    ]
    wrong_clinic = http.post(
        "/webhooks/payments/asaas/nope", content=body, headers={"asaas-access-token": ASAAS_TOKEN}
    )
    assert wrong_clinic.status_code == 404


def test_an_asaas_payment_link_reaches_the_chat_and_its_payment_is_applied_once(
    http, asaas, patient
):
    secretary = login(http, "secretary")
    # No CPF: the patient types their data on the link's page.
    charge = _charge(http, secretary, patient, payment_link=True, max_installments=3)
    assert (charge["payment_link"], charge["max_installments"], charge["br_code"]) == (
        True,
        3,
        None,
    )
    link_id = charge["provider_charge_id"].removeprefix("link:")
    [made] = asaas.links_for(charge["id"])
    assert (made["id"], made["chargeType"], made["maxInstallmentCount"]) == (
        link_id,
        "INSTALLMENT",
        3,
    )
    assert charge["payment_url"] == made["url"]
    timeline = ok(http.get(f"/api/v1/chats/{charge['chat_id']}/messages", headers=AUTH))["items"]
    [sent] = [
        m
        for m in timeline
        if f"Pague por aqui (PIX, boleto ou cartão em até 3x): {made['url']}"
        in (m.get("body") or "")
    ]
    assert "R$ 150,90" in sent["body"] and "image" not in [m["kind"] for m in timeline]

    [payment_id] = asaas.pay_link(link_id, billing_type="CREDIT_CARD")
    body = asaas.webhook_body("PAYMENT_CONFIRMED", payment_id, event_id="evt_link")
    path = f"/webhooks/payments/asaas/{ok(http.get('/api/v1/clinic', headers=AUTH))['id']}"
    forged = http.post(path, content=body, headers={"asaas-access-token": "guess"})
    assert forged.status_code == 401
    for _ in range(3):
        applied = ok(http.post(path, content=body, headers={"asaas-access-token": ASAAS_TOKEN}))
        assert applied == {"notices": 1, "applied": 1, "ignored": 0}
    paid = ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))
    assert (paid["status"], paid["paid_cents"]) == ("paid", 15090)
    assert (paid["payment_link"], paid["max_installments"]) == (True, 3)
    assert [(t["kind"], t["amount_cents"], t["source"]) for t in paid["transactions"]] == [
        ("payment", 15090, "webhook")
    ]
    assert len(asaas.links_for(charge["id"])) == 1


def test_an_answer_lost_after_asaas_created_the_charge_makes_no_second_one(http, asaas, patient):
    secretary = login(http, "secretary")
    asaas.drop_next("POST /v3/payments")
    charge = _charge(http, secretary, patient, payer_document=CPF)
    # Asaas made the payment; its answer never arrived: the charge waits, without a code.
    assert (charge["status"], charge["br_code"], charge["provider_charge_id"]) == (
        "pending",
        None,
        None,
    )
    assert len(asaas.payments_for(charge["id"])) == 1
    synced = ok(http.post(f"/api/v1/charges/{charge['id']}/sync", headers=secretary))
    [payment] = asaas.payments_for(charge["id"])
    assert synced["provider_charge_id"] == payment["id"]
    assert synced["br_code"] is not None
    again = ok(http.post(f"/api/v1/charges/{charge['id']}/sync", headers=secretary))
    assert again["provider_charge_id"] == payment["id"]
    assert len(asaas.payments_for(charge["id"])) == 1


def test_a_mercado_pago_charge_is_paid_by_its_signed_notification(
    http, mercadopago_server, patient
):
    fake = mercadopago_server
    fake.reset()
    admin, secretary = login(http, "admin"), login(http, "secretary")
    ok(
        http.put(
            "/api/v1/clinic/payment-gateway",
            json={
                "provider": "mercadopago",
                "settings": {
                    "access_token": mercadopago_api.TOKEN,
                    "webhook_secret": mercadopago_api.WEBHOOK_SECRET,
                    "base_url": fake.url,
                },
            },
            headers=admin,
        )
    )
    missing = http.post(
        "/api/v1/charges",
        json={"customer_id": patient, "amount_cents": 100, "description": "x"},
        headers=secretary,
    )
    assert (missing.status_code, "payer_email" in missing.text) == (422, True)
    charge = _charge(http, secretary, patient, payer_email="maria@example.com")
    payment_id = charge["provider_charge_id"]
    assert charge["br_code"]
    fake.approve(payment_id)
    clinic_id = ok(http.get("/api/v1/clinic", headers=AUTH))["id"]
    path = f"/webhooks/payments/mercadopago/{clinic_id}"
    headers, body, query = signed_notification(payment_id)
    bad, _, _ = signed_notification(payment_id, secret="not-the-secret")
    assert http.post(path, content=body, headers=bad, params=query).status_code == 401
    assert ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))["status"] == (
        "pending"
    )
    for _ in range(2):
        ok(http.post(path, content=body, headers=headers, params=query))
    paid = ok(http.get(f"/api/v1/charges/{charge['id']}", headers=secretary))
    assert (paid["status"], len(paid["transactions"])) == ("paid", 1)
    back = ok(http.delete("/api/v1/clinic/payment-gateway", headers=admin))
    assert back == {
        "provider": "embedded",
        "settings": {},
        "secret_hints": {},
        "webhook_path": None,
    }
