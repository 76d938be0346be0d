"""Living documentation: the audit log, what it records and how tampering is found."""

from __future__ import annotations

from pytest_bdd import given, parsers, scenarios, then, when

from porfin_core.domain.audit import Actor, ActorKind, AuditRecord, BreakKind, ChainReport

scenarios("registro_de_auditoria.feature")

KINDS = {"alterado": BreakKind.MODIFIED, "ausente": BreakKind.MISSING}


def _records(clinica) -> list[AuditRecord]:
    async def read() -> list[AuditRecord]:
        async with clinica.container.uow_factory()(read_only=True) as uow:
            return [r async for r in uow.audit.iterate(clinica.clinic_id)]

    return clinica.run(read())


def _verify(clinica) -> ChainReport:
    [report] = clinica.run(clinica.container.verify_audit_log()(clinica.clinic_id))
    return report


def _table(clinica) -> dict:
    return clinica.container.storage().uow_factory.store.tables["audit"]


def _key(clinica, seq: int) -> str:
    return f"{clinica.clinic_id}|{seq:012d}"


@given(
    parsers.re(
        r"que a secretária (?P<sec>\w+) abriu a conversa de (?P<nome>\w+)"
        r" do endereço (?P<ip>[\d.]+)"
    )
)
@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) abre a conversa de (?P<nome>\w+) do endereço (?P<ip>[\d.]+)"
    )
)
def abre_conversa(clinica, sec, nome, ip):
    received = clinica.received[nome]
    actor = Actor(id=clinica.staff_id(sec), kind=ActorKind.USER, source=ip)
    clinica.run(clinica.container.get_chat()(received.clinic_id, received.chat_id, actor=actor))


@given(parsers.re(r"que a secretária (?P<sec>\w+) desliga a IA da conversa de (?P<nome>\w+)"))
def desligou_ia(clinica, sec, nome):
    clinica.update(nome, mode="human", actor_id=clinica.staff_id(sec))


@when(parsers.re(r"alguém troca o endereço do último registro de auditoria para (?P<ip>[\d.]+)"))
def troca_endereco(clinica, ip):
    last = _records(clinica)[-1]
    _table(clinica)[_key(clinica, last.seq)]["source"] = ip


@when(parsers.re(r"alguém apaga o registro de auditoria (?P<seq>\d+)"))
def apaga_registro(clinica, seq):
    del _table(clinica)[_key(clinica, int(seq))]


@then("o registro de auditoria tem só a criação da clínica e do canal")
def so_criacao(clinica):
    assert [r.action for r in _records(clinica)] == ["clinic.create", "channel.create"]


@then(
    parsers.re(
        r"o último registro de auditoria diz que (?P<sec>\w+) leu a conversa de (?P<nome>\w+)"
        r" do endereço (?P<ip>[\d.]+)"
    )
)
def registro_de_leitura(clinica, sec, nome, ip):
    last = _records(clinica)[-1]
    assert (last.action, last.resource_id) == ("chat.read", clinica.received[nome].chat_id)
    assert (last.actor_id, last.source) == (clinica.staff_id(sec), ip)
    assert last.at == clinica.clock.now()


@then(
    parsers.re(
        r"o último registro de auditoria diz que (?P<sec>\w+) alterou a conversa de (?P<nome>\w+)"
    )
)
def registro_de_alteracao(clinica, sec, nome):
    last = _records(clinica)[-1]
    assert (last.action, last.resource_id) == ("chat.update", clinica.received[nome].chat_id)
    assert last.actor_id == clinica.staff_id(sec)
    assert last.details == {"mode": "human"}


@then("a conferência do registro de auditoria diz que ele está íntegro")
def integro(clinica):
    report = _verify(clinica)
    assert report.ok and report.records == len(_records(clinica))


@then(
    parsers.re(
        r"a conferência do registro de auditoria aponta o registro (?P<seq>\d+)"
        r" como (?P<problema>alterado|ausente)"
    )
)
def aponta(clinica, seq, problema):
    report = _verify(clinica)
    assert report.broken is not None
    assert (report.broken.seq, report.broken.kind) == (int(seq), KINDS[problema])
