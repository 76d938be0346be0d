"""Living documentation: the patient's record, kept by the front desk."""

from __future__ import annotations

from pytest_bdd import given, parsers, scenarios, then, when

from porfin_core.domain.audit import Actor, AuditRecord
from porfin_core.domain.customer import ConsentPurpose, Customer, FunnelStage
from porfin_core.errors import NotFound
from porfin_core.ports.storage import CustomerQuery
from porfin_core.use_cases.merge_customers import DuplicateCustomer
from porfin_core.use_cases.update_customer import ChangeCustomer

scenarios("cadastro_do_paciente.feature")

STAGES = {
    "novo contato": FunnelStage.NEW_LEAD,
    "contatado": FunnelStage.CONTACTED,
    "qualificado": FunnelStage.QUALIFIED,
    "agendado": FunnelStage.SCHEDULED,
    "atendido": FunnelStage.ATTENDED,
    "pagou": FunnelStage.PAID,
    "retorno": FunnelStage.RETURNING,
    "perdido": FunnelStage.LOST,
}
PURPOSES = {
    "ser atendida": ConsentPurpose.SERVICE,
    "receber lembretes": ConsentPurpose.REMINDERS,
    "receber propaganda": ConsentPurpose.MARKETING,
}
PURPOSE_WORDS = "|".join(PURPOSES)


def _edit(clinica, sec: str, nome: str, **changes) -> None:
    received = clinica.received[nome]
    clinica.attempt(
        clinica.container.update_customer()(
            ChangeCustomer(
                clinic_id=received.clinic_id,
                customer_id=received.customer_id,
                actor=Actor.user(clinica.staff_id(sec)),
                **changes,
            )
        )
    )


def _cadastro(clinica, nome: str) -> Customer:
    return clinica.customer(nome)


def _last_record(clinica) -> AuditRecord:
    async def read() -> list[AuditRecord]:
        async with clinica.container.uow_factory()(read_only=True) as uow:
            return [r async for r in uow.audit.iterate(clinica.clinic_id)]

    return clinica.run(read())[-1]


# -- Dado ----------------------------------------------------------------------------------------


@given(parsers.re(r"que o gerente (?P<nome>\w+) trabalha na clínica"))
def gerente(clinica, nome):
    clinica.staff[nome] = f"user-{nome.lower()}"


# -- Quando --------------------------------------------------------------------------------------


@when(parsers.re(r'a secretária (?P<sec>\w+) muda o nome de (?P<nome>\w+) para "(?P<novo>[^"]*)"'))
def muda_nome(clinica, sec, nome, novo):
    _edit(clinica, sec, nome, name=novo)


@when(
    parsers.re(
        r'a secretária (?P<sec>\w+) marca (?P<nome>\w+) com as etiquetas "(?P<etiquetas>[^"]*)"'
    )
)
def marca_etiquetas(clinica, sec, nome, etiquetas):
    _edit(clinica, sec, nome, tags=etiquetas.split(","))


@when(parsers.re(r'a secretária (?P<sec>\w+) move (?P<nome>\w+) para a etapa "(?P<etapa>[^"]*)"'))
def move_etapa(clinica, sec, nome, etapa):
    _edit(clinica, sec, nome, stage=STAGES[etapa].value)


@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) registra que (?P<nome>\w+) (?P<nao>não )?aceita "
        r"(?P<finalidade>" + PURPOSE_WORDS + ")"
    )
)
def registra_autorizacao(clinica, sec, nome, nao, finalidade):
    _edit(clinica, sec, nome, consents={PURPOSES[finalidade].value: not nao})


@when(parsers.re(r"a secretária (?P<sec>\w+) abre o cadastro de (?P<nome>\w+)"))
def abre_cadastro(clinica, sec, nome):
    received = clinica.received[nome]
    clinica.run(
        clinica.container.get_customer()(
            received.clinic_id, received.customer_id, actor=Actor.user(clinica.staff_id(sec))
        )
    )


@when(parsers.re(r"o gerente (?P<ger>\w+) junta o cadastro de (?P<dup>\w+) ao de (?P<nome>\w+)"))
def junta_cadastros(clinica, ger, dup, nome):
    survivor, duplicate = clinica.received[nome], clinica.received[dup]
    clinica.attempt(
        clinica.container.merge_customers()(
            DuplicateCustomer(
                clinic_id=survivor.clinic_id,
                customer_id=survivor.customer_id,
                duplicate_id=duplicate.customer_id,
                actor=Actor.user(clinica.staff_id(ger)),
            )
        )
    )
    assert clinica.error is None, clinica.error


