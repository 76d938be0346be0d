"""Charges paid through a gateway's payment link (the memory gateway makes them as Asaas does):
the patient gets the page in the chat instead of a PIX code, no CPF is asked, the link is made
again by the job when the gateway was down, and its payment is applied once."""

from __future__ import annotations

import pytest
from dependency_injector import providers

from porfin_adapters.memory.payments import MemoryPaymentGateways
from porfin_core.domain.audit import Actor
from porfin_core.domain.charges import ChargeStatus, TransactionKind
from porfin_core.domain.customer import Identity
from porfin_core.errors import ValidationError
from porfin_core.use_cases.configure_payment_gateway import GatewayChoice
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.receive_payment_webhook import PaymentWebhook
from porfin_core.use_cases.sync_charge import ChargeSync
from tests.unit.conftest import committed_events

ASAAS = {"api_key": "$aact_test_key_1234", "webhook_token": "whsec-asaas-123456"}
MERCADO_PAGO = {"access_token": "TEST-123456", "webhook_secret": "mp-secret-123456"}


@pytest.fixture
def gateways(container) -> MemoryPaymentGateways:
    memory = MemoryPaymentGateways()
    container.payment_gateways.override(providers.Object(memory))
    return memory


@pytest.fixture
async def patient(container, installation, gateways):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.hi",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Souza",
            body="Oi, quero pagar o clareamento",
        )
    )


async def _use(container, patient, provider, settings):
    await container.configure_payment_gateway()(
        GatewayChoice(clinic_id=patient.clinic_id, provider=provider, settings=settings)
    )
    await committed_events(container)


def _link(patient, **more):
    values = {
        "amount_cents": 60000,
        "description": "Clareamento dental",
        "payment_link": True,
        "actor": Actor.user("u1"),
    }
    return NewCharge(
        clinic_id=patient.clinic_id, customer_id=patient.customer_id, **(values | more)
    )


async def _chat_texts(container, patient, charge_id):
    async with container.uow_factory()(read_only=True) as uow:
        timeline = await uow.messages.list_for_chat(patient.clinic_id, patient.chat_id, limit=20)
    return [m.body for m in timeline.items if m.extra.get("charge_id") == charge_id]


async def test_a_link_charge_sends_the_page_instead_of_a_pix_code(container, patient, gateways):
    await _use(container, patient, "asaas", ASAAS)
    issued = await container.create_charge()(_link(patient, max_installments=6))
    charge = issued.charge
    assert (charge.as_link, charge.max_installments) == (True, 6)
    assert charge.provider_charge_id == "link:mem_000001"
    assert (charge.br_code, charge.payment_url) == (None, "https://pay.example/c/mem_000001")
    [request] = gateways.gateway_.requests
    assert (request.as_link, request.max_installments, request.payer_document) == (
        True,
        6,
        None,
    )
    [text] = issued.messages
    assert text.media is None
    assert text.body == (
        "Olá, Maria! Segue a cobrança de R$ 600,00 (Clareamento dental).\n\n"
        "Pague por aqui (PIX, boleto ou cartão em até 6x): https://pay.example/c/mem_000001"
    )


async def test_a_link_without_instalments_says_so(container, patient, gateways):
    await _use(container, patient, "asaas", ASAAS)
    [text] = (await container.create_charge()(_link(patient))).messages
    assert "Pague por aqui (PIX, boleto ou cartão): https://pay.example/c/" in text.body


async def test_a_link_the_gateway_could_not_make_is_made_and_sent_by_the_job_once(
    container, patient, gateways
):
    await _use(container, patient, "asaas", ASAAS)
    gateways.gateway_.fail_next()
    issued = await container.create_charge()(_link(patient))
    assert issued.charge.awaiting_gateway and issued.messages == []
    sync = container.sync_charge()
    for _ in range(2):
        opened = await sync(ChargeSync(clinic_id=patient.clinic_id, charge_id=issued.charge.id))
    assert opened.provider_charge_id == "link:mem_000001"
    assert [r.as_link for r in gateways.gateway_.requests] == [True, True]
    assert gateways.gateway_.created == 1
    [text] = await _chat_texts(container, patient, opened.id)
    assert opened.payment_url in text


async def test_a_payment_through_the_link_is_applied_once(container, patient, gateways):
    await _use(container, patient, "asaas", ASAAS)
    charge = (await container.create_charge()(_link(patient))).charge
    gateways.gateway_.pay(charge.provider_charge_id)
    headers, body = gateways.gateway_.webhook(charge.provider_charge_id, "e1", with_status=False)
    receive = container.receive_payment_webhook()
    for _ in range(2):
        outcome = await receive(
            PaymentWebhook(
                clinic_id=patient.clinic_id, provider="asaas", headers=headers, body=body
            )
        )
        assert (outcome.notices, outcome.applied) == (1, 1)
    async with container.uow_factory()(read_only=True) as uow:
        paid = await uow.charges.get(patient.clinic_id, charge.id)
        moves = await uow.transactions.for_charge(patient.clinic_id, charge.id)
    assert (paid.status, paid.paid_cents) == (ChargeStatus.PAID, 60000)
    assert [(t.kind, t.amount_cents, t.reference) for t in moves] == [
        (TransactionKind.PAYMENT, 60000, "link:mem_000001")
    ]
    names = [e.name for e in await committed_events(container)]
    assert names.count("charge.paid") == 1


async def test_a_gateway_without_links_refuses_before_anything_is_stored(
    container, patient, gateways
):
    await _use(container, patient, "mercadopago", MERCADO_PAGO)
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(_link(patient))
    assert raised.value.fields["field"] == "payment_link"
    async with container.uow_factory()(read_only=True) as uow:
        assert await uow.charges.list(patient.clinic_id) == []
    assert gateways.gateway_.requests == []


async def test_the_embedded_pix_makes_no_links(container, patient, installation):
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(_link(patient))
    assert raised.value.fields["field"] == "payment_link"


@pytest.mark.parametrize(
    ("more", "field"),
    [
        ({"payment_link": False, "max_installments": 3}, "max_installments"),
        ({"max_installments": 0}, "max_installments"),
        ({"max_installments": 13}, "max_installments"),
    ],
)
async def test_instalments_need_a_link_and_a_sensible_count(
    container, patient, gateways, more, field
):
    await _use(container, patient, "asaas", ASAAS)
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(_link(patient, payer_document="12345678909", **more))
    assert raised.value.fields["field"] == field
