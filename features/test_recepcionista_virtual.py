"""Living documentation: the AI receptionist answering patients end to end, through the real
pipeline (offline engine, the simulator channel, the ``assistant.reply`` jobs run when the
clock passes the debounce)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when
from tests.support import FixedClock, SequentialIds

from features.conftest import Clinica
from porfin_adapters.container import Container, start, stop
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.simulator.gateway import SimulatorGateway
from porfin_core.domain.assistant import AssistantTurn, TurnStatus
from porfin_core.domain.chat import ChatMode
from porfin_core.domain.message import Author, Message
from porfin_core.domain.phone import normalize_phone
from porfin_core.domain.scheduling import Appointment, AppointmentSource
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_assistant import NewAssistant
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.list_appointments import AppointmentFilter
from porfin_core.use_cases.update_chat import ChangeChat

scenarios("recepcionista_virtual.feature")

DIAS_DA_SEMANA = {"segunda": 1, "terça": 2, "quarta": 3, "quinta": 4, "sexta": 5, "sábado": 6}
NOMES_DOS_DIAS = ("segunda", "terça", "quarta", "quinta", "sexta", "sábado", "domingo")
MOTIVOS = {
    "por um sinal de alerta": "red_flag:",
    "porque o preço não está na base": "price_unknown",
    "porque a paciente pediu uma pessoa": "patient_asked_for_a_person",
}
FONE = r"\((?P<numero>[^)]+(?:\)[^)]+)?)\)"


@pytest.fixture
def clinica(runner, tmp_path) -> Iterator[Clinica]:
    """The clinic of features/conftest.py with the job worker and the sender stopped: the
    assistant's replies (jobs due after the debounce) and the sends to WhatsApp run only
    when a step lets time pass, so every scenario is deterministic."""
    clock = FixedClock()
    container = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(SequentialIds()))
    simulator = SimulatorGateway(SequentialIds(""))
    container.simulator_gateway.override(providers.Object(simulator))
    runner.run(start(container))
    runner.run(container.job_worker().stop())
    runner.run(container.outbound_sender().stop())
    yield Clinica(runner=runner, container=container, clock=clock, simulator=simulator)
    runner.run(stop(container))


@pytest.fixture
def recepcao() -> dict[str, Any]:
    """What the scenario set up and saw (Clinica is slotted): the assistant, professionals
    and appointment types by name, how many AI messages and turns a chat had."""
    return {"profissionais": {}, "tipos": {}}


def _settle(clinica: Clinica) -> None:
    """Let Porfin do everything due now: events to their handlers, due jobs (the
    assistant's replies), then the messages to WhatsApp."""
    container = clinica.container
    clinica.run(container.dispatcher().settled())
    clinica.run(container.job_worker().drain())
    clinica.run(container.dispatcher().settled())
    clinica.run(container.outbound_sender().drain())
    clinica.run(container.dispatcher().settled())


def _pass(clinica: Clinica, seconds: int) -> None:
    clinica.run(clinica.container.dispatcher().settled())  # the replies are scheduled first
    clinica.clock.advance(seconds=seconds)
    _settle(clinica)


def _ai_messages(clinica: Clinica, nome: str) -> list[Message]:
    """What the AI wrote in the patient's chat, oldest first."""
    return [m for m in reversed(clinica.timeline(nome)) if m.author is Author.AI]


def _turns(clinica: Clinica, nome: str) -> list[AssistantTurn]:
    """The assistant's turns in the patient's chat, oldest first."""
    received = clinica.received[nome]
    turns = clinica.run(
        clinica.container.list_assistant_turns()(received.clinic_id, received.chat_id)
    )
    return turns[::-1]


def _phone_got(clinica: Clinica, nome: str) -> list[str]:
    phone = normalize_phone(clinica.patients[nome])
    return [d.body or "" for d in clinica.simulator.sent if d.recipient == phone]


def _from_sofia(clinica: Clinica, recepcao, nome: str) -> list[Message]:
    """The AI's messages in the chat, each checked to come from Sofia's turn and to have
    reached the patient's phone."""
    messages = _ai_messages(clinica, nome)
    turns = {t.id: t for t in _turns(clinica, nome)}
    phone = _phone_got(clinica, nome)
    for message in messages:
        turn = turns[message.extra["assistant_turn_id"]]
        assert turn.assistant_id == recepcao["sofia"].id
        assert message.body in phone, (message.body, phone)
    return messages


def _offered(clinica: Clinica, nome: str) -> list[dict[str, Any]]:
    """The slots of the last search the assistant made in the chat, as shown to the patient."""
    searches = [
        step.detail
        for turn in _turns(clinica, nome)
        for step in turn.steps
        if step.kind == "tool" and step.detail.get("name") == "find_slots"
    ]
    assert searches, "a Sofia não procurou horários"
    result = searches[-1]["result"]
    assert result["ok"], result
    return list(result["slots"])


def _appointments(clinica: Clinica, nome: str) -> list[Appointment]:
    return clinica.run(
        clinica.container.list_appointments()(
            AppointmentFilter(
                clinic_id=clinica.clinic_id, customer_id=clinica.received[nome].customer_id
            )
        )
    )


def _numbered_options(clinica, recepcao, nome: str, body: str, prof: str) -> list[dict[str, Any]]:
    """The options of the last search, each checked to be in ``body`` as a numbered line
    with its day and time, all with ``prof``."""
    slots = _offered(clinica, nome)
    assert len(slots) >= 2, slots
    for slot in slots:
        line = f"{slot['option']}) {slot['when']}"
        assert line in body, (line, body)
        assert slot["professional_id"] == recepcao["profissionais"][prof]
    assert prof in body, body
    return slots


# -- Dado ----------------------------------------------------------------------------------------


@given(
    parsers.re(
        r"que são (?P<hora>\d{2}:\d{2}) de (?P<semana>\w+)-feira, (?P<dia>\d{2}/\d{2}/\d{4}), "
        r"em São Paulo"
    )
)
def relogio(clinica, hora, semana, dia):
    assert str(clinica.zone) == "America/Sao_Paulo"
    moment = clinica.local(dia, hora)
    assert NOMES_DOS_DIAS[moment.weekday()] == semana, f"{dia} não é {semana}-feira"
    clinica.clock.current = moment


@given(
    parsers.re(
        r"que a (?P<nome>Dra?\. \w+) atende de (?P<de>\w+) a (?P<ate>\w+) "
        r"das (?P<inicio>\d{2}:\d{2}) às (?P<fim>\d{2}:\d{2}), "
        r"com almoço das (?P<almoco>\d{2}:\d{2}) às (?P<volta>\d{2}:\d{2})"
    )
)
def profissional(clinica, recepcao, nome, de, ate, inicio, fim, almoco, volta):
    days = range(DIAS_DA_SEMANA[de], DIAS_DA_SEMANA[ate] + 1)
    professional = clinica.run(
        clinica.container.create_professional()(
            NewProfessional(
                clinic_id=clinica.clinic_id,
                name=nome,
                hours=[WorkingInterval(d, inicio, fim) for d in days],
                breaks=[WorkingInterval(d, almoco, volta) for d in days],
            )
        )
    )
    recepcao["profissionais"][nome] = professional.id


@given(
    parsers.re(
        r'que a clínica oferece "(?P<tipo>[^"]+)" de (?P<minutos>\d+) minutos '
        r'e "(?P<outro>[^"]+)" de (?P<outros_minutos>\d+) minutos'
    )
)
def tipos_de_consulta(clinica, recepcao, tipo, minutos, outro, outros_minutos):
    for name, duration in ((tipo, minutos), (outro, outros_minutos)):
        kind = clinica.run(
            clinica.container.create_appointment_type()(
                NewAppointmentType(
                    clinic_id=clinica.clinic_id, name=name, duration_minutes=int(duration)
                )
            )
        )
        recepcao["tipos"][name] = kind.id


@given("que a tabela de preços da clínica está na base de conhecimento:")
def tabela_de_precos(clinica, docstring):
    added = clinica.run(
        clinica.container.add_knowledge_document()(
            NewKnowledgeDocument(
                clinic_id=clinica.clinic_id,
                filename="tabela-de-precos.csv",
                data=docstring.encode(),
                media_type="text/csv",
            )
        )
    )
    assert added.created and added.document.chunk_count > 0


@given(
    parsers.re(
        r"que a clínica tem a recepcionista virtual (?P<nome>\w+), que espera "
        r"(?P<segundos>\d+) segundos a paciente terminar de escrever"
    ),
    converters={"segundos": int},
)
def recepcionista(clinica, recepcao, nome, segundos):
    recepcao["sofia"] = clinica.run(
        clinica.container.create_assistant()(
            NewAssistant(
                clinic_id=clinica.clinic_id,
                settings={
                    "name": nome,
                    "debounce_seconds": segundos,
                    "facts": {
                        "address": "Rua das Flores, 100 - Centro, São Paulo",
                        "hours": "Segunda a sexta, das 8h às 18h",
                    },
                },
            )
        )
    )


@given(
    parsers.re(
        r"que (?:a paciente|o paciente) (?P<nome>\w+) " + FONE + " pediu à Sofia para falar "
        r"com uma pessoa"
    )
)
def pediu_uma_pessoa(clinica, recepcao, nome, numero):
    clinica.receive(nome, numero, "quero falar com uma pessoa")
    _pass(clinica, recepcao["sofia"].debounce_seconds)
    chat = clinica.chat(nome)
    assert chat.mode is ChatMode.HUMAN, [
        (t.status, t.handoff_reason) for t in _turns(clinica, nome)
    ]


# -- Quando --------------------------------------------------------------------------------------


@when(parsers.re(r"passam? (?P<segundos>\d+) segundos?"), converters={"segundos": int})
def passam_segundos(clinica, recepcao, segundos):
    _pass(clinica, segundos)


@when(parsers.re(r'(?P<nome>\w+) (?:escreve|responde) "(?P<texto>[^"]*)"'))
def paciente_escreve_de_novo(clinica, recepcao, nome, texto):
    recepcao["ia_antes"] = len(_ai_messages(clinica, nome))
    recepcao["turnos_antes"] = len(_turns(clinica, nome))
    clinica.receive(nome, clinica.patients[nome], texto)


@when(parsers.re(r"a secretária (?P<sec>\w+) devolve a conversa de (?P<nome>\w+) para a Sofia"))
def devolve_para_a_sofia(clinica, sec, nome):
    received = clinica.received[nome]
    clinica.clock.advance(minutes=1)
    clinica.run(
        clinica.container.update_chat()(
            ChangeChat(
                clinic_id=received.clinic_id,
                chat_id=received.chat_id,
                mode="ai",
                actor_id=clinica.staff_id(sec),
            )
        )
    )


# -- Então ---------------------------------------------------------------------------------------


@then(
    parsers.re(
        r"(?P<nome>\w+) recebe da Sofia horários numerados de (?P<semana>\w+)-feira, "
        r"(?P<dia>\d{2}/\d{2}), à tarde, com a (?P<prof>Dra?\. \w+)"
    )
)
def recebe_horarios_do_dia(clinica, recepcao, nome, semana, dia, prof):
    [offer] = _from_sofia(clinica, recepcao, nome)
    slots = _numbered_options(clinica, recepcao, nome, offer.body, prof)
    for slot in slots:
        start = datetime.fromisoformat(slot["start"]).astimezone(clinica.zone)
        assert start.strftime("%d/%m") == dia, slot
        assert NOMES_DOS_DIAS[start.weekday()] == semana, slot
        assert start.hour >= 12, slot
    recepcao["opcoes"] = slots


@then(
    parsers.re(
        r'(?P<nome>\w+) tem "(?P<tipo>[^"]+)" na agenda no horário da opção (?P<n>\d+), '
        r"com a (?P<prof>Dra?\. \w+), marcada pela Sofia"
    ),
    converters={"n": int},
)
def tem_consulta_da_opcao(clinica, recepcao, nome, tipo, n, prof):
    [appointment] = _appointments(clinica, nome)
    [option] = [s for s in recepcao["opcoes"] if s["option"] == n]
    assert appointment.start == datetime.fromisoformat(option["start"])
    assert appointment.type_id == recepcao["tipos"][tipo]
    assert appointment.professional_id == recepcao["profissionais"][prof]
    assert appointment.source is AppointmentSource.AI
    assert appointment.chat_id == clinica.received[nome].chat_id


@then(
    parsers.re(
        r"(?P<nome>\w+) recebe da Sofia a confirmação com o dia e a hora da opção (?P<n>\d+)"
    ),
    converters={"n": int},
)
def recebe_confirmacao(clinica, recepcao, nome, n):
    messages = _from_sofia(clinica, recepcao, nome)
    assert len(messages) == 2, [m.body for m in messages]
    [option] = [s for s in recepcao["opcoes"] if s["option"] == n]
    assert option["when"] in messages[-1].body, (option["when"], messages[-1].body)


@then(parsers.re(r"a Sofia ainda não respondeu a (?P<nome>\w+)"))
def ainda_nao_respondeu(clinica, nome):
    assert _ai_messages(clinica, nome) == []
    assert _turns(clinica, nome) == []
    assert _phone_got(clinica, nome) == []


@then(
    parsers.re(r"(?P<nome>\w+) recebe da Sofia uma resposta só, para as (?P<n>\d+) mensagens"),
    converters={"n": int},
)
def uma_resposta_so(clinica, recepcao, nome, n):
    [reply] = _from_sofia(clinica, recepcao, nome)
    [turn] = _turns(clinica, nome)
    assert turn.status is TurnStatus.REPLIED
    assert len(turn.message_ids) == n
    inbound = [m.id for m in reversed(clinica.timeline(nome)) if m.author is Author.PATIENT]
    assert turn.message_ids == inbound
    assert turn.reply_message_ids == [reply.id]
    recepcao["resposta"] = reply


@then(parsers.re(r"a resposta traz horários numerados com a (?P<prof>Dra?\. \w+)"))
def resposta_com_horarios(clinica, recepcao, prof):
    [nome] = clinica.received
    _numbered_options(clinica, recepcao, nome, recepcao["resposta"].body, prof)


@then(
    parsers.re(
        r"a conversa de (?P<nome>\w+) passou para a equipe (?P<motivo>" + "|".join(MOTIVOS) + ")"
    )
)
def passou_para_a_equipe(clinica, nome, motivo):
    chat = clinica.chat(nome)
    assert chat.mode is ChatMode.HUMAN
    assert chat.handoff_reason is not None
    assert chat.handoff_reason.startswith(MOTIVOS[motivo]), chat.handoff_reason
    assert chat.handoff_summary, "a secretária não recebeu um resumo"
    turn = _turns(clinica, nome)[-1]
    assert (turn.status, turn.handoff_reason) == (TurnStatus.HANDED_OFF, chat.handoff_reason)


@then(
    parsers.re(
        r"a conversa de (?P<nome>\w+) está marcada como urgente, na fila, sem ninguém responsável"
    )
)
def urgente_na_fila(clinica, nome):
    chat = clinica.chat(nome)
    assert chat.urgent
    assert chat.assignee_id is None


@then(parsers.re(r'(?P<nome>\w+) recebe da Sofia uma mensagem com "(?P<texto>[^"]+)"'))
def recebe_mensagem_com(clinica, recepcao, nome, texto):
    last = _from_sofia(clinica, recepcao, nome)[-1]
    assert texto in last.body, last.body


@then(
    parsers.re(
        r"(?P<nome>\w+) recebe da Sofia um aviso de que a equipe vai responder, sem nenhum valor"
    )
)
def aviso_da_equipe(clinica, recepcao, nome):
    [notice] = _from_sofia(clinica, recepcao, nome)
    assert "equipe" in notice.body, notice.body
    assert "R$" not in notice.body, notice.body


@then("a Sofia passou a conversa sem consultar o modelo de IA")
def sem_modelo(clinica):
    [nome] = clinica.received
    [turn] = _turns(clinica, nome)
    kinds = [step.kind for step in turn.steps]
    assert "safety" in kinds and "model" not in kinds, kinds
    assert turn.tools_called() == []


@then(parsers.re(r"a Sofia não respondeu mais nada a (?P<nome>\w+)"))
def nao_respondeu_mais(clinica, recepcao, nome):
    assert clinica.chat(nome).mode is ChatMode.HUMAN
    assert len(_ai_messages(clinica, nome)) == recepcao["ia_antes"]
    assert len(_turns(clinica, nome)) == recepcao["turnos_antes"]
    assert len(_phone_got(clinica, nome)) == recepcao["ia_antes"]
