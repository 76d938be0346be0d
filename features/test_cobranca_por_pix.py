"""Living documentation: a PIX charge in the chat, confirmed by the front desk."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from porfin_adapters.formats import BabelFormats
from porfin_core.domain.audit import Actor
from porfin_core.domain.charges import ChargeStatus
from porfin_core.domain.message import Direction, MessageKind
from porfin_core.domain.pix import parse_br_code
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.mark_charge_paid import PaymentReceived
from porfin_core.use_cases.update_clinic import ChangeClinic

scenarios("cobranca_por_pix.feature")


@pytest.fixture
def cobranca() -> dict[str, Any]:
    """The charge the scenario issued."""
    return {}


def _cents(valor: str) -> int:
    reais, centavos = valor.replace(".", "").split(",")
    return int(reais) * 100 + int(centavos)


def _staff(nome: str) -> Actor:
    return Actor.user(f"user-{nome.lower()}")


def _charge(clinica, cobranca):
    return clinica.run(clinica.container.get_charge()(clinica.clinic_id, cobranca["id"]))


@given(parsers.re(r"que a clínica recebe PIX na chave (?P<chave>\S+) em (?P<cidade>.+)"))
def chave_pix(clinica, chave, cidade):
    clinica.run(
        clinica.container.update_clinic()(
            ChangeClinic(clinic_id=clinica.clinic_id, pix_key=chave, pix_merchant_city=cidade)
        )
    )


@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) cobra de (?P<nome>\w+) R\$ (?P<valor>[\d.,]+) "
        r'de "(?P<descricao>[^"]+)"'
    )
)
def cobra(clinica, cobranca, sec, nome, valor, descricao):
    issued = clinica.attempt(
        clinica.container.create_charge()(
            NewCharge(
                clinic_id=clinica.clinic_id,
                customer_id=clinica.received[nome].customer_id,
                amount_cents=_cents(valor),
                description=descricao,
                actor=_staff(sec),
            )
        )
    )
    if issued is not None:
        cobranca["id"] = issued.charge.id


@when(parsers.re(r"a secretária (?P<sec>\w+) confirma um pagamento de R\$ (?P<valor>[\d.,]+)"))
def confirma_parcial(clinica, cobranca, sec, valor):
    clinica.run(
        clinica.container.mark_charge_paid()(
            PaymentReceived(
                clinic_id=clinica.clinic_id,
                charge_id=cobranca["id"],
                amount_cents=_cents(valor),
                actor=_staff(sec),
            )
        )
    )


@when(parsers.re(r"a secretária (?P<sec>\w+) confirma o restante"))
def confirma_restante(clinica, cobranca, sec):
    clinica.run(
        clinica.container.mark_charge_paid()(
            PaymentReceived(
                clinic_id=clinica.clinic_id, charge_id=cobranca["id"], actor=_staff(sec)
            )
        )
    )


@when(parsers.re(r"são (?P<hora>\d{2}:\d{2}) de (?P<dia>\d{2}/\d{2}/\d{4})"))
def relogio_avanca(clinica, hora, dia):
    clinica.clock.current = clinica.local(dia, hora)


@then("a cobrança é recusada por falta de chave PIX")
def recusada(clinica, cobranca):
    assert "id" not in cobranca
    assert clinica.error is not None and clinica.error.fields["field"] == "pix_key"


def _sent(clinica, nome):
    return [m for m in clinica.timeline(nome) if m.direction is Direction.OUTBOUND]


@then(
    parsers.re(r"(?P<nome>\w+) recebe a cobrança de R\$ (?P<valor>[\d.,]+) com o PIX copia e cola")
)
def recebe_texto(clinica, cobranca, nome, valor):
    charge = _charge(clinica, cobranca).charge
    [text] = [m for m in _sent(clinica, nome) if m.kind is MessageKind.TEXT]
    assert f"R$ {valor}" in text.body and charge.br_code in text.body
    assert parse_br_code(charge.br_code).amount_cents == _cents(valor)


@then(parsers.re(r"(?P<nome>\w+) recebe o QR code do PIX"))
def recebe_qr(clinica, nome):
    [image] = [m for m in _sent(clinica, nome) if m.kind is MessageKind.IMAGE]
    assert image.media is not None and image.media.mime_type == "image/png"
    png = clinica.run(
        clinica.container.media_store().read(clinica.clinic_id, image.media.stored_path)
    )
    assert png.startswith(b"\x89PNG")


@then(parsers.re(r"a cobrança está pendente com R\$ (?P<valor>[\d.,]+) pagos"))
def pendente(clinica, cobranca, valor):
    charge = _charge(clinica, cobranca).charge
    assert (charge.status, charge.paid_cents) == (ChargeStatus.PENDING, _cents(valor))


@then(parsers.re(r"a cobrança está paga, confirmada por (?P<sec>\w+) às (?P<hora>\d{2}:\d{2})"))
def paga(clinica, cobranca, sec, hora):
    charge = _charge(clinica, cobranca).charge
    assert charge.status is ChargeStatus.PAID
    assert charge.paid_by == _staff(sec).id
    assert charge.paid_at is not None
    assert charge.paid_at.astimezone(clinica.zone).strftime("%H:%M") == hora


@then(
    parsers.re(
        r"o registro de transações tem (?P<n>\d+) pagamentos somando R\$ (?P<valor>[\d.,]+)"
    ),
    converters={"n": int},
)
def transacoes(clinica, cobranca, n, valor):
    transactions = _charge(clinica, cobranca).transactions
    assert len(transactions) == n
    total = sum(t.amount_cents for t in transactions)
    assert BabelFormats().money(total) == f"R$ {valor}"
