"""Asaas payment links against the fake Asaas API: the link is made with the documented body
(billing type chosen by the patient, instalments), looked up before it is made again, read
through the payments made with it, cancelled with them, and a webhook about one of its
payments is reported for the link."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from porfin_adapters.asaas import AsaasGateway
from porfin_adapters.memory.payments import MemoryPaymentGateway
from porfin_adapters.mercadopago.gateway import MercadoPagoGateway
from porfin_core.errors import GatewayError, InvalidStateTransition, NotFound, ValidationError
from porfin_core.ports.payments import ChargeRequest, GatewayChargeStatus
from tests.fakes.asaas_api import API_KEY, AsaasApiFake, fixture

WEBHOOK_TOKEN = "5tLxsL6uoN-porfin-webhook"


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


def link(charge_id: str = "chg_0001", **changes) -> ChargeRequest:
    fields = {
        "charge_id": charge_id,
        "clinic_id": "clinica",
        "amount_cents": 60000,
        "description": "Clareamento dental",
        "due_date": date(2026, 12, 1),
        "payer_name": "Marcelo Almeida",
        "as_link": True,
    }
    fields.update(changes)
    return ChargeRequest(**fields)


def _link_id(provider_charge_id: str) -> str:
    assert provider_charge_id.startswith("link:")
    return provider_charge_id.removeprefix("link:")


async def test_a_link_is_made_with_the_documented_body_and_no_customer(gateway, fake):
    created = await gateway.create_charge(link())

    [call] = fake.calls("POST", "/v3/paymentLinks")
    documented = fixture("payment_link_create_request_postman.json")
    assert set(call.json) <= set(documented) | {"externalReference"}
    assert call.json == {
        "name": "Clareamento dental",
        "description": "Clareamento dental",
        "value": Decimal("600.00"),
        "billingType": "UNDEFINED",
        "chargeType": "DETACHED",
        "endDate": "2026-12-01",
        "dueDateLimitDays": 3,
        "maxInstallmentCount": 1,
        "externalReference": "chg_0001",
        "notificationEnabled": False,
    }
    # The patient types their data on the page: no customer, no CPF needed.
    assert fake.calls("POST", "/v3/customers") == []
    assert fake.calls("POST", "/v3/payments") == []
    link_id = _link_id(created.provider_charge_id)
    assert created.payment_url == fake.links[link_id]["url"]
    assert (created.status, created.amount_cents, created.paid_cents) == (
        GatewayChargeStatus.PENDING,
        60000,
        0,
    )
    assert created.pix_copy_paste is None and created.pix_qr_png_base64 is None


async def test_instalments_make_an_instalment_link(gateway, fake):
    await gateway.create_charge(link(max_installments=6))
    [call] = fake.calls("POST", "/v3/paymentLinks")
    assert (call.json["chargeType"], call.json["maxInstallmentCount"]) == ("INSTALLMENT", 6)


async def test_a_retried_creation_finds_the_link_and_makes_no_second_one(gateway, fake):
    fake.drop_next("POST /v3/paymentLinks")
    with pytest.raises(GatewayError) as caught:
        await gateway.create_charge(link())
    assert caught.value.retryable and caught.value.fields["delivery_unknown"] is True
    assert len(fake.links_for("chg_0001")) == 1  # Asaas did make it

    # The process died before storing the answer: a new one retries with the same charge id.
    restarted = AsaasGateway(api_key=API_KEY, base_url=f"{fake.url}/v3")
    try:
        again = await restarted.create_charge(link())
    finally:
        await restarted.aclose()
    [made] = fake.links_for("chg_0001")
    assert again.provider_charge_id == f"link:{made['id']}"
    assert (await gateway.create_charge(link())).provider_charge_id == again.provider_charge_id
    assert len(fake.links_for("chg_0001")) == 1
    lookups = fake.calls("GET", "/v3/paymentLinks")
    assert lookups and all(c.query == {"externalReference": "chg_0001"} for c in lookups)


async def test_a_payment_through_the_link_makes_it_paid(gateway, fake):
    created = await gateway.create_charge(link())
    link_id = _link_id(created.provider_charge_id)
    other = _link_id((await gateway.create_charge(link("chg_0002"))).provider_charge_id)
    fake.pay_link(other)  # another link's payment is not this one's

    assert (await gateway.get_charge(created.provider_charge_id)).status is (
        GatewayChargeStatus.PENDING
    )
    fake.pay_link(link_id, billing_type="BOLETO", status="PENDING")  # a boleto issued
    pending = await gateway.get_charge(created.provider_charge_id)
    assert (pending.status, pending.paid_cents) == (GatewayChargeStatus.PENDING, 0)

    fake.pay_link(link_id, billing_type="PIX")
    paid = await gateway.get_charge(created.provider_charge_id)
    assert (paid.status, paid.paid_cents, paid.amount_cents) == (
        GatewayChargeStatus.PAID,
        60000,
        60000,
    )
    assert paid.payment_url == fake.links[link_id]["url"]
    [*_, listing] = fake.calls("GET", "/v3/payments")
    assert listing.query["paymentLink"] == link_id


async def test_card_instalments_add_up_to_the_whole_amount(gateway, fake):
    created = await gateway.create_charge(link(max_installments=3, amount_cents=10000))
    fake.pay_link(_link_id(created.provider_charge_id), billing_type="CREDIT_CARD", installments=3)
    paid = await gateway.get_charge(created.provider_charge_id)
    assert (paid.status, paid.paid_cents) == (GatewayChargeStatus.PAID, 10000)


async def test_a_retry_after_payment_answers_the_paid_link(gateway, fake):
    created = await gateway.create_charge(link())
    fake.pay_link(_link_id(created.provider_charge_id))
    again = await gateway.create_charge(link())
    assert (again.provider_charge_id, again.status) == (
        created.provider_charge_id,
        GatewayChargeStatus.PAID,
    )


async def test_cancelling_deletes_the_link_and_its_pending_payments(gateway, fake):
    created = await gateway.create_charge(link())
    link_id = _link_id(created.provider_charge_id)
    [boleto] = fake.pay_link(link_id, billing_type="BOLETO", status="PENDING")
    cancelled = await gateway.cancel_charge(created.provider_charge_id)
    assert cancelled.status is GatewayChargeStatus.CANCELLED
    assert fake.links[link_id]["deleted"] and fake.payments[boleto]["deleted"]
    again = await gateway.cancel_charge(created.provider_charge_id)
    assert again.status is GatewayChargeStatus.CANCELLED
    assert len(fake.calls("DELETE", f"/v3/paymentLinks/{link_id}")) == 1
    assert (await gateway.get_charge(created.provider_charge_id)).status is (
        GatewayChargeStatus.CANCELLED
    )


async def test_a_paid_link_cannot_be_cancelled(gateway, fake):
    created = await gateway.create_charge(link())
    fake.pay_link(_link_id(created.provider_charge_id))
    with pytest.raises(InvalidStateTransition):
        await gateway.cancel_charge(created.provider_charge_id)


async def test_an_unknown_link_is_not_found(gateway):
    with pytest.raises(NotFound):
        await gateway.get_charge("link:000000000404")
    with pytest.raises(NotFound):
        await gateway.get_charge("link:")


async def test_asaas_refusing_the_link_is_a_validation_error(gateway, fake):
    fake.fail_next("400", on="POST /v3/paymentLinks")
    with pytest.raises(ValidationError):
        await gateway.create_charge(link())


async def test_a_webhook_about_a_link_payment_is_reported_for_the_link(gateway, fake):
    created = await gateway.create_charge(link())
    link_id = _link_id(created.provider_charge_id)
    [payment_id] = fake.pay_link(link_id)
    body = fake.webhook_body("PAYMENT_RECEIVED", payment_id, event_id="evt_link_1")
    [notice] = gateway.read_webhook({"asaas-access-token": WEBHOOK_TOKEN}, body)
    assert notice.provider_charge_id == f"link:{link_id}"
    assert (notice.event_id, notice.raw_type) == ("evt_link_1", "PAYMENT_RECEIVED")
    # One payment says little of the whole link: the link is read again.
    assert (notice.status, notice.paid_cents) == (None, None)


async def test_other_gateways_refuse_links():
    with pytest.raises(ValidationError, match="Asaas feature"):
        await MemoryPaymentGateway(links=False).create_charge(link())
    mercadopago = MercadoPagoGateway(
        access_token="TEST-x", webhook_secret="s", base_url="http://127.0.0.1:9"
    )
    try:
        with pytest.raises(ValidationError, match="Asaas feature"):
            await mercadopago.create_charge(link(payer_email="a@b.co"))
    finally:
        await mercadopago.aclose()
