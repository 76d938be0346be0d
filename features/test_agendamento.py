"""Living documentation: booking, double booking, rescheduling and the waitlist."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from porfin_core.domain.scheduling import Appointment, AppointmentStatus, WaitlistStatus
from porfin_core.errors import SlotTaken
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_with_any_professional import BookingRequest
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.confirm_appointment import Confirmation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.find_free_slots import SlotRequest
from porfin_core.use_cases.get_agenda import AgendaQuery
from porfin_core.use_cases.join_waitlist import WaitlistRequest
from porfin_core.use_cases.list_appointments import AppointmentFilter
from porfin_core.use_cases.list_waitlist import WaitlistFilter
from porfin_core.use_cases.reschedule_appointment import NewTime

scenarios("agendamento.feature")

DIA = r"(?P<dia>\d{2}/\d{2}/\d{4})"
HORA = r"(?P<hora>\d{2}:\d{2})"
PERIODOS = {"de manhã": "manha", "à tarde": "tarde", "à noite": "noite"}
DIAS_DA_SEMANA = {"segunda": 1, "terça": 2, "quarta": 3, "quinta": 4, "sexta": 5, "sábado": 6}


@pytest.fixture
def agenda() -> SimpleNamespace:
    """What the scenario set up and what the last step found."""
    return SimpleNamespace(
        profissionais={}, tipos={}, consultas={}, espera={}, horarios=[], recusa=None
    )


def _paciente(clinica, nome: str) -> str:
    return clinica.received[nome].customer_id


def _hora(moment, clinica) -> str:
    return moment.astimezone(clinica.zone).strftime("%H:%M")


def _horarios_livres(clinica, agenda, tipo: str, dia: str, periodos=()) -> list:
    day = clinica.local(dia, "00:00").date()
    return clinica.run(
        clinica.container.find_free_slots()(
            SlotRequest(
                clinic_id=clinica.clinic_id,
                type_id=agenda.tipos[tipo],
                first_day=day,
                last_day=day,
                periods=periodos,
                limit=200,
            )
        )
    )


def _marcar(clinica, agenda, tipo, nome, dia, hora, entrada=None) -> None:
    agenda.recusa = None
    try:
        booked = clinica.run(
            clinica.container.book_with_any_professional()(
                BookingRequest(
                    clinic_id=clinica.clinic_id,
                    customer_id=_paciente(clinica, nome),
                    type_id=agenda.tipos[tipo],
                    start=clinica.local(dia, hora),
                    waitlist_entry_id=entrada,
                )
            )
        )
    except SlotTaken as exc:
        agenda.recusa = exc
        return
    agenda.consultas[nome] = booked.id


def _consulta(clinica, agenda, nome) -> Appointment:
    return clinica.run(
        clinica.container.get_appointment()(clinica.clinic_id, agenda.consultas[nome])
    )


def _lista_de_espera(clinica, nome):
    entries = clinica.run(
        clinica.container.list_waitlist()(
            WaitlistFilter(
                clinic_id=clinica.clinic_id,
                customer_id=_paciente(clinica, nome),
                include_closed=True,
            )
        )
    )
    assert entries, f"{nome} nunca entrou na lista de espera"
    return entries[-1]


# -- Dado ----------------------------------------------------------------------------------------


@given(
    parsers.re(
        r"que a (?P<nome>Dra?\. \w+) atende de (?P<de>\w+) a (?P<ate>\w+) "
        r"das (?P<inicio>\d{2}:\d{2}) às (?P<fim>\d{2}:\d{2}), "
        r"com almoço das (?P<almoco>\d{2}:\d{2}) às (?P<volta>\d{2}:\d{2})"
    )
)
def profissional(clinica, agenda, nome, de, ate, inicio, fim, almoco, volta):
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
    agenda.profissionais[nome] = professional.id


@given(
    parsers.re(
        r'que a clínica oferece "(?P<tipo>[^"]+)" de (?P<minutos>\d+) minutos '
        r"por R\$ (?P<reais>\d+),(?P<centavos>\d{2})"
    )
)
def tipo_de_consulta(clinica, agenda, tipo, minutos, reais, centavos):
    kind = clinica.run(
        clinica.container.create_appointment_type()(
            NewAppointmentType(
                clinic_id=clinica.clinic_id,
                name=tipo,
                duration_minutes=int(minutos),
                price_cents=int(reais) * 100 + int(centavos),
            )
        )
    )
    agenda.tipos[tipo] = kind.id


@given(parsers.re(r'que (?P<nome>\w+) tem "(?P<tipo>[^"]+)" marcada em ' + DIA + " às " + HORA))
def consulta_marcada(clinica, agenda, nome, tipo, dia, hora):
    _marcar(clinica, agenda, tipo, nome, dia, hora)
    assert agenda.recusa is None, agenda.recusa


@given(parsers.re(r"que (?P<nome>\w+) confirmou a consulta"))
def confirmou(clinica, agenda, nome):
    clinica.run(
        clinica.container.confirm_appointment()(
            Confirmation(clinic_id=clinica.clinic_id, appointment_id=agenda.consultas[nome])
        )
    )


@given(
    parsers.re(
        r"que (?:a paciente|o paciente) (?P<nome>\w+) entrou na lista de espera de "
        r'"(?P<tipo>[^"]+)"(?: para as (?P<periodo>manhãs|tardes|noites))?'
    )
)
def entrou_na_lista(clinica, agenda, nome, tipo, periodo):
    periods = {"manhãs": ["manha"], "tardes": ["tarde"], "noites": ["noite"]}.get(periodo, [])
    clinica.clock.advance(minutes=1)  # the line's order is who joined first
    entry = clinica.run(
        clinica.container.join_waitlist()(
            WaitlistRequest(
                clinic_id=clinica.clinic_id,
                customer_id=_paciente(clinica, nome),
                type_id=agenda.tipos[tipo],
                periods=periods,
            )
        )
    )
    agenda.espera[nome] = entry.id


# -- Quando --------------------------------------------------------------------------------------


@when(
    parsers.re(
        r'a recepção procura horários de "(?P<tipo>[^"]+)" em '
        + DIA
        + r" (?P<periodo>de manhã|à tarde|à noite)"
    )
)
def procura_horarios(clinica, agenda, tipo, dia, periodo):
    agenda.horarios = _horarios_livres(clinica, agenda, tipo, dia, [PERIODOS[periodo]])


@when(
    parsers.re(
        r'a recepção marca "(?P<tipo>[^"]+)" para (?P<nome>\w+) em '
        + DIA
        + " às "
        + HORA
        + r"(?P<espera>, pela lista de espera)?"
    )
)
def recepcao_marca(clinica, agenda, tipo, nome, dia, hora, espera):
    entrada = agenda.espera[nome] if espera else None
    _marcar(clinica, agenda, tipo, nome, dia, hora, entrada)


@when(parsers.re(r"a recepção remarca a consulta de (?P<nome>\w+) para " + DIA + " às " + HORA))
def remarca(clinica, agenda, nome, dia, hora):
    clinica.run(
        clinica.container.reschedule_appointment()(
            NewTime(
                clinic_id=clinica.clinic_id,
                appointment_id=agenda.consultas[nome],
                start=clinica.local(dia, hora),
            )
        )
    )


@when(parsers.re(r'(?P<nome>\w+) cancela a consulta porque "(?P<motivo>[^"]*)"'))
def cancela(clinica, agenda, nome, motivo):
    clinica.run(
        clinica.container.cancel_appointment()(
            Cancellation(
                clinic_id=clinica.clinic_id, appointment_id=agenda.consultas[nome], reason=motivo
            )
        )
    )


# -- Então ---------------------------------------------------------------------------------------


@then(parsers.re(r"o primeiro horário livre é " + HORA + r" com a (?P<prof>Dra?\. \w+)"))
def primeiro_horario(clinica, agenda, hora, prof):
    first = agenda.horarios[0]
    assert (_hora(first.start, clinica), first.professional_id) == (
        hora,
        agenda.profissionais[prof],
    )


@then(
    parsers.re(
        r'(?P<nome>\w+) tem "(?P<tipo>[^"]+)" em '
        + DIA
        + " às "
        + HORA
        + r" com a (?P<prof>Dra?\. \w+), (?P<situacao>a confirmar|confirmada)"
    )
)
def tem_consulta(clinica, agenda, nome, tipo, dia, hora, prof, situacao):
    assert agenda.recusa is None, agenda.recusa
    appointment = _consulta(clinica, agenda, nome)
    assert appointment.start == clinica.local(dia, hora)
    assert appointment.type_id == agenda.tipos[tipo]
    assert appointment.professional_id == agenda.profissionais[prof]
    expected = {
        "a confirmar": AppointmentStatus.REQUESTED,
        "confirmada": AppointmentStatus.CONFIRMED,
    }
    assert appointment.status is expected[situacao]


@then(
    parsers.re(
        r"a agenda de "
        + DIA
        + r' mostra "(?P<hora>\d{2}:\d{2}) (?P<nome>\w+) \((?P<tipo>[^)]+)\)" com a '
        + r"(?P<prof>Dra?\. \w+)"
    )
)
def agenda_do_dia(clinica, agenda, dia, hora, nome, tipo, prof):
    day = clinica.run(
        clinica.container.get_agenda()(
            AgendaQuery(clinic_id=clinica.clinic_id, day=clinica.local(dia, hora).date())
        )
    )
    [column] = [c for c in day.columns if c.professional.name == prof]
    shown = [
        f"{_hora(e.appointment.start, clinica)} {e.customer_name} ({e.type_name})"
        for e in column.entries
    ]
    assert shown == [f"{hora} {nome} ({tipo})"]


@then(
    parsers.re(HORA + r" (?P<onde>não está mais|voltou a estar) entre os horários livres de " + DIA)
)
def entre_os_livres(clinica, agenda, hora, onde, dia):
    [tipo] = agenda.tipos
    starts = [_hora(s.start, clinica) for s in _horarios_livres(clinica, agenda, tipo, dia)]
    assert (hora in starts) is (onde == "voltou a estar"), starts


@then("a marcação é recusada porque o horário está ocupado")
def recusada_ocupado(agenda):
    assert agenda.recusa is not None, "a marcação não foi recusada"
    assert agenda.recusa.code == "slot_taken"


@then(
    parsers.re(
        r"os horários oferecidos no lugar são (?P<horas>[\d:, e]+) de " + DIA,
    )
)
def alternativas(clinica, agenda, horas, dia):
    expected = [h.strip() for h in horas.replace(" e ", ", ").split(",")]
    offered = agenda.recusa.alternatives
    assert [_hora(s.start, clinica) for s in offered] == expected
    assert all(s.start.astimezone(clinica.zone).strftime("%d/%m/%Y") == dia for s in offered)


@then(parsers.re(r"(?P<nome>\w+) não tem consulta marcada"))
def sem_consulta(clinica, nome):
    found = clinica.run(
        clinica.container.list_appointments()(
            AppointmentFilter(clinic_id=clinica.clinic_id, customer_id=_paciente(clinica, nome))
        )
    )
    assert found == []


@then(parsers.re(r"a consulta de (?P<nome>\w+) guarda que antes era às " + HORA))
def historico(clinica, agenda, nome, hora):
    last = _consulta(clinica, agenda, nome).history[-1]
    assert last.action == "rescheduled"
    assert last.previous_start is not None
    assert _hora(last.previous_start, clinica) == hora


@then(parsers.re(r"a consulta de (?P<nome>\w+) está cancelada"))
def cancelada(clinica, agenda, nome):
    appointment = _consulta(clinica, agenda, nome)
    assert appointment.status is AppointmentStatus.CANCELLED


@then(parsers.re(r"(?P<nome>\w+) recebeu a oferta de " + DIA + " às " + HORA))
def recebeu_oferta(clinica, nome, dia, hora):
    entry = _lista_de_espera(clinica, nome)
    assert entry.status is WaitlistStatus.OFFERED
    assert entry.offered_slot is not None
    assert entry.offered_slot.start == clinica.local(dia, hora)


@then(parsers.re(r"(?P<nome>\w+) continua esperando na lista"))
def continua_esperando(clinica, nome):
    assert _lista_de_espera(clinica, nome).status is WaitlistStatus.WAITING


@then(parsers.re(r"(?P<nome>\w+) saiu da lista de espera"))
def saiu_da_lista(clinica, nome):
    assert _lista_de_espera(clinica, nome).status is WaitlistStatus.BOOKED
