"""Step definitions of the living documentation (Portuguese, as the clinics read it).

Every step drives Porfin's use cases through the in-memory container, never HTTP. Steps are
synchronous (pytest-bdd); they run the use cases on one ``asyncio.Runner`` per scenario.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Coroutine, Iterator
from datetime import datetime, timedelta
from typing import Any, TypeVar

import attrs
import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, then, when
from tests.support import FixedClock, SequentialIds

from porfin_adapters.container import Container, start, stop
from porfin_adapters.gateways import ProviderGatewayDirectory
from porfin_adapters.settings import Settings, StorageKind
from porfin_adapters.simulator.gateway import SimulatorGateway
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.customer import Customer, Identity, IdentityKind
from porfin_core.domain.message import Author, DeliveryStatus, Message
from porfin_core.domain.phone import normalize_phone
from porfin_core.errors import GatewayError, PorfinError
from porfin_core.ports.messaging import SendReceipt
from porfin_core.ports.storage import ChatQuery
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.receive_inbound_message import Received, ReceiveMessage
from porfin_core.use_cases.record_delivery_status import DeliveryReport, StatusOutcome
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_channel import ChangeChannel
from porfin_core.use_cases.update_chat import ChangeChat

T = TypeVar("T")

STATUS = {
    "pendente": DeliveryStatus.PENDING,
    "enviada": DeliveryStatus.SENT,
    "entregue": DeliveryStatus.DELIVERED,
    "lida": DeliveryStatus.READ,
    "com falha": DeliveryStatus.FAILED,
}
STATUS_WORDS = "|".join(STATUS)


class RefusingGateway:
    """A WhatsApp that refuses every message with a provider error code."""

    def __init__(self, code: str) -> None:
        self.code = code

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        raise GatewayError("message refused", retryable=False, provider_code=self.code)


@attrs.define
class Clinica:
    """The clinic of one scenario: its container, its clock and what happened so far."""

    runner: asyncio.Runner
    container: Container
    clock: FixedClock
    simulator: SimulatorGateway
    clinic: Clinic | None = None
    channel: Channel | None = None
    staff: dict[str, str] = attrs.field(factory=dict)
    patients: dict[str, str] = attrs.field(factory=dict)
    received: dict[str, Received] = attrs.field(factory=dict)
    commands: dict[str, ReceiveMessage] = attrs.field(factory=dict)
    deliveries: list[Received] = attrs.field(factory=list)
    error: PorfinError | None = None
    outcome: StatusOutcome | None = None
    _pids: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(coro)

    def attempt(self, coro: Coroutine[Any, Any, T]) -> T | None:
        """Run a use case that may refuse; the refusal is kept for a later step."""
        self.error = None
        try:
            return self.run(coro)
        except PorfinError as exc:
            self.error = exc
            return None

    @property
    def clinic_id(self) -> str:
        assert self.clinic is not None, "a clínica ainda não foi criada"
        return self.clinic.id

    @property
    def zone(self):
        assert self.clinic is not None
        return self.clinic.zone

    def local(self, day: str, hour: str) -> datetime:
        return datetime.strptime(f"{day} {hour}", "%d/%m/%Y %H:%M").replace(tzinfo=self.zone)

    def staff_id(self, name: str) -> str:
        assert name in self.staff, f"{name} não trabalha na clínica"
        return self.staff[name]

    def receive(self, name: str, number: str, body: str, pid: str | None = None, **extra) -> None:
        assert self.channel is not None
        self.patients.setdefault(name, number)
        command = ReceiveMessage(
            channel_id=self.channel.id,
            provider_message_id=pid or f"wamid.{next(self._pids)}",
            sender=[identity(number)],
            sender_name=name,
            body=body,
            **extra,
        )
        self.deliver(command)
        self.received[name] = self.deliveries[-1]

    def deliver(self, command: ReceiveMessage) -> None:
        self.commands[command.provider_message_id] = command
        self.deliveries.append(self.run(self.container.receive_inbound_message()(command)))

    def chat(self, name: str) -> Chat:
        received = self.received[name]
        return self.run(self.container.get_chat()(received.clinic_id, received.chat_id))

    def timeline(self, name: str) -> list[Message]:
        received = self.received[name]
        page = self.run(
            self.container.get_chat_timeline()(
                TimelineQuery(clinic_id=received.clinic_id, chat_id=received.chat_id, limit=200)
            )
        )
        return page.items

    def customer(self, name: str) -> Customer:
        received = self.received[name]

        async def read() -> Customer:
            async with self.container.uow_factory()(read_only=True) as uow:
                return await uow.customers.get(received.clinic_id, received.customer_id)

        return self.run(read())

    def chats(self) -> list[Chat]:
        page = self.run(self.container.list_chats()(ChatQuery(clinic_id=self.clinic_id)))
        return page.items

    def update(self, name: str, **changes) -> None:
        received = self.received[name]
        self.attempt(
            self.container.update_chat()(
                ChangeChat(clinic_id=received.clinic_id, chat_id=received.chat_id, **changes)
            )
        )

    def reply(self, staff: str, name: str, body: str) -> None:
        received = self.received[name]
        self.attempt(
            self.container.send_staff_message()(
                SendText(
                    clinic_id=received.clinic_id,
                    chat_id=received.chat_id,
                    author_id=self.staff_id(staff),
                    text=body,
                )
            )
        )

    def staff_message(self, staff: str) -> Message:
        author_id = self.staff_id(staff)
        mine = [
            m
            for name in self.received
            for m in self.timeline(name)
            if m.author is Author.STAFF and m.author_id == author_id
        ]
        assert mine, f"{staff} não enviou nenhuma mensagem"
        return mine[0]  # newest first


def identity(number: str) -> Identity:
    """How a provider names the patient: a JID, a bare wa_id or a number as people write it."""
    number = number.strip()
    if "@" in number:
        return Identity(IdentityKind.JID, number)
    if number.isdigit():
        return Identity(IdentityKind.WA_ID, number)
    return Identity.of_phone(number)


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture
def clinica(runner, tmp_path) -> Iterator[Clinica]:
    clock = FixedClock()
    container = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    container.clock.override(providers.Object(clock))
    container.ids.override(providers.Object(SequentialIds()))
    # Its own ids, so the name of the next message sent is known: sim.000001, sim.000002...
    simulator = SimulatorGateway(SequentialIds(""))
    container.simulator_gateway.override(providers.Object(simulator))
    runner.run(start(container))
    yield Clinica(runner=runner, container=container, clock=clock, simulator=simulator)
    runner.run(stop(container))


# -- Dado ----------------------------------------------------------------------------------------


@given("que a clínica tem o canal simulador")
def clinica_com_simulador(clinica):
    installation = clinica.run(clinica.container.set_up_installation()("Clínica Sorriso"))
    clinica.clinic, clinica.channel = installation.clinic, installation.channel
    assert clinica.channel.provider is Provider.SIMULATOR


@given(parsers.re(r"que a secretária (?P<nome>\w+) trabalha na clínica"))
def secretaria(clinica, nome):
    clinica.staff[nome] = f"user-{nome.lower()}"


@given(parsers.re(r"que são (?P<hora>\d{2}:\d{2}) de (?P<dia>\d{2}/\d{2}/\d{4})"))
def relogio(clinica, hora, dia):
    clinica.clock.current = clinica.local(dia, hora)


@given(
    parsers.re(
        r"que (?:a paciente|o paciente) (?P<nome>\w+) \((?P<numero>[^)]+(?:\)[^)]+)?)\) "
        r'escreveu "(?P<texto>[^"]*)"'
    )
)
def paciente_escreveu(clinica, nome, numero, texto):
    clinica.receive(nome, numero, texto)


@given(parsers.re(r"que a recepção encerrou a conversa de (?P<nome>\w+)"))
def recepcao_encerrou(clinica, nome):
    clinica.update(nome, status="closed")
    assert clinica.error is None


@given(parsers.re(r"que a conversa de (?P<nome>\w+) foi atribuída à secretária (?P<sec>\w+)"))
def conversa_atribuida(clinica, nome, sec):
    clinica.update(nome, assignee_id=clinica.staff_id(sec))
    assert clinica.error is None


@given(parsers.re(r'que a secretária (?P<sec>\w+) respondeu a (?P<nome>\w+) "(?P<texto>[^"]*)"'))
def secretaria_respondeu(clinica, sec, nome, texto):
    clinica.reply(sec, nome, texto)
    assert clinica.error is None


@given(parsers.re(r"que a secretária (?P<sec>\w+) desligou a IA da conversa de (?P<nome>\w+)"))
def secretaria_desligou(clinica, sec, nome):
    clinica.update(nome, mode="human", actor_id=clinica.staff_id(sec))
    assert clinica.error is None


@given(
    parsers.re(
        r"que a secretária (?P<sec>\w+) pausou a IA da conversa de (?P<nome>\w+) "
        r"por (?P<horas>\d+) horas?"
    ),
    converters={"horas": int},
)
def secretaria_pausou(clinica, sec, nome, horas):
    pausar(clinica, sec, nome, horas)
    assert clinica.error is None


@given(
    parsers.re(
        r'que o canal tem o modelo aprovado "(?P<nome>[^"]+)" com o texto "(?P<texto>[^"]+)"'
    )
)
def modelo_aprovado(clinica, nome, texto):
    assert clinica.channel is not None
    clinica.run(
        clinica.container.update_channel()(
            ChangeChannel(
                clinic_id=clinica.clinic_id,
                channel_id=clinica.channel.id,
                templates=[{"name": nome, "body": texto}],
            )
        )
    )


@given(parsers.re(r'que o WhatsApp está recusando mensagens com o erro "(?P<codigo>[^"]+)"'))
def whatsapp_recusando(clinica, codigo):
    directory = ProviderGatewayDirectory({Provider.SIMULATOR: RefusingGateway(codigo)})
    clinica.container.gateways.override(providers.Object(directory))


@given(
    parsers.re(r"que passaram (?P<quantidade>\d+) (?P<unidade>horas?|minutos?)"),
    converters={"quantidade": int},
)
@when(
    parsers.re(r"passam? (?P<quantidade>\d+) (?P<unidade>horas?|minutos?)"),
    converters={"quantidade": int},
)
def tempo_passa(clinica, quantidade, unidade):
    if unidade.startswith("hora"):
        clinica.clock.advance(hours=quantidade)
    else:
        clinica.clock.advance(minutes=quantidade)


# -- Quando --------------------------------------------------------------------------------------


@when(
    parsers.re(
        r"(?:a paciente|o paciente) (?P<nome>\w+) \((?P<numero>[^)]+(?:\)[^)]+)?)\) "
        r'escreve "(?P<texto>[^"]*)"(?: com o id "(?P<pid>[^"]+)")?'
    )
)
def paciente_escreve(clinica, nome, numero, texto, pid):
    clinica.receive(nome, numero, texto, pid=pid)


@when(parsers.re(r'o WhatsApp entrega de novo a mensagem "(?P<pid>[^"]+)"'))
def entrega_repetida(clinica, pid):
    clinica.clock.advance(seconds=30)
    clinica.deliver(clinica.commands[pid])


@when(parsers.re(r'a secretária (?P<sec>\w+) responde a (?P<nome>\w+) "(?P<texto>[^"]*)"'))
def secretaria_responde(clinica, sec, nome, texto):
    clinica.clock.advance(seconds=10)
    clinica.reply(sec, nome, texto)


@when(
    parsers.re(
        r"o WhatsApp avisa que a mensagem de (?P<sec>\w+) foi (?P<status>" + STATUS_WORDS + ")"
    )
)
def whatsapp_avisa(clinica, sec, status):
    message = clinica.staff_message(sec)
    assert clinica.channel is not None and message.provider_message_id is not None
    report = DeliveryReport(
        channel_id=clinica.channel.id,
        provider_message_id=message.provider_message_id,
        status=STATUS[status].value,
        at=clinica.clock.advance(seconds=5),
    )
    clinica.outcome = clinica.run(clinica.container.record_delivery_status()(report))


@when(
    parsers.re(
        r"o WhatsApp avisa que a próxima mensagem foi (?P<status>"
        + STATUS_WORDS
        + r"), antes de o Porfin saber dela"
    )
)
def aviso_adiantado(clinica, status):
    assert clinica.channel is not None
    next_id = f"sim.{len(clinica.simulator.sent) + 1:06d}"
    report = DeliveryReport(
        channel_id=clinica.channel.id,
        provider_message_id=next_id,
        status=STATUS[status].value,
        at=clinica.clock.now(),
    )
    clinica.outcome = clinica.run(clinica.container.record_delivery_status()(report))


@when(
    parsers.re(
        r'a secretária (?P<sec>\w+) envia a (?P<nome>\w+) o modelo "(?P<modelo>[^"]+)" com '
        r"(?P<valores>.+)"
    )
)
def envia_modelo(clinica, sec, nome, modelo, valores):
    received = clinica.received[nome]
    clinica.attempt(
        clinica.container.send_staff_message()(
            SendText(
                clinic_id=received.clinic_id,
                chat_id=received.chat_id,
                author_id=clinica.staff_id(sec),
                template=modelo,
                template_parameters=re.findall(r'"([^"]*)"', valores),
            )
        )
    )


@when(parsers.re(r'alguém responde a (?P<nome>\w+) pelo celular da clínica "(?P<texto>[^"]*)"'))
def celular_da_clinica(clinica, nome, texto):
    clinica.clock.advance(seconds=10)
    clinica.receive(nome, clinica.patients[nome], texto, from_clinic_phone=True)


@when(parsers.re(r"a secretária (?P<sec>\w+) desliga a IA da conversa de (?P<nome>\w+)"))
def desliga_ia(clinica, sec, nome):
    clinica.update(nome, mode="human", actor_id=clinica.staff_id(sec))


@when(parsers.re(r"a recepção encerra a conversa de (?P<nome>\w+)"))
def recepcao_encerra(clinica, nome):
    clinica.update(nome, status="closed")
    assert clinica.error is None


@when(parsers.re(r"a secretária (?P<sec>\w+) religa a IA da conversa de (?P<nome>\w+)"))
def religa_ia(clinica, sec, nome):
    clinica.update(nome, mode="ai", actor_id=clinica.staff_id(sec))


@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) passa a conversa de (?P<nome>\w+) para uma pessoa "
        r'porque "(?P<motivo>[^"]*)"'
    )
)
def passa_para_pessoa(clinica, sec, nome, motivo):
    clinica.update(nome, mode="human", reason=motivo, actor_id=clinica.staff_id(sec))


@when(
    parsers.re(
        r"a secretária (?P<sec>\w+) pausa a IA da conversa de (?P<nome>\w+) "
        r"por (?P<horas>\d+) horas?"
    ),
    converters={"horas": int},
)
def pausar(clinica, sec, nome, horas):
    until = clinica.clock.now() + timedelta(hours=horas)
    clinica.update(nome, mode="paused", paused_until=until, actor_id=clinica.staff_id(sec))


# -- Então ---------------------------------------------------------------------------------------


@then(parsers.re(r"existem? (?P<n>\d+) clientes?"), converters={"n": int})
def total_de_clientes(clinica, n):
    store = clinica.container.storage().uow_factory.store
    assert len(store.tables["customers"]) == n


@then(parsers.re(r"existem? (?P<n>\d+) conversas?"), converters={"n": int})
def total_de_conversas(clinica, n):
    assert len(clinica.chats()) == n


@then(parsers.re(r"a cliente (?P<nome>\w+) tem o telefone (?P<telefone>.+)"))
def telefone_da_cliente(clinica, nome, telefone):
    assert clinica.customer(nome).phone == normalize_phone(telefone)
    assert clinica.chat(nome).customer_phone == normalize_phone(telefone)


@then(parsers.re(r"a conversa de (?P<nome>\w+) está (?P<estado>aberta|encerrada)"))
def conversa_aberta(clinica, nome, estado):
    expected = ChatStatus.OPEN if estado == "aberta" else ChatStatus.CLOSED
    assert clinica.chat(nome).status is expected


@then(parsers.re(r"a conversa de (?P<nome>\w+) é atendida (?P<quem>pela IA|por uma pessoa)"))
def quem_atende(clinica, nome, quem):
    expected = ChatMode.AI if quem == "pela IA" else ChatMode.HUMAN
    assert clinica.chat(nome).effective_mode(clinica.clock.now()) is expected


@then(parsers.re(r"a conversa de (?P<nome>\w+) espera por uma pessoa desde (?P<hora>\d{2}:\d{2})"))
def espera_desde(clinica, nome, hora):
    since = clinica.chat(nome).waiting_since
    assert since is not None and since.astimezone(clinica.zone).strftime("%H:%M") == hora


@then(parsers.re(r"a conversa de (?P<nome>\w+) não espera por ninguém"))
def nao_espera(clinica, nome):
    assert clinica.chat(nome).waiting_since is None


@then(parsers.re(r"a fila de espera é (?P<nomes>.+)"))
def fila_de_espera(clinica, nomes):
    page = clinica.run(
        clinica.container.list_chats()(ChatQuery(clinic_id=clinica.clinic_id, waiting=True))
    )
    by_chat = {received.chat_id: name for name, received in clinica.received.items()}
    assert [by_chat[chat.id] for chat in page.items] == nomes.split(", ")


@then("a fila de espera está vazia")
def fila_vazia(clinica):
    page = clinica.run(
        clinica.container.list_chats()(ChatQuery(clinic_id=clinica.clinic_id, waiting=True))
    )
    assert page.items == []


@then(parsers.re(r"a IA (?P<pode>pode|não pode) responder a (?P<nome>\w+)"))
def ia_pode_responder(clinica, pode, nome):
    assert clinica.chat(nome).ai_may_reply(clinica.clock.now()) is (pode == "pode")


@then(
    parsers.re(r"a conversa de (?P<nome>\w+) tem (?P<n>\d+) mensage(?:m|ns)"),
    converters={"n": int},
)
def total_de_mensagens(clinica, nome, n):
    assert len(clinica.timeline(nome)) == n


@then(
    parsers.re(r"a conversa de (?P<nome>\w+) tem (?P<n>\d+) mensage(?:m|ns) não lidas?"),
    converters={"n": int},
)
def nao_lidas(clinica, nome, n):
    assert clinica.chat(nome).unread_count == n


@then(parsers.re(r'a última mensagem da conversa de (?P<nome>\w+) é "(?P<texto>[^"]*)"'))
def ultima_mensagem(clinica, nome, texto):
    assert clinica.timeline(nome)[0].body == texto
    assert clinica.chat(nome).last_message_preview == texto


@then("a segunda entrega é reconhecida como repetida")
def entrega_repetida_reconhecida(clinica):
    first, again = clinica.deliveries[-2:]
    assert again.duplicate
    assert again.message_id == first.message_id


@then(
    parsers.re(
        r"a janela de atendimento de (?P<nome>\w+) fecha em (?P<dia>\d{2}/\d{2}/\d{4}) "
        r"às (?P<hora>\d{2}:\d{2})"
    )
)
def janela_fecha_em(clinica, nome, dia, hora):
    assert clinica.chat(nome).window_expires_at() == clinica.local(dia, hora)


@then(parsers.re(r"a janela de atendimento de (?P<nome>\w+) está (?P<estado>aberta|fechada)"))
def janela_aberta(clinica, nome, estado):
    assert clinica.chat(nome).window_open(clinica.clock.now()) is (estado == "aberta")


@then(parsers.re(r"o WhatsApp recebeu (?P<n>\d+) mensage(?:m|ns)"), converters={"n": int})
def whatsapp_recebeu(clinica, n):
    assert clinica.error is None, clinica.error
    assert len(clinica.simulator.sent) == n


@then(parsers.re(r'o WhatsApp recebeu para (?P<telefone>[^"]+) a mensagem "(?P<texto>[^"]*)"'))
def whatsapp_recebeu_para(clinica, telefone, texto):
    assert any(
        d.recipient == normalize_phone(telefone) and d.body == texto for d in clinica.simulator.sent
    ), clinica.simulator.sent


@then("o WhatsApp não recebeu nenhuma mensagem")
def whatsapp_nada(clinica):
    assert list(clinica.simulator.sent) == []


@then(parsers.re(r"a mensagem de (?P<sec>\w+) está (?P<status>" + STATUS_WORDS + ")"))
def status_da_mensagem(clinica, sec, status):
    assert clinica.error is None, clinica.error
    assert clinica.staff_message(sec).status is STATUS[status]


@then(parsers.re(r'a mensagem de (?P<sec>\w+) está com falha, código "(?P<codigo>[^"]+)"'))
def mensagem_com_falha(clinica, sec, codigo):
    message = clinica.staff_message(sec)
    assert message.status is DeliveryStatus.FAILED
    assert message.failure is not None
    assert message.failure.error_code == codigo


@then(parsers.re(r'a (?:resposta|mudança) é recusada com o erro "(?P<codigo>\w+)"'))
def recusada(clinica, codigo):
    assert clinica.error is not None, "nada foi recusado"
    assert clinica.error.code == codigo


@then("o erro orienta a usar um modelo de mensagem aprovado")
def orienta_modelo(clinica):
    assert clinica.error is not None
    assert "approved template" in clinica.error.message


@then("o aviso fica guardado à espera da mensagem")
def aviso_guardado(clinica):
    assert clinica.outcome == StatusOutcome(applied=False, pending=True)


@then(parsers.re(r'o motivo registrado na conversa de (?P<nome>\w+) é "(?P<motivo>[^"]*)"'))
def motivo(clinica, nome, motivo):
    assert clinica.chat(nome).handoff_reason == motivo


@then(parsers.re(r"a conversa de (?P<nome>\w+) está pausada até (?P<hora>\d{2}:\d{2})"))
def pausada_ate(clinica, nome, hora):
    chat = clinica.chat(nome)
    assert chat.mode is ChatMode.PAUSED
    assert chat.paused_until is not None
    assert chat.paused_until.astimezone(clinica.zone).strftime("%H:%M") == hora


@then(parsers.re(r"a conversa de (?P<nome>\w+) está com a secretária (?P<sec>\w+)"))
def atribuida_a(clinica, nome, sec):
    assert clinica.chat(nome).assignee_id == clinica.staff_id(sec)
