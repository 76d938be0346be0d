"""Living documentation: a deposit paid by PIX through a payment gateway (the memory gateway
standing in for Asaas), reconciled by its webhook or, when the webhook is lost, by polling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when
from tests.support import FixedClock, SequentialIds

from features.conftest import Clinica
from porfin_adapters.container import Container, start, stop
from porfin_adapters.formats import BabelFormats
from porfin_adapters.memory.payments import (
    TOKEN_HEADER,
    MemoryPaymentGateway,
    MemoryPaymentGateways,
)
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.simulator.gateway import SimulatorGateway
from porfin_core.domain.audit import Actor
from porfin_core.domain.charges import ChargeStatus, TransactionKind
from porfin_core.domain.message import Direction, Message, MessageKind
from porfin_core.domain.phone import normalize_phone
from porfin_core.domain.pix import parse_br_code
from porfin_core.errors import InvalidCredentials
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.configure_payment_gateway import GatewayChoice
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.receive_payment_webhook import PaymentWebhook

scenarios("pagamento_por_gateway.feature")

ASAAS = {"api_key": "$aact_hmlg_chave_da_clinica", "webhook_token": "token-do-webhook-asaas"}
THANKS = "recebemos o seu pagamento"


@pytest.fixture
def gateways() -> MemoryPaymentGateways:
    """The gateway every clinic account reaches: the memory stand-in for Asaas."""
    return MemoryPaymentGateways()


@pytest.fixture
def clinica(runner, tmp_path, gateways) -> Iterator[Clinica]:
    """The clinic of features/conftest.py, with the memory gateway in place of the real
    clients. The gateway is swapped in before the container starts: the charge use cases
    (and the reactions attached to the dispatcher and the job worker) are singletons that
    keep the gateways they were built with. Jobs and sends then run only when a step says
    so, so each scenario is deterministic."""
    clock = FixedClock()
    container = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(SequentialIds()))
    simulator = SimulatorGateway(SequentialIds(""))
    container.simulator_gateway.override(providers.Object(simulator))
    container.payment_gateways.override(providers.Object(gateways))
    runner.run(start(container))
    runner.run(container.job_worker().stop())
    runner.run(container.outbound_sender().stop())
    yield Clinica(runner=runner, container=container, clock=clock, simulator=simulator)
    runner.run(stop(container))


@pytest.fixture
def pagamento() -> dict[str, Any]:
    """What the scenario booked, charged and was answered (Clinica is slotted)."""
    return {}


def _cents(valor: str) -> int:
    reais, centavos = valor.replace(".", "").split(",")
    return int(reais) * 100 + int(centavos)


def _asaas(gateways: MemoryPaymentGateways) -> MemoryPaymentGateway:
    return gateways.gateway_


def _settle(clinica: Clinica) -> None:
    """Deliver every committed event to its handlers, then send every message due."""
    container = clinica.container
    clinica.run(container.dispatcher().settled())
    clinica.run(container.outbound_sender().drain())
    clinica.run(container.dispatcher().settled())


def _details(clinica: Clinica, pagamento):
    return clinica.run(clinica.container.get_charge()(clinica.clinic_id, pagamento["charge"]))


def _provider_id(clinica: Clinica, pagamento) -> str:
    provider_charge_id = _details(clinica, pagamento).charge.provider_charge_id
    assert provider_charge_id is not None, "o Asaas ainda não criou a cobrança"
    return provider_charge_id


def _appointment(clinica: Clinica, pagamento):
    return clinica.run(
        clinica.container.get_appointment()(clinica.clinic_id, pagamento["appointment"])
    )


def _outbound(clinica: Clinica, nome: str) -> list[Message]:
    return [m for m in clinica.timeline(nome) if m.direction is Direction.OUTBOUND]


def _of_charge(clinica: Clinica, pagamento, nome: str) -> list[Message]:
    return [m for m in _outbound(clinica, nome) if m.extra.get("charge_id") == pagamento["charge"]]


def _phone_got(clinica: Clinica, nome: str, text: str) -> list[str]:
    """What the patient's phone received containing ``text``."""
    phone = normalize_phone(clinica.patients[nome])
    return [
        d.body or ""
        for d in clinica.simulator.sent
        if d.recipient == phone and text in (d.body or "")
    ]


def _webhook(clinica: Clinica, pagamento, headers: dict[str, str], body: bytes) -> None:
    pagamento["webhook"] = clinica.attempt(
        clinica.container.receive_payment_webhook()(
            PaymentWebhook(
                clinic_id=clinica.clinic_id, provider="asaas", headers=headers, body=body
            )
        )
    )
    _settle(clinica)


# -- Dado -------------------------------------------------------------------------------------


@given("que a clínica cobra pelo Asaas")
def clinica_cobra_pelo_asaas(clinica):
    clinica.run(
        clinica.container.configure_payment_gateway()(
            GatewayChoice(clinic_id=clinica.clinic_id, provider="asaas", settings=ASAAS)
        )
    )


