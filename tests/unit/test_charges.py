"""Charges: the entity's lifecycle, and issuing, paying and cancelling through the use cases
(memory container)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from porfin_adapters.pix_qr import SegnoQrRenderer
from porfin_core.domain.audit import Actor
from porfin_core.domain.charges import Charge, ChargeStatus, TransactionKind, txid_for
from porfin_core.domain.clinic import Clinic, Role
from porfin_core.domain.customer import Identity
from porfin_core.domain.events import ChargeCancelled, ChargeCreated, ChargePaid
from porfin_core.domain.message import MessageKind
from porfin_core.domain.pix import parse_br_code
from porfin_core.errors import InvalidStateTransition, NotFound, ValidationError
from porfin_core.permissions import Permission, allows
from porfin_core.ports.audit import AuditQuery
from porfin_core.use_cases.cancel_charge import ChargeCancellation
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.list_charges import ChargeQuery
from porfin_core.use_cases.mark_charge_paid import PaymentReceived
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.update_clinic import ChangeClinic
from tests.unit.conftest import committed_events

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
CPF_KEY = "123.456.789-09"


def _charge(amount: int = 15000) -> Charge:
    return Charge.issue(
        id="ch-1",
        clinic_id="c1",
        customer_id="cust1",
        amount_cents=amount,
        description="  Sinal   da consulta ",
        now=NOW,
        by="u1",
    )


# -- the entity -------------------------------------------------------------------------------


def test_a_new_charge_is_pending_and_records_its_creation():
    charge = _charge()
    assert charge.status is ChargeStatus.PENDING
    assert charge.description == "Sinal da consulta"
    assert [c.action for c in charge.history] == ["created"]
    [event] = charge.pull_events()
    assert isinstance(event, ChargeCreated)
    assert (event.charge_id, event.amount_cents, event.by) == ("ch-1", 15000, "u1")


@pytest.mark.parametrize("amount", [0, -1, 10**12, 1.5, True])
def test_amounts_are_positive_whole_centavos(amount):
    with pytest.raises(ValidationError) as raised:
        _charge(amount)
    assert raised.value.fields["field"] == "amount_cents"


def test_partial_payments_add_up_until_the_charge_is_paid():
    charge = _charge(10000)
    charge.pull_events()
    assert charge.mark_paid(4000, "u1", NOW) is False
    assert (charge.status, charge.paid_cents, charge.due_cents) == (
        ChargeStatus.PENDING,
        4000,
        6000,
    )
    assert charge.pull_events() == []
    later = NOW + timedelta(hours=1)
    assert charge.mark_paid(None, "u2", later) is True
    assert (charge.status, charge.paid_cents, charge.paid_at, charge.paid_by) == (
        ChargeStatus.PAID,
        10000,
        later,
        "u2",
    )
    [event] = charge.pull_events()
    assert isinstance(event, ChargePaid) and event.paid_cents == 10000
    assert [(c.action, c.by, c.amount_cents) for c in charge.history[1:]] == [
        ("payment", "u1", 4000),
        ("payment", "u2", 6000),
        ("paid", "u2", None),
    ]
    with pytest.raises(InvalidStateTransition):
        charge.mark_paid(1, "u1", later)
    with pytest.raises(InvalidStateTransition):
        charge.cancel(later)
    charge.refund(later, by="u1")
    assert charge.status is ChargeStatus.REFUNDED


def test_cancel_and_expire_are_final():
    charge = _charge()
    charge.cancel(NOW, by="u1", reason="Paciente desistiu")
    assert charge.status is ChargeStatus.CANCELLED
    assert isinstance(charge.pull_events()[-1], ChargeCancelled)
    with pytest.raises(InvalidStateTransition):
        charge.mark_paid(None, "u1", NOW)
    expiring = Charge.issue(
        id="ch-2",
        clinic_id="c1",
        customer_id="cust1",
        amount_cents=100,
        description="Sinal",
        now=NOW,
        expires_at=NOW + timedelta(days=1),
    )
    with pytest.raises(InvalidStateTransition):
        expiring.expire(NOW)
    assert expiring.is_overdue(NOW + timedelta(days=1))
    expiring.expire(NOW + timedelta(days=1))
    assert expiring.status is ChargeStatus.EXPIRED
    with pytest.raises(InvalidStateTransition):
        expiring.refund(NOW)


def test_txids_are_the_charge_id_s_alphanumerics_within_25():
    assert txid_for("01J9-ABCD_efgh") == "01J9ABCDefgh"
    assert len(txid_for("x" * 40)) == 25
    assert txid_for("---") == "***"


def test_the_clinic_s_pix_settings_are_validated_and_fall_back_on_its_name_and_city():
    clinic = Clinic(id="c1", name="Clínica Sorriso São José do Rio Preto", city="São Paulo")
    assert clinic.pix_receiver() is None
    clinic.set_pix(key=CPF_KEY, merchant_name=None, merchant_city=None)
    assert clinic.pix_key == "12345678909"
    assert clinic.pix_receiver() == ("12345678909", "Clinica Sorriso Sao Jose", "Sao Paulo")
    with pytest.raises(ValidationError) as raised:
        clinic.set_pix(key="123.456.789-00", merchant_name=None, merchant_city=None)
    assert raised.value.fields["field"] == "pix_key"
    with pytest.raises(ValidationError):
        clinic.set_pix(key=CPF_KEY, merchant_name="☺", merchant_city=None)


def test_staff_of_every_role_handle_charges():
    for role in Role:
        assert allows(role, Permission.CHARGES_VIEW)
        assert allows(role, Permission.CHARGES_MANAGE)


# -- the use cases ----------------------------------------------------------------------------


@pytest.fixture
async def patient(container, installation):
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.hi",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Souza",
            body="Oi, quero pagar o sinal",
        )
    )
    return received


async def _with_pix(container, clinic_id):
    await container.update_clinic()(
        ChangeClinic(
            clinic_id=clinic_id,
            pix_key=CPF_KEY,
            pix_merchant_name="Clínica Sorriso",
            pix_merchant_city="São Paulo",
        )
    )


def _new(clinic_id, customer_id, **more):
    return NewCharge(
        clinic_id=clinic_id,
        customer_id=customer_id,
        amount_cents=15000,
        description="Sinal da consulta",
        actor=Actor.user("u1"),
        **more,
    )


async def test_a_clinic_without_a_pix_key_cannot_issue_charges(container, installation, patient):
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(_new(installation.clinic.id, patient.customer_id))
    assert raised.value.fields["field"] == "pix_key"
    assert "PIX key" in raised.value.message


async def test_issuing_a_charge_delivers_the_code_and_its_qr_in_the_chat(
    container, installation, patient
):
    clinic_id = installation.clinic.id
    await _with_pix(container, clinic_id)
    await committed_events(container)
    issued = await container.create_charge()(
        _new(clinic_id, patient.customer_id, due_date=date(2026, 11, 30))
    )
    charge = issued.charge
    assert charge.status is ChargeStatus.PENDING
    assert charge.chat_id == patient.chat_id
    code = parse_br_code(charge.br_code)
    assert code.amount_cents == 15000
    assert code.txid == txid_for(charge.id) == charge.txid
    assert code.merchant_name == "Clinica Sorriso"
    text, image = issued.messages
    assert text.kind is MessageKind.TEXT
    assert "R$\xa0150,00" in text.body or "R$ 150,00" in text.body
    assert charge.br_code in text.body and "Maria" in text.body and "30/11/2026" in text.body
    assert image.kind is MessageKind.IMAGE and image.media.stored_path is not None
    stored = await container.media_store().read(clinic_id, image.media.stored_path)
    assert stored == SegnoQrRenderer().png(charge.br_code)
    async with container.uow_factory()(read_only=True) as uow:
        assert (await uow.charges.get(clinic_id, charge.id)).br_code == charge.br_code
        assert await uow.deliveries.get(clinic_id, text.id) is not None
        assert await uow.deliveries.get(clinic_id, image.id) is not None
        page = await uow.audit.list(AuditQuery(clinic_id=clinic_id, action="charge.create"))
    [record] = page.items
    assert record.details["delivered"] == "yes"
    names = [e.name for e in await committed_events(container)]
    assert "charge.created" in names


async def test_a_charge_may_be_issued_without_delivering_it(container, installation, patient):
    await _with_pix(container, installation.clinic.id)
    issued = await container.create_charge()(
        _new(installation.clinic.id, patient.customer_id, deliver=False)
    )
    assert issued.messages == [] and issued.charge.chat_id is None


async def test_charges_are_checked(container, installation, patient, clock):
    clinic_id = installation.clinic.id
    await _with_pix(container, clinic_id)
    with pytest.raises(NotFound):
        await container.create_charge()(_new(clinic_id, "nobody"))
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(
            _new(clinic_id, patient.customer_id, expires_at=clock.now() - timedelta(hours=1))
        )
    assert raised.value.fields["field"] == "expires_at"
    with pytest.raises(ValidationError):
        await container.create_charge()(
            NewCharge(
                clinic_id=clinic_id,
                customer_id=patient.customer_id,
                amount_cents=0,
                description="Sinal",
            )
        )


async def test_staff_confirm_partial_and_full_payments_into_the_log(
    container, installation, patient, clock
):
    clinic_id = installation.clinic.id
    await _with_pix(container, clinic_id)
    charge = (await container.create_charge()(_new(clinic_id, patient.customer_id))).charge
    await committed_events(container)
    part = await container.mark_charge_paid()(
        PaymentReceived(
            clinic_id=clinic_id,
            charge_id=charge.id,
            amount_cents=5000,
            reference="E1234",
            actor=Actor.user("u1"),
        )
    )
    assert (part.charge.status, part.charge.paid_cents) == (ChargeStatus.PENDING, 5000)
    assert (part.transaction.kind, part.transaction.amount_cents) == (TransactionKind.PAYMENT, 5000)
    assert await committed_events(container) == []
    rest = await container.mark_charge_paid()(
        PaymentReceived(clinic_id=clinic_id, charge_id=charge.id, actor=Actor.user("u2"))
    )
    assert rest.transaction.amount_cents == 10000
    assert (rest.charge.status, rest.charge.paid_by, rest.charge.paid_at) == (
        ChargeStatus.PAID,
        "u2",
        clock.now(),
    )
    assert [e.name for e in await committed_events(container)] == ["charge.paid"]
    details = await container.get_charge()(clinic_id, charge.id)
    assert [(t.amount_cents, t.by, t.reference) for t in details.transactions] == [
        (5000, "u1", "E1234"),
        (10000, "u2", None),
    ]
    with pytest.raises(InvalidStateTransition):
        await container.mark_charge_paid()(
            PaymentReceived(clinic_id=clinic_id, charge_id=charge.id)
        )
    with pytest.raises(ValidationError):
        await container.mark_charge_paid()(
            PaymentReceived(
                clinic_id=clinic_id, charge_id=charge.id, paid_at=clock.now() + timedelta(days=1)
            )
        )
    async with container.uow_factory()(read_only=True) as uow:
        page = await uow.audit.list(AuditQuery(clinic_id=clinic_id, action="charge.mark_paid"))
    assert len(page.items) == 2


async def test_cancel_list_and_get(container, installation, patient):
    clinic_id = installation.clinic.id
    await _with_pix(container, clinic_id)
    first = (await container.create_charge()(_new(clinic_id, patient.customer_id))).charge
    second = (await container.create_charge()(_new(clinic_id, patient.customer_id))).charge
    cancelled = await container.cancel_charge()(
        ChargeCancellation(clinic_id=clinic_id, charge_id=first.id, reason="Desistiu")
    )
    assert cancelled.status is ChargeStatus.CANCELLED
    listed = await container.list_charges()(ChargeQuery(clinic_id=clinic_id))
    assert {c.id for c in listed} == {first.id, second.id}
    pending = await container.list_charges()(ChargeQuery(clinic_id=clinic_id, status="pending"))
    assert [c.id for c in pending] == [second.id]
    assert await container.list_charges()(ChargeQuery(clinic_id=clinic_id, customer_id="x")) == []
    with pytest.raises(ValidationError):
        await container.list_charges()(ChargeQuery(clinic_id=clinic_id, status="nope"))
    with pytest.raises(NotFound):
        await container.get_charge()("other-clinic", first.id)
    with pytest.raises(InvalidStateTransition):
        await container.cancel_charge()(ChargeCancellation(clinic_id=clinic_id, charge_id=first.id))


async def test_times_out_of_range_are_refused(container, installation, patient):
    clinic_id = installation.clinic.id
    await _with_pix(container, clinic_id)
    too_early = datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(
            _new(
                clinic_id,
                patient.customer_id,
                expires_at=datetime(9999, 12, 31, 23, 0, tzinfo=timezone(-timedelta(hours=3))),
            )
        )
    assert raised.value.fields["field"] == "expires_at"
    charge = (await container.create_charge()(_new(clinic_id, patient.customer_id))).charge
    with pytest.raises(ValidationError) as raised:
        await container.mark_charge_paid()(
            PaymentReceived(clinic_id=clinic_id, charge_id=charge.id, paid_at=too_early)
        )
    assert raised.value.fields["field"] == "paid_at"
    with pytest.raises(ValidationError) as raised:
        await container.create_charge()(
            NewCharge(
                clinic_id=clinic_id,
                customer_id=patient.customer_id,
                amount_cents=100,
                description="Sinal\x07",
            )
        )
    assert raised.value.fields["field"] == "description"
