"""Living documentation: appointment reminders answered with a tap."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from features.conftest import identity
from porfin_core.domain.message import Direction, MessageKind
from porfin_core.domain.reminders import ReplyIntent, button_payload
from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage

scenarios("lembretes_de_consulta.feature")


@pytest.fixture
def agenda() -> dict[str, Any]:
    """What the scenario booked and chose."""
    return {}


INTENTS = {"Confirmar": ReplyIntent.CONFIRM, "Remarcar": ReplyIntent.RESCHEDULE}


def _settle(clinica) -> None:
    clinica.run(clinica.container.dispatcher().settled())


def _appointment(clinica, agenda):
    return clinica.run(
        clinica.container.get_appointment()(clinica.clinic_id, agenda["appointment"])
    )


def _last_outbound(clinica, nome):
    return next(m for m in clinica.timeline(nome) if m.direction is Direction.OUTBOUND)


def _patient_sends(clinica, nome, **fields) -> None:
    received = clinica.received[nome]
    clinica.deliver(
        ReceiveMessage(
            channel_id=clinica.channel.id,
            provider_message_id=f"wamid.answer{len(clinica.deliveries)}",
            sender=[identity(clinica.patients[nome])],
            **fields,
        )
    )
    assert clinica.deliveries[-1].chat_id == received.chat_id
    _settle(clinica)


@given(
    parsers.re(
        r"que (?P<nome>\w+) tem uma limpeza com a (?P<prof>Dra\. \w+) em "
        r"(?P<dia>\d{2}/\d{2}/\d{4}) às (?P<hora>\d{2}:\d{2})"
    )
)
def consulta_marcada(clinica, agenda, nome, prof, dia, hora):
    container = clinica.container
    clinica.run(container.job_worker().stop())  # jobs run when a step says the time came
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    ana = clinica.run(
        container.create_professional()(
            NewProfessional(clinic_id=clinica.clinic_id, name=prof, hours=week)
        )
    )
    cleaning = clinica.run(
        container.create_appointment_type()(
            NewAppointmentType(clinic_id=clinica.clinic_id, name="Limpeza", duration_minutes=30)
        )
    )
    received = clinica.received[nome]
    appointment = clinica.run(
        container.book_appointment()(
            NewAppointment(
                clinic_id=clinica.clinic_id,
                customer_id=received.customer_id,
                professional_id=ana.id,
                type_id=cleaning.id,
                start=clinica.local(dia, hora),
                chat_id=received.chat_id,
            )
        )
    )
    agenda["appointment"] = appointment.id
    _settle(clinica)  # the booking's event plans the reminders


@when(parsers.re(r"chegam as (?P<hora>\d{2}:\d{2}) de (?P<dia>\d{2}/\d{2}/\d{4})"))
def chega_a_hora(clinica, hora, dia):
    clinica.clock.current = clinica.local(dia, hora).astimezone(UTC)
    clinica.run(clinica.container.job_worker().drain())
    clinica.run(clinica.container.outbound_sender().drain())


@when(parsers.re(r'(?P<nome>\w+) toca no botão "(?P<botao>[^"]+)"'))
def toca_no_botao(clinica, agenda, nome, botao):
    payload = button_payload(agenda["appointment"], INTENTS[botao])
    _patient_sends(
        clinica,
        nome,
        kind=MessageKind.INTERACTIVE,
        body=botao,
        extra={"interactive": {"type": "button_reply", "id": payload, "title": botao}},
    )


@when(parsers.re(r'(?P<nome>\w+) responde "(?P<texto>[^"]+)"'))
def responde(clinica, nome, texto):
    _patient_sends(clinica, nome, body=texto)


@when(parsers.re(r"(?P<nome>\w+) escolhe o primeiro horário oferecido"))
def escolhe_horario(clinica, agenda, nome):
    offer = _last_outbound(clinica, nome)
    row = offer.extra["sections"][0]["rows"][0]
    agenda["chosen"] = datetime.fromtimestamp(int(row["id"].rsplit(":", 1)[1]), tz=UTC)
    _patient_sends(
        clinica,
        nome,
        kind=MessageKind.INTERACTIVE,
        body=row["title"],
        extra={"interactive": {"type": "list_reply", "id": row["id"], "title": row["title"]}},
    )


@when(parsers.re(r"a recepção cancela a consulta de (?P<nome>\w+)"))
def recepcao_cancela(clinica, agenda, nome):
    clinica.run(
        clinica.container.cancel_appointment()(
            Cancellation(clinic_id=clinica.clinic_id, appointment_id=agenda["appointment"])
        )
    )
    _settle(clinica)


@then(parsers.re(r'(?P<nome>\w+) recebe "(?P<texto>[^"]+)"'))
def recebe(clinica, nome, texto):
    assert _last_outbound(clinica, nome).body == texto


@then(parsers.re(r'o lembrete tem os botões "(?P<botoes>[^"]+)"'))
def botoes(clinica, botoes):
    reminder = next(m for m in clinica.timeline("Maria") if "reminder" in m.extra)
    assert [b["title"] for b in reminder.extra["buttons"]] == botoes.split(", ")


@then(parsers.re(r"a consulta de (?P<nome>\w+) está (?P<estado>confirmada|cancelada)"))
def consulta_esta(clinica, agenda, nome, estado):
    wanted = {"confirmada": AppointmentStatus.CONFIRMED, "cancelada": AppointmentStatus.CANCELLED}
    assert _appointment(clinica, agenda).status is wanted[estado]


@then(parsers.re(r"a consulta de (?P<nome>\w+) foi remarcada para o horário escolhido"))
def remarcada(clinica, agenda, nome):
    assert _appointment(clinica, agenda).start == agenda["chosen"]


@then("nenhum lembrete é enviado")
def nenhum_lembrete(clinica):
    assert not any("reminder" in m.extra for m in clinica.timeline("Maria"))