# -- Então ---------------------------------------------------------------------------------------


@then(parsers.re(r'o cadastro de (?P<nome>\w+) tem o nome "(?P<esperado>[^"]*)"'))
def tem_nome(clinica, nome, esperado):
    assert _cadastro(clinica, nome).name == esperado


@then(parsers.re(r'o cadastro de (?P<nome>\w+) tem as etiquetas "(?P<etiquetas>[^"]*)"'))
def tem_etiquetas(clinica, nome, etiquetas):
    assert _cadastro(clinica, nome).tags == [t.strip() for t in etiquetas.split(",")]


@then(parsers.re(r"o cadastro de (?P<nome>\w+) não tem etiquetas"))
def sem_etiquetas(clinica, nome):
    assert _cadastro(clinica, nome).tags == []


@then(parsers.re(r'(?P<nome>\w+) está na etapa "(?P<etapa>[^"]*)"'))
def esta_na_etapa(clinica, nome, etapa):
    assert _cadastro(clinica, nome).stage is STAGES[etapa]


@then(parsers.re(r"(?P<nome>\w+) autoriza ser atendida, porque escreveu para a clínica"))
def autoriza_atendimento(clinica, nome):
    consent = _cadastro(clinica, nome).consents[ConsentPurpose.SERVICE]
    assert (consent.granted, consent.source, consent.recorded_by) == (
        True,
        "inbound_message",
        None,
    )


@then(
    parsers.re(
        r"(?P<nome>\w+) (?P<nao>não )?aceita (?P<finalidade>" + PURPOSE_WORDS + r"), "
        r"segundo (?P<sec>\w+), desde (?P<dia>\d{2}/\d{2}/\d{4}) às (?P<hora>\d{2}:\d{2})"
    )
)
def autorizacao(clinica, nome, nao, finalidade, sec, dia, hora):
    consent = _cadastro(clinica, nome).consents[PURPOSES[finalidade]]
    assert consent.granted is (not nao)
    assert (consent.source, consent.recorded_by) == ("staff", clinica.staff_id(sec))
    assert consent.at == clinica.local(dia, hora)


@then(parsers.re(r'a conversa de (?P<nome>\w+) mostra o nome "(?P<esperado>[^"]*)"'))
def conversa_mostra_nome(clinica, nome, esperado):
    assert clinica.chat(nome).customer_name == esperado


@then(
    parsers.re(
        r"o último registro de auditoria diz que (?P<sec>\w+) (?P<acao>leu|alterou) "
        r"o cadastro de (?P<nome>\w+)"
    )
)
def registro_do_cadastro(clinica, sec, acao, nome):
    record = _last_record(clinica)
    action = "customer.read" if acao == "leu" else "customer.update"
    assert (record.action, record.resource_type, record.resource_id, record.actor_id) == (
        action,
        "customer",
        clinica.received[nome].customer_id,
        clinica.staff_id(sec),
    )


@then(
    parsers.re(
        r'a busca por "(?P<termo>[^"]*)" (?P<resultado>encontra (?P<nome>\w+)|não encontra ninguém)'
    )
)
def busca(clinica, termo, resultado, nome):
    page = clinica.run(
        clinica.container.list_customers()(CustomerQuery(clinic_id=clinica.clinic_id, search=termo))
    )
    expected = [] if nome is None else [clinica.received[nome].customer_id]
    assert [c.id for c in page.items] == expected, resultado


@then(parsers.re(r"quem abre o cadastro de (?P<dup>\w+) é levado ao de (?P<nome>\w+)"))
def levado_ao_cadastro(clinica, dup, nome):
    duplicate = clinica.received[dup]
    clinica.attempt(clinica.container.get_customer()(duplicate.clinic_id, duplicate.customer_id))
    assert isinstance(clinica.error, NotFound)
    assert clinica.error.fields["merged_into"] == clinica.received[nome].customer_id


@then(
    parsers.re(
        r"o último registro de auditoria diz que (?P<ger>\w+) juntou o cadastro de "
        r"(?P<dup>\w+) ao de (?P<nome>\w+)"
    )
)
def registro_da_uniao(clinica, ger, dup, nome):
    record = _last_record(clinica)
    assert (record.action, record.resource_id, record.actor_id) == (
        "customer.merge",
        clinica.received[nome].customer_id,
        clinica.staff_id(ger),
    )
    assert record.details["duplicate_id"] == clinica.received[dup].customer_id
