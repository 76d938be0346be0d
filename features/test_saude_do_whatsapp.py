"""Living documentation: the health of an Evolution number (degraded, reconnects).

The real health monitor runs against a stand-in for the clinic's phone on the Evolution
server (its state, and how many times its session was restarted); the rest is Porfin's use
cases on the in-memory container of ``features/conftest.py``.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from porfin_adapters.evolution.client import QrCode
from porfin_adapters.evolution.health import EvolutionHealthMonitor
from porfin_core.domain.channel import Channel, ChannelConnection
from porfin_core.domain.events import ChannelDegraded, ChannelRecovered, DomainEvent
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.record_channel_connection import ConnectionReport

scenarios("saude_do_whatsapp.feature")


@attrs.define
class Celular:
    """The clinic's phone as the Evolution server reports it (a client and its gateway)."""

    state: str = "open"
    restarts: int = 0

    async def client_for(self, channel: Channel) -> Celular:
        return self

    async def connection_state(self, instance: str) -> str:
        return self.state

    async def restart(self, instance: str) -> None:
        self.restarts += 1

    async def connect(self, instance: str, number: str | None = None) -> QrCode:
        return QrCode(code=None, pairing_code=None, state=self.state)

    async def aclose(self) -> None:
        pass


@attrs.define
class Numero:
    """The scenario's Evolution number: its channel, the phone and the team's notices."""

    channel_id: str
    celular: Celular
    monitor: EvolutionHealthMonitor
    avisos: list[DomainEvent] = attrs.field(factory=list)
    chegou: asyncio.Event = attrs.field(factory=asyncio.Event)


@pytest.fixture
def numero(clinica) -> Numero:
    container = clinica.container
    clinic = clinica.run(container.set_up_installation()("Clínica Sorriso")).clinic
    clinica.clinic = clinic
    channel = clinica.run(
        container.create_channel()(
            NewChannel(
                clinic_id=clinic.id,
                name="Celular da recepção",
                provider="evolution",
                phone="+55 11 98765-4321",
                settings={
                    "base_url": "https://evolution.clinica.com.br",
                    "instance": "recepcao",
                    "api_key": "B6D711FCDE4D4FD5936544120E713976",
                },
            )
        )
    )
    celular = Celular()
    monitor = EvolutionHealthMonitor(
        channels=container.list_monitored_channels(),
        record_health=container.record_channel_health(),
        record_attempt=container.record_reconnect_attempt(),
        record_connection=container.record_channel_connection(),
        gateway=celular,  # type: ignore[arg-type]
        activity=container.evolution_activity(),
        clock=clinica.clock,
        interval=60,
    )
    found = Numero(channel_id=channel.id, celular=celular, monitor=monitor)

    async def avisar(event: DomainEvent) -> None:
        found.avisos.append(event)
        found.chegou.set()

    container.dispatcher().subscribe(ChannelDegraded, avisar)
    container.dispatcher().subscribe(ChannelRecovered, avisar)
    return found


def conferir(clinica, numero: Numero) -> None:
    clinica.run(numero.monitor.check_all())


def conexao(clinica, numero: Numero) -> ChannelConnection:
    channel = clinica.run(clinica.container.get_channel()(clinica.clinic_id, numero.channel_id))
    assert channel.connection is not None
    return channel.connection


# -- Dado ----------------------------------------------------------------------------------------


@given("que a clínica tem um número Evolution conectado")
def numero_conectado(clinica, numero):
    conferir(clinica, numero)
    assert conexao(clinica, numero).state == "open"


@given("que o número está degradado")
def numero_degradado(clinica, numero):
    clinica.clock.advance(minutes=31)
    conferir(clinica, numero)
    assert conexao(clinica, numero).degraded
    numero.avisos.clear()
    numero.chegou.clear()


@given("que a conexão do número caiu")
def conexao_caiu(numero):
    numero.celular.state = "close"


@given("que o celular desconectou o número do WhatsApp")
def celular_saiu(clinica, numero):
    numero.celular.state = "close"
    clinica.run(
        clinica.container.record_channel_connection()(
            ConnectionReport(
                channel_id=numero.channel_id, at=clinica.clock.now(), state="close", reason="401"
            )
        )
    )


# -- Quando --------------------------------------------------------------------------------------


@when("chega uma mensagem pelo número")
def chega_mensagem(clinica, numero):
    clinica.container.evolution_activity().seen(numero.channel_id, clinica.clock.now())


@when(parsers.re(r"passam? (?P<minutos>\d+) minutos?"))
def passam_minutos(clinica, minutos):
    clinica.clock.advance(minutes=int(minutos))


@when("o Porfin confere o número")
def porfin_confere(clinica, numero):
    conferir(clinica, numero)


@when(parsers.re(r"o Porfin confere o número a cada minuto durante (?P<minutos>\d+) minutos"))
def confere_cada_minuto(clinica, numero, minutos):
    for _ in range(int(minutos)):
        conferir(clinica, numero)
        clinica.clock.advance(minutes=1)


# -- Então ---------------------------------------------------------------------------------------


@then("o número está degradado")
def esta_degradado(clinica, numero):
    assert conexao(clinica, numero).degraded


@then("o número não está degradado")
def nao_esta_degradado(clinica, numero):
    assert not conexao(clinica, numero).degraded


@then(parsers.re(r"a equipe é avisada de que o número (?P<aviso>está degradado|voltou ao normal)"))
def equipe_avisada(clinica, numero, aviso):
    clinica.run(asyncio.wait_for(numero.chegou.wait(), 5))
    expected = ChannelDegraded if aviso == "está degradado" else ChannelRecovered
    assert [type(e) for e in numero.avisos] == [expected]
    assert numero.avisos[0].channel_id == numero.channel_id


@then(parsers.re(r"o Porfin reiniciou a sessão do número (?P<vezes>\d+) vez(?:es)?"))
def reiniciou(numero, vezes):
    assert numero.celular.restarts == int(vezes)


@then("o Porfin não reiniciou a sessão do número")
def nao_reiniciou(numero):
    assert numero.celular.restarts == 0


@then(parsers.re(r"a próxima tentativa é (?P<minutos>\d+) minutos depois da última"))
def proxima_tentativa(clinica, numero, minutos):
    connection = conexao(clinica, numero)
    assert connection.last_reconnect_at is not None
    assert connection.next_reconnect_at == connection.last_reconnect_at + timedelta(
        minutes=int(minutos)
    )