@given(
    parsers.re(
        r"que (?P<nome>\w+) tem uma consulta com a (?P<prof>Dra\. \w+) em "
        r"(?P<dia>\d{2}/\d{2}/\d{4}) às (?P<hora>\d{2}:\d{2})"
    )
)
def consulta_marcada(clinica, pagamento, nome, prof, dia, hora):
    container = clinica.container
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    professional = clinica.run(
        container.create_professional()(
            NewProfessional(clinic_id=clinica.clinic_id, name=prof, hours=week)
        )
    )
    kind = clinica.run(
        container.create_appointment_type()(
            NewAppointmentType(clinic_id=clinica.clinic_id, name="Avaliação", duration_minutes=30)
        )
    )
    received = clinica.received[nome]
    booked = clinica.run(
        container.book_appointment()(
            NewAppointment(
                clinic_id=clinica.clinic_id,
                customer_id=received.customer_id,
                professional_id=professional.id,
                type_id=kind.id,
                start=clinica.local(dia, hora),
                chat_id=received.chat_id,
            )
        )
    )
    pagamento["appointment"] = booked.id
    _settle(clinica)


@given("que o Asaas está fora do ar")
def asaas_fora_do_ar(gateways):
    _asaas(gateways).fail_next(1000)


# -- Quando -----------------------------------------------------------------------------------


@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) cobra de (?P<nome>\w+) o sinal de R\$ (?P<valor>[\d.,]+) "
        r"da consulta, com o CPF (?P<cpf>[\d.-]+)"
    )
)
def cobra_o_sinal(clinica, pagamento, sec, nome, valor, cpf):
    issued = clinica.run(
        clinica.container.create_charge()(
            NewCharge(
                clinic_id=clinica.clinic_id,
                customer_id=clinica.received[nome].customer_id,
                amount_cents=_cents(valor),
                description="Sinal da consulta",
                appointment_id=pagamento["appointment"],
                payer_document=cpf,
                actor=Actor.user(f"user-{sec.lower()}"),
            )
        )
    )
    pagamento["charge"] = issued.charge.id
    _settle(clinica)


@when(parsers.re(r"(?P<nome>\w+) paga o PIX no Asaas(?P<perdido>, mas o webhook se perde)?"))
def paga_no_asaas(clinica, pagamento, gateways, nome, perdido):
    _asaas(gateways).pay(_provider_id(clinica, pagamento), at=clinica.clock.now())


@when("o Asaas avisa pelo webhook que a cobrança foi paga")
def webhook_de_pagamento(clinica, pagamento, gateways):
    headers, body = _asaas(gateways).webhook(_provider_id(clinica, pagamento), "evt_pago_1")
    _webhook(clinica, pagamento, headers, body)


@when(parsers.re(r"o Asaas entrega o mesmo webhook do pagamento (?P<n>\d+) vezes"))
def webhook_repetido(clinica, pagamento, gateways, n):
    headers, body = _asaas(gateways).webhook(_provider_id(clinica, pagamento), "evt_pago_1")
    for _ in range(int(n)):
        clinica.clock.advance(seconds=30)
        _webhook(clinica, pagamento, headers, body)
        assert clinica.error is None, clinica.error


@when("chega um webhook dizendo que a cobrança foi paga, com assinatura inválida")
def webhook_forjado(clinica, pagamento):
    charge = _details(clinica, pagamento).charge
    body = json.dumps(
        {
            "id": "evt_forjado",
            "charge": charge.provider_charge_id,
            "status": "paid",
            "paid_cents": charge.amount_cents,
        }
    ).encode()
    _webhook(clinica, pagamento, {TOKEN_HEADER: "assinatura-falsa"}, body)


@when("o Porfin consulta o Asaas como de costume")
def consulta_periodica(clinica):
    clinica.run(clinica.container.job_worker().drain())
    _settle(clinica)


@when("o Asaas volta ao ar")
def asaas_volta(gateways):
    _asaas(gateways).fail_next(0)


# -- Então ------------------------------------------------------------------------------------


@then(
    parsers.re(
        r"(?P<nome>\w+) recebe a cobrança de R\$ (?P<valor>[\d.,]+) com o PIX copia e cola do Asaas"
    )
)
def recebe_o_pix(clinica, pagamento, gateways, nome, valor):
    charge = _details(clinica, pagamento).charge
    at_gateway = _asaas(gateways).charges[_provider_id(clinica, pagamento)]
    assert charge.br_code is not None and charge.br_code == at_gateway.pix_copy_paste
    assert parse_br_code(charge.br_code).amount_cents == _cents(valor)
    [text] = [m for m in _of_charge(clinica, pagamento, nome) if m.kind is MessageKind.TEXT]
    assert f"R$ {valor}" in text.body and charge.br_code in text.body
    assert _phone_got(clinica, nome, charge.br_code) == [text.body]


@then(parsers.re(r"(?P<nome>\w+) recebe o QR code do PIX"))
def recebe_o_qr(clinica, pagamento, nome):
    [image] = [m for m in _of_charge(clinica, pagamento, nome) if m.kind is MessageKind.IMAGE]
    assert image.media is not None and image.media.mime_type == "image/png"
    png = clinica.run(
        clinica.container.media_store().read(clinica.clinic_id, image.media.stored_path)
    )
    assert png.startswith(b"\x89PNG")
    phone = normalize_phone(clinica.patients[nome])
    assert [d.mime_type for d in clinica.simulator.sent if d.recipient == phone and d.media_id] == [
        "image/png"
    ]


