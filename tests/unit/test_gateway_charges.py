"""Charges through a payment gateway (the memory gateway): creation at the gateway and in the
chat, a gateway that cannot be reached, webhooks replayed with duplicates and bad signatures,
polls that find a missed payment, refunds, cancellation, expiry, and what follows a payment."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from dependency_injector import providers

from porfin_adapters.memory.payments import MemoryPaymentGateways
from porfin_core.domain.audit import Actor
from porfin_core.domain.charges import ChargeStatus, TransactionKind
from porfin_core.domain.customer import FunnelStage, Identity
from porfin_core.domain.jobs import JobStatus
from porfin_core.errors import InvalidCredentials, InvalidStateTransition, ValidationError
from porfin_core.ports.payments import GatewayChargeStatus
from porfin_core.use_cases._charges import SYNC_JOB
from porfin_core.use_cases.cancel_charge import ChargeCancellation
from porfin_core.use_cases.configure_payment_gateway import GatewayChoice
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.receive_payment_webhook import PaymentWebhook
from porfin_core.use_cases.refund_charge import Refund
from porfin_core.use_cases.sync_charge import ChargeSync
from tests.scheduling_builders import appointment
from tests.unit.conftest import committed_events

ASAAS = {"api_key": "$aact_test_key_1234", "webhook_token": "whsec-asaas-123456"}


@pytest.fixture
def gateways(container) -> MemoryPaymentGateways:
    memory = MemoryPaymentGateways()
    container.payment_gateways.override(providers.Object(memory))
    return memory


@pytest.fixture
async def patient(container, installation, gateways):
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.hi",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Souza",
            body="Oi, quero pagar o sinal",
        )
    )
    await container.configure_payment_gateway()(
        GatewayChoice(clinic_id=installation.clinic.id, provider="asaas", settings=ASAAS)
    )
    await committed_events(container)
    return received


def _new(patient, **more):
    values = {
        "amount_cents": 15000,
        "description": "Sinal da consulta",
        "payer_document": "123.456.789-09",
        "actor": Actor.user("u1"),
    }
    return NewCharge(
        clinic_id=patient.clinic_id, customer_id=patient.customer_id, **(values | more)
    )


async def _charge(container, patient, charge_id):
    async with container.uow_factory()(read_only=True) as uow:
        charge = await uow.charges.get(patient.clinic_id, charge_id)
        moves = await uow.transactions.for_charge(patient.clinic_id, charge_id)
    return charge, moves


async def _jobs(container, clinic_id, charge_id, kind):
    async with container.uow_factory()(read_only=True) as uow:
        return [
            j
            for j in await uow.jobs.for_subject(clinic_id, f"charge:{charge_id}")
            if j.kind == kind
        ]


# -- the clinic's gateway ---------------------------------------------------------------------


async def test_the_gateway_keeps_its_credentials_in_the_secret_store(container, installation):
    configure = container.configure_payment_gateway()
    clinic = await configure(
        GatewayChoice(clinic_id=installation.clinic.id, provider="asaas", settings=ASAAS)
    )
    config = clinic.payment_gateway
    assert config.provider.value == "asaas" and dict(config.settings) == {}
    assert config.secrets["api_key"].hint == "1234"
    secrets = container.secret_store()
    assert await secrets.get(config.secrets["webhook_token"]) == ASAAS["webhook_token"]
    for bad, field in (
        ({"api_key": "k"}, "webhook_token"),
        ({**ASAAS, "access_token": "x"}, "access_token"),
        ({**ASAAS, "base_url": "ftp://x"}, "base_url"),
    ):
        with pytest.raises(ValidationError) as raised:
            await configure(
                GatewayChoice(clinic_id=installation.clinic.id, provider="asaas", settings=bad)
            )
        assert raised.value.fields["field"] == field
    with pytest.raises(ValidationError):
        await configure(GatewayChoice(clinic_id=installation.clinic.id, provider="pagseguro"))
    back = await configure(GatewayChoice(clinic_id=installation.clinic.id, provider=None))
    assert back.payment_gateway is None
    with pytest.raises(Exception, match="secret"):
        await secrets.get(config.secrets["api_key"])


# -- issuing ----------------------------------------------------------------------------------


async def test_a_gateway_charge_is_created_there_and_its_code_delivered(
    container, patient, gateways
):
    issued = await container.create_charge()(_new(patient))
    charge = issued.charge
    assert (charge.provider, charge.provider_charge_id) == ("asaas", "mem_000001")
    assert charge.br_code == gateways.gateway_.charges["mem_000001"].pix_copy_paste
    assert charge.payment_url == "https://pay.example/mem_000001"
    [request] = gateways.gateway_.requests
    assert (request.charge_id, request.payer_document) == (charge.id, "12345678909")
    text, image = issued.messages
    assert charge.br_code in text.body and charge.payment_url in text.body
    assert image.media is not None
    [job] = await _jobs(container, patient.clinic_id, charge.id, SYNC_JOB)
    assert job.payload == {"charge_id": charge.id, "attempt": 0}
    names = [e.name for e in await committed_events(container)]
    assert "charge.created" in names and "charge.opened" in names


async def test_the_payer_data_a_gateway_needs_is_asked_before_anything_is_stored(
    container, patient, gateways
):
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(_new(patient, payer_document=None))
    assert raised.value.fields["field"] == "payer_document"
    async with container.uow_factory()(read_only=True) as uow:
        assert await uow.charges.list(patient.clinic_id) == []
    assert gateways.gateway_.requests == []


async def test_a_gateway_refusal_cancels_the_charge_with_its_reason(container, patient):
    container.payment_gateways().gateway_.refusal = "O CPF/CNPJ informado é inválido."
    with pytest.raises(ValidationError):
        await container.create_charge()(_new(patient))
    async with container.uow_factory()(read_only=True) as uow:
        [charge] = await uow.charges.list(patient.clinic_id)
    assert charge.status is ChargeStatus.CANCELLED
    assert "inválido" in charge.history[-1].reason


async def test_an_unreachable_gateway_leaves_the_charge_pending_and_the_job_creates_it_once(
    container, patient, gateways
):
    gateways.gateway_.fail_next()
    issued = await container.create_charge()(_new(patient))
    assert issued.charge.awaiting_gateway and issued.charge.br_code is None
    assert issued.messages == []
    sync = container.sync_charge()
    opened = await sync(ChargeSync(clinic_id=patient.clinic_id, charge_id=issued.charge.id))
    assert opened.provider_charge_id == "mem_000001" and opened.br_code is not None
    again = await sync(ChargeSync(clinic_id=patient.clinic_id, charge_id=issued.charge.id))
    assert again.provider_charge_id == "mem_000001"
    assert gateways.gateway_.created == 1
    async with container.uow_factory()(read_only=True) as uow:
        timeline = await uow.messages.list_for_chat(patient.clinic_id, patient.chat_id, limit=20)
    delivered = [m for m in timeline.items if m.extra.get("charge_id") == opened.id]
    assert len(delivered) == 2


async def test_a_process_that_died_after_the_gateway_created_the_charge_creates_no_second(
    container, patient, gateways
):
    gateways.gateway_.fail_next()
    issued = await container.create_charge()(_new(patient))
    # The gateway made the charge, and the process died before storing its answer.
    made = await gateways.gateway_.create_charge(gateways.gateway_.requests[-1])
    synced = await container.sync_charge()(
        ChargeSync(clinic_id=patient.clinic_id, charge_id=issued.charge.id)
    )
    assert synced.provider_charge_id == made.provider_charge_id
    assert gateways.gateway_.created == 1


# -- webhooks and polls -------------------------------------------------------------------------


async def test_webhook_replays_with_duplicates_and_bad_signatures_change_each_charge_once(
    container, patient, gateways
):
    gateway = gateways.gateway_
    create = container.create_charge()
    charges = [(await create(_new(patient))).charge for _ in range(3)]
    gateway.pay(charges[0].provider_charge_id)
    gateway.pay(charges[1].provider_charge_id, 5000)
    calls = []
    for n, charge in enumerate(charges):
        headers, body = gateway.webhook(charge.provider_charge_id, f"evt_{n}")
        calls += [(headers, body)] * 3
        calls.append(({"x-memory-token": "forged"}, body.replace(b"pending", b"paid")))
    random.Random(7).shuffle(calls)
    receive = container.receive_payment_webhook()
    refused = 0
    for headers, body in calls:
        call = PaymentWebhook(
            clinic_id=patient.clinic_id, provider="asaas", headers=headers, body=body
        )
        try:
            await receive(call)
        except InvalidCredentials:
            refused += 1
    assert refused == 3
    paid, partial, untouched = [(await _charge(container, patient, c.id)) for c in charges]
    assert paid[0].status is ChargeStatus.PAID
    assert [(t.kind, t.amount_cents, t.source) for t in paid[1]] == [
        (TransactionKind.PAYMENT, 15000, "webhook")
    ]
    assert (partial[0].status, partial[0].paid_cents, len(partial[1])) == (
        ChargeStatus.PENDING,
        5000,
        1,
    )
    assert (untouched[0].status, untouched[1]) == (ChargeStatus.PENDING, [])
    names = [e.name for e in await committed_events(container)]
    assert names.count("charge.paid") == 1


async def test_a_notice_without_a_status_asks_the_gateway(container, patient, gateways):
    charge = (await container.create_charge()(_new(patient))).charge
    gateways.gateway_.pay(charge.provider_charge_id)
    headers, body = gateways.gateway_.webhook(charge.provider_charge_id, "e1", with_status=False)
    outcome = await container.receive_payment_webhook()(
        PaymentWebhook(clinic_id=patient.clinic_id, provider="asaas", headers=headers, body=body)
    )
    assert (outcome.notices, outcome.applied) == (1, 1)
    assert (await _charge(container, patient, charge.id))[0].status is ChargeStatus.PAID


async def test_a_webhook_for_another_gateway_or_an_unknown_charge_changes_nothing(
    container, patient, gateways
):
    charge = (await container.create_charge()(_new(patient))).charge
    headers, body = gateways.gateway_.webhook(charge.provider_charge_id, "e1")
    receive = container.receive_payment_webhook()
    with pytest.raises(Exception, match="no such payment webhook"):
        await receive(
            PaymentWebhook(
                clinic_id=patient.clinic_id, provider="mercadopago", headers=headers, body=body
            )
        )
    stranger = body.replace(charge.provider_charge_id.encode(), b"mem_999999")
    headers, _ = gateways.gateway_.webhook(charge.provider_charge_id, "e2")
    import hashlib
    import hmac

    headers = {"x-memory-token": hmac.new(b"memory-token", stranger, hashlib.sha256).hexdigest()}
    outcome = await receive(
        PaymentWebhook(
            clinic_id=patient.clinic_id, provider="asaas", headers=headers, body=stranger
        )
    )
    assert (outcome.applied, outcome.ignored) == (0, 1)


async def test_the_poll_finds_a_missed_payment_and_stops(container, patient, gateways, clock):
    charge = (await container.create_charge()(_new(patient))).charge
    sync = container.sync_charge()
    polled = await sync(ChargeSync(clinic_id=patient.clinic_id, charge_id=charge.id, attempt=0))
    assert polled.status is ChargeStatus.PENDING
    attempts = sorted(
        j.payload["attempt"] for j in await _jobs(container, patient.clinic_id, charge.id, SYNC_JOB)
    )
    assert attempts == [0, 1]
    gateways.gateway_.pay(charge.provider_charge_id)
    polled = await sync(ChargeSync(clinic_id=patient.clinic_id, charge_id=charge.id, attempt=1))
    assert polled.status is ChargeStatus.PAID
    jobs = await _jobs(container, patient.clinic_id, charge.id, SYNC_JOB)
    assert sorted(j.payload["attempt"] for j in jobs) == [0, 1]
    assert all(j.status is JobStatus.SCHEDULED for j in jobs)
    _, moves = await _charge(container, patient, charge.id)
    assert [(t.source, t.amount_cents) for t in moves] == [("poll", 15000)]


async def test_a_refund_reported_by_the_gateway_is_logged(container, patient, gateways):
    charge = (await container.create_charge()(_new(patient))).charge
    gateways.gateway_.pay(charge.provider_charge_id)
    gateways.gateway_.set_status(charge.provider_charge_id, GatewayChargeStatus.REFUNDED)
    headers, body = gateways.gateway_.webhook(charge.provider_charge_id, "e-refund")
    await container.receive_payment_webhook()(
        PaymentWebhook(clinic_id=patient.clinic_id, provider="asaas", headers=headers, body=body)
    )
    stored, moves = await _charge(container, patient, charge.id)
    assert stored.status is ChargeStatus.REFUNDED
    assert [(t.kind, t.amount_cents) for t in moves] == [
        (TransactionKind.PAYMENT, 15000),
        (TransactionKind.REFUND, 15000),
    ]
    with pytest.raises(ValidationError) as raised:
        await container.refund_charge()(Refund(clinic_id=patient.clinic_id, charge_id=charge.id))
    assert raised.value.fields["field"] == "provider"


# -- cancelling and expiring --------------------------------------------------------------------


async def test_cancelling_cancels_at_the_gateway_unless_the_patient_paid(
    container, patient, gateways
):
    create, cancel = container.create_charge(), container.cancel_charge()
    first = (await create(_new(patient))).charge
    cancelled = await cancel(ChargeCancellation(clinic_id=patient.clinic_id, charge_id=first.id))
    assert cancelled.status is ChargeStatus.CANCELLED
    assert gateways.gateway_.charges[first.provider_charge_id].status.value == "cancelled"
    second = (await create(_new(patient))).charge
    gateways.gateway_.pay(second.provider_charge_id)
    with pytest.raises(InvalidStateTransition, match="paid"):
        await cancel(ChargeCancellation(clinic_id=patient.clinic_id, charge_id=second.id))
    assert (await _charge(container, patient, second.id))[0].status is ChargeStatus.PAID


async def test_a_charge_expires_at_its_expiry_unless_paid_at_the_gateway(
    container, patient, gateways, clock
):
    create, expire = container.create_charge(), container.expire_charge()
    expires_at = clock.now() + timedelta(hours=2)
    lapsing = (await create(_new(patient, expires_at=expires_at))).charge
    paying = (await create(_new(patient, expires_at=expires_at))).charge
    assert (await expire(patient.clinic_id, lapsing.id)).status is ChargeStatus.PENDING
    clock.advance(hours=3)
    gateways.gateway_.pay(paying.provider_charge_id)
    assert (await expire(patient.clinic_id, lapsing.id)).status is ChargeStatus.EXPIRED
    assert gateways.gateway_.charges[lapsing.provider_charge_id].status.value == "cancelled"
    assert (await expire(patient.clinic_id, paying.id)).status is ChargeStatus.PAID
    names = [e.name for e in await committed_events(container)]
    assert names.count("charge.expired") == 1


# -- after the payment --------------------------------------------------------------------------


async def test_a_paid_deposit_secures_the_appointment_moves_the_funnel_and_thanks_once(
    container, patient, gateways, clock
):
    booked = appointment(
        clock.now(),
        clock.now() + timedelta(days=2),
        appointment_id="appt-1",
        clinic_id=patient.clinic_id,
        customer_id=patient.customer_id,
    )
    async with container.uow_factory()() as uow:
        await uow.appointments.save(booked)
        await uow.commit()
    charge = (await container.create_charge()(_new(patient, appointment_id="appt-1"))).charge
    gateways.gateway_.pay(charge.provider_charge_id)
    await container.sync_charge()(ChargeSync(clinic_id=patient.clinic_id, charge_id=charge.id))
    confirm = container.confirm_charge_payment()
    assert await confirm(patient.clinic_id, charge.id) is True
    assert await confirm(patient.clinic_id, charge.id) is False
    async with container.uow_factory()(read_only=True) as uow:
        secured = await uow.appointments.get(patient.clinic_id, "appt-1")
        customer = await uow.customers.get(patient.clinic_id, patient.customer_id)
        timeline = await uow.messages.list_for_chat(patient.clinic_id, patient.chat_id, limit=20)
    assert secured.deposit_charge_id == charge.id and secured.deposit_paid_at is not None
    assert customer.stage is FunnelStage.PAID
    thanks = [m for m in timeline.items if m.extra.get("purpose") == "payment_confirmation"]
    assert len(thanks) == 1
    assert "recebemos" in thanks[0].body and "garantida" in thanks[0].body


async def test_staff_record_the_refund_of_an_embedded_charge(container, installation):
    from porfin_core.use_cases.mark_charge_paid import PaymentReceived
    from porfin_core.use_cases.update_clinic import ChangeClinic

    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.x",
            sender=[Identity.of_phone("+5511987654321")],
            body="oi",
        )
    )
    await container.update_clinic()(
        ChangeClinic(clinic_id=received.clinic_id, pix_key="123.456.789-09", city="São Paulo")
    )
    charge = (
        await container.create_charge()(
            NewCharge(
                clinic_id=received.clinic_id,
                customer_id=received.customer_id,
                amount_cents=9000,
                description="Consulta",
            )
        )
    ).charge
    refund = container.refund_charge()
    with pytest.raises(InvalidStateTransition):
        await refund(Refund(clinic_id=received.clinic_id, charge_id=charge.id))
    await container.mark_charge_paid()(
        PaymentReceived(clinic_id=received.clinic_id, charge_id=charge.id)
    )
    refunded = await refund(
        Refund(clinic_id=received.clinic_id, charge_id=charge.id, reference="D0001")
    )
    assert refunded.status is ChargeStatus.REFUNDED
    _, moves = await _charge(container, received, charge.id)
    assert [(t.kind, t.amount_cents, t.reference) for t in moves][-1] == (
        TransactionKind.REFUND,
        9000,
        "D0001",
    )