@then(parsers.re(r"(?P<nome>\w+) ainda não recebeu o PIX"))
def ainda_sem_pix(clinica, pagamento, nome):
    assert _of_charge(clinica, pagamento, nome) == []
    assert _phone_got(clinica, nome, "PIX") == []


@then(parsers.re(r"(?P<nome>\w+) recebeu o PIX uma só vez"))
def pix_uma_vez(clinica, pagamento, nome):
    kinds = sorted(m.kind.value for m in _of_charge(clinica, pagamento, nome))
    assert kinds == sorted([MessageKind.TEXT.value, MessageKind.IMAGE.value])
    code = _details(clinica, pagamento).charge.br_code
    assert code is not None and len(_phone_got(clinica, nome, code)) == 1


@then("a cobrança está paga")
def cobranca_paga(clinica, pagamento):
    charge = _details(clinica, pagamento).charge
    assert (charge.status, charge.paid_cents) == (ChargeStatus.PAID, charge.amount_cents)
    assert charge.paid_by == "asaas"


@then("a cobrança está pendente")
def cobranca_pendente(clinica, pagamento):
    charge = _details(clinica, pagamento).charge
    assert (charge.status, charge.paid_cents) == (ChargeStatus.PENDING, 0)
    assert charge.provider_charge_id is not None


@then("a cobrança está pendente, à espera do Asaas")
def cobranca_a_espera(clinica, pagamento, gateways):
    charge = _details(clinica, pagamento).charge
    assert charge.status is ChargeStatus.PENDING and charge.awaiting_gateway
    assert charge.br_code is None
    assert _asaas(gateways).charges == {}


@then(parsers.re(r"o Asaas tem (?P<n>\d+) cobranças?"))
def cobrancas_no_asaas(clinica, pagamento, gateways, n):
    asaas = _asaas(gateways)
    assert len(asaas.charges) == asaas.created == int(n)
    assert list(asaas.by_reference) == [pagamento["charge"]]


@then(
    parsers.re(
        r"o registro de transações tem (?P<n>\d+) pagamentos? de R\$ (?P<valor>[\d.,]+) "
        r'com origem "(?P<origem>\w+)"'
    )
)
def transacoes(clinica, pagamento, n, valor, origem):
    transactions = _details(clinica, pagamento).transactions
    assert len(transactions) == int(n)
    assert all(t.kind is TransactionKind.PAYMENT for t in transactions)
    assert {t.source for t in transactions} == {origem}
    total = sum(t.amount_cents for t in transactions)
    assert BabelFormats().money(total) == f"R$ {valor}"


@then("o registro de transações está vazio")
def sem_transacoes(clinica, pagamento):
    assert _details(clinica, pagamento).transactions == []


@then(parsers.re(r"o sinal da consulta de (?P<nome>\w+) está registrado como pago"))
def sinal_registrado(clinica, pagamento, nome):
    appointment = _appointment(clinica, pagamento)
    assert appointment.deposit_charge_id == pagamento["charge"]
    assert appointment.deposit_paid_at is not None


@then(parsers.re(r"o sinal da consulta de (?P<nome>\w+) não está registrado"))
def sinal_nao_registrado(clinica, pagamento, nome):
    appointment = _appointment(clinica, pagamento)
    assert (appointment.deposit_charge_id, appointment.deposit_paid_at) == (None, None)


@then(parsers.re(r'(?P<nome>\w+) está na etapa "(?P<etapa>\w+)" do funil'))
def etapa_do_funil(clinica, nome, etapa):
    assert clinica.customer(nome).stage.value == etapa


@then(parsers.re(r'(?P<nome>\w+) recebe uma só vez "(?P<texto>[^"]+)"'))
def recebe_uma_vez(clinica, pagamento, nome, texto):
    said = [m for m in _outbound(clinica, nome) if texto in m.body]
    assert len(said) == 1, [m.body for m in _outbound(clinica, nome)]
    assert said[0].extra.get("purpose") == "payment_confirmation"
    assert _phone_got(clinica, nome, texto) == [said[0].body]
    pagamento["thanks"] = said[0].body


@then(parsers.re(r'(?P<nome>\w+) não recebe "(?P<texto>[^"]+)"'))
def nao_recebe(clinica, nome, texto):
    assert not [m for m in _outbound(clinica, nome) if texto in m.body]
    assert _phone_got(clinica, nome, texto) == []


@then(parsers.re(r'a mensagem termina com "(?P<texto>[^"]+)"'))
def mensagem_termina(pagamento, texto):
    assert pagamento["thanks"].endswith(texto), pagamento["thanks"]


@then("o webhook é recusado por credenciais inválidas")
def webhook_recusado(clinica, pagamento):
    assert isinstance(clinica.error, InvalidCredentials), clinica.error
    assert pagamento["webhook"] is None
