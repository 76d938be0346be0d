"""Appointment reminders: when they go out, what they say, and what a patient's answer does."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

import pytest

from porfin_adapters.formats import BabelFormats
from porfin_core.domain.customer import Consent, ConsentPurpose, Identity
from porfin_core.domain.jobs import JobStatus
from porfin_core.domain.message import MessageKind
from porfin_core.domain.reminders import (
    ReminderRule,
    ReplyIntent,
    button_payload,
    read_payload,
    read_plan,
    read_reply,
    reminders_due,
)
from porfin_core.domain.scheduling import AppointmentStatus, WaitlistStatus
from porfin_core.errors import JobFailed, ValidationError
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.answer_appointment_reminder import Answer
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.join_waitlist import WaitlistRequest
from porfin_core.use_cases.merge_customers import DuplicateCustomer
from porfin_core.use_cases.plan_appointment_reminders import reminder_subject
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from tests.scheduling_builders import local

SP = "America/Sao_Paulo"


# -- the rules ------------------------------------------------------------------------------


def test_rules_are_written_as_days_at_a_time_or_hours_before():
    assert ReminderRule.parse("1d@10:00") == ReminderRule(days_before=1, at=time(10, 0))
    assert ReminderRule.parse(" 2h ") == ReminderRule(hours_before=2)
    assert [str(rule) for rule in read_plan(["1d@10:00", "2h"])] == ["1d@10:00", "2h"]
    for bad in ("10:00", "0h", "73h", "15d@10:00", "1d@25:00", "2 horas"):
        with pytest.raises(ValidationError):
            ReminderRule.parse(bad)
    with pytest.raises(ValidationError):
        read_plan(["2h", "2h"])
    with pytest.raises(ValidationError):
        read_plan(["1h", "2h", "3h", "4h", "5h", "6h"])


def test_the_day_before_is_the_clinics_day_and_passed_reminders_are_skipped():
    start = local(datetime(2026, 12, 2).date(), 8, 30)  # Wednesday 08:30 in São Paulo
    plan = read_plan(["1d@10:00", "2h"])
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    due = reminders_due(plan, start, SP, now)
    assert [(str(rule), at) for rule, at in due] == [
        ("1d@10:00", local(datetime(2026, 12, 1).date(), 10, 0)),
        ("2h", local(datetime(2026, 12, 2).date(), 6, 30)),
    ]
    # Booked on the eve after 10:00: only the 2-hour reminder is still ahead.
    later = local(datetime(2026, 12, 1).date(), 18, 0)
    assert [str(rule) for rule, _ in reminders_due(plan, start, SP, later)] == ["2h"]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Confirmo", ReplyIntent.CONFIRM),
        ("sim, estarei lá!", ReplyIntent.CONFIRM),
        ("CONFIRMADO 👍", ReplyIntent.CONFIRM),
        ("ok", ReplyIntent.CONFIRM),
        ("1", ReplyIntent.CONFIRM),
        ("Não vou poder ir", ReplyIntent.CANCEL),
        ("nao posso amanha", ReplyIntent.CANCEL),
        ("pode cancelar por favor", ReplyIntent.CANCEL),
        ("3", ReplyIntent.CANCEL),
        ("quero remarcar", ReplyIntent.RESCHEDULE),
        ("Tem outro horário?", ReplyIntent.RESCHEDULE),
        ("2", ReplyIntent.RESCHEDULE),
        ("Qual o endereço da clínica?", None),
        ("sim?", None),
        ("", None),
    ],
)
def test_typed_answers_are_read_the_way_patients_write_them(text, intent):
    assert read_reply(text) is intent


def test_button_payloads_name_the_appointment_and_the_action():
    payload = button_payload("appt1", ReplyIntent.CANCEL)
    assert read_payload(payload) == ("appt1", ReplyIntent.CANCEL)
    assert read_payload("appt:x:delete") is None and read_payload(None) is None


def test_dates_and_money_are_written_the_brazilian_way():
    formats = BabelFormats()
    at = datetime(2026, 12, 2, 17, 30, tzinfo=UTC)
    assert formats.date_time(at, SP) == "quarta-feira, 2 de dezembro, às 14h30"
    assert formats.date_time(at.replace(minute=0), SP) == "quarta-feira, 2 de dezembro, às 14h"
    assert formats.short_date_time(at, SP) == "qua., 02/12 às 14h30"
    assert formats.money(123456) == "R$ 1.234,56"


# -- the flow -------------------------------------------------------------------------------


@pytest.fixture
async def booked(container, installation, clock):
    """A patient who wrote on the simulator channel, a dentist, and an appointment of
    theirs next Wednesday at 14:30, with its reminders planned."""
    clinic_id = installation.clinic.id
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.hi",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Souza",
            body="Oi, quero marcar uma limpeza",
        )
    )
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    ana = await container.create_professional()(
        NewProfessional(clinic_id=clinic_id, name="Dra. Ana", hours=week)
    )
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(clinic_id=clinic_id, name="Limpeza", duration_minutes=30)
    )
    start = local(datetime(2026, 12, 2).date(), 14, 30)
    appointment = await container.book_appointment()(
        NewAppointment(
            clinic_id=clinic_id,
            customer_id=received.customer_id,
            professional_id=ana.id,
            type_id=cleaning.id,
            start=start,
            chat_id=received.chat_id,
        )
    )
    jobs = await container.plan_appointment_reminders()(clinic_id, appointment.id)
    return SimpleNamespace(
        clinic_id=clinic_id,
        chat_id=received.chat_id,
        customer_id=received.customer_id,
        channel_id=installation.channel.id,
        appointment=appointment,
        ana=ana,
        cleaning=cleaning,
        jobs=jobs,
    )


async def _appointment(container, booked):
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.appointments.get(booked.clinic_id, booked.appointment.id)


async def _chat_messages(container, booked):
    async with container.uow_factory()(read_only=True) as uow:
        page = await uow.messages.list_for_chat(booked.clinic_id, booked.chat_id, limit=50)
    return page.items  # newest first


async def _patient_says(container, booked, pid, body=None, interactive=None):
    kind = MessageKind.INTERACTIVE if interactive else MessageKind.TEXT
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id=pid,
            sender=[Identity.of_phone("+5511987654321")],
            body=body or (interactive or {}).get("title"),
            kind=kind,
            extra={"interactive": interactive} if interactive else {},
        )
    )
    return await container.answer_appointment_reminder()(booked.clinic_id, received.message_id)


async def _remind(container, booked, clock, rule="1d@10:00"):
    clock.current = local(datetime(2026, 12, 1).date(), 10, 0)
    return await container.send_appointment_reminder()(
        booked.clinic_id, booked.appointment.id, rule
    )


async def test_booking_plans_the_day_before_and_two_hours_before(container, booked):
    assert sorted((job.payload["rule"], job.run_at) for job in booked.jobs) == [
        ("1d@10:00", local(datetime(2026, 12, 1).date(), 10, 0)),
        ("2h", local(datetime(2026, 12, 2).date(), 12, 30)),
    ]
    again = await container.plan_appointment_reminders()(booked.clinic_id, booked.appointment.id)
    assert {job.id for job in again} == {job.id for job in booked.jobs}  # idempotent


async def test_cancelling_the_appointment_cancels_its_reminders(container, booked):
    await container.cancel_appointment()(
        Cancellation(clinic_id=booked.clinic_id, appointment_id=booked.appointment.id)
    )
    assert (
        await container.plan_appointment_reminders()(booked.clinic_id, booked.appointment.id) == []
    )
    async with container.uow_factory()(read_only=True) as uow:
        jobs = await uow.jobs.for_subject(booked.clinic_id, reminder_subject(booked.appointment.id))
    assert {job.status for job in jobs} == {JobStatus.CANCELLED}


async def test_the_reminder_asks_with_three_buttons_and_writes_the_date_in_portuguese(
    container, booked, clock
):
    message = await _remind(container, booked, clock)
    assert message is not None and message.kind is MessageKind.INTERACTIVE
    assert message.body == (
        "Olá, Maria! Passando para lembrar da sua consulta: Limpeza com Dra. Ana, "
        "quarta-feira, 2 de dezembro, às 14h30. Podemos confirmar sua presença?"
    )
    assert [b["title"] for b in message.extra["buttons"]] == ["Confirmar", "Remarcar", "Cancelar"]
    async with container.uow_factory()(read_only=True) as uow:
        delivery = await uow.deliveries.get(booked.clinic_id, message.id)
    assert delivery is not None  # the outbound sender sends it


async def test_confirmar_confirms_and_thanks_the_patient(container, booked, clock):
    await _remind(container, booked, clock)
    payload = button_payload(booked.appointment.id, ReplyIntent.CONFIRM)
    answer = await _patient_says(
        container,
        booked,
        "wamid.b1",
        interactive={"type": "button_reply", "id": payload, "title": "Confirmar"},
    )
    assert answer is not None and answer.answer is Answer.CONFIRMED
    assert (await _appointment(container, booked)).status is AppointmentStatus.CONFIRMED
    reply = (await _chat_messages(container, booked))[0]
    assert reply.body == (
        "Obrigado! Sua consulta está confirmada para quarta-feira, 2 de dezembro, às 14h30. Até lá!"
    )
    # The same webhook delivered again does nothing more.
    assert await container.answer_appointment_reminder()(booked.clinic_id, answer.reply_id) is None


async def test_a_typed_refusal_cancels_and_the_first_waitlisted_patient_gets_the_slot(
    container, booked, clock
):
    other = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id="wamid.joana",
            sender=[Identity.of_phone("+5511912345678")],
            sender_name="Joana",
            body="Tem vaga?",
        )
    )
    entry = await container.join_waitlist()(
        WaitlistRequest(
            clinic_id=booked.clinic_id, customer_id=other.customer_id, type_id=booked.cleaning.id
        )
    )
    await _remind(container, booked, clock)
    answer = await _patient_says(container, booked, "wamid.t1", body="Não vou poder ir, desculpa")
    assert answer is not None and answer.answer is Answer.CANCELLED
    assert (await _appointment(container, booked)).status is AppointmentStatus.CANCELLED
    async with container.uow_factory()(read_only=True) as uow:
        offered = await uow.waitlist.get(booked.clinic_id, entry.id)
    assert offered.status is WaitlistStatus.OFFERED

    # Joana is told in her chat, and takes the time with a tap.
    offer = await container.send_waitlist_offer()(booked.clinic_id, entry.id)
    assert offer is not None and offer.chat_id == other.chat_id
    assert offer.body == (
        "Olá, Joana! Abriu um horário para Limpeza com Dra. Ana: quarta-feira, 2 de dezembro, "
        "às 14h30. Quer ficar com ele?"
    )
    tap = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id="wamid.joana2",
            sender=[Identity.of_phone("+5511912345678")],
            kind=MessageKind.INTERACTIVE,
            body="Quero este horário",
            extra={"interactive": {"type": "button_reply", "id": offer.extra["buttons"][0]["id"]}},
        )
    )
    taken = await container.answer_waitlist_offer()(booked.clinic_id, tap.message_id)
    assert taken is not None and taken.accepted and taken.appointment_id is not None
    async with container.uow_factory()(read_only=True) as uow:
        joana = await uow.appointments.get(booked.clinic_id, taken.appointment_id)
        entry_now = await uow.waitlist.get(booked.clinic_id, entry.id)
    assert joana.start == booked.appointment.start and joana.customer_id == other.customer_id
    assert entry_now.status is WaitlistStatus.BOOKED


async def test_remarcar_offers_free_times_and_a_chosen_one_moves_the_appointment(
    container, booked, clock
):
    await _remind(container, booked, clock)
    payload = button_payload(booked.appointment.id, ReplyIntent.RESCHEDULE)
    answer = await _patient_says(
        container,
        booked,
        "wamid.b2",
        interactive={"type": "button_reply", "id": payload, "title": "Remarcar"},
    )
    assert answer is not None and answer.answer is Answer.SLOTS_OFFERED
    offer = (await _chat_messages(container, booked))[0]
    rows = offer.extra["sections"][0]["rows"]
    assert offer.extra["type"] == "list" and 1 <= len(rows) <= 8
    # On a bridge the list is numbered text: "2" picks the second time.
    answer = await _patient_says(container, booked, "wamid.t2", body="2")
    assert answer is not None and answer.answer is Answer.RESCHEDULED
    moved = await _appointment(container, booked)
    assert int(moved.start.timestamp()) == int(rows[1]["id"].rsplit(":", 1)[1])
    assert "remarcada" in (await _chat_messages(container, booked))[0].body


async def test_a_message_that_is_not_an_answer_is_left_alone(container, booked, clock):
    await _remind(container, booked, clock)
    assert await _patient_says(container, booked, "wamid.q", body="Qual o endereço?") is None
    assert (await _appointment(container, booked)).status is AppointmentStatus.REQUESTED


async def test_a_number_without_a_reminder_before_it_means_nothing(container, booked):
    assert await _patient_says(container, booked, "wamid.n", body="1") is None


async def test_a_cloud_api_chat_outside_the_window_gets_the_template_or_a_clear_failure(
    container, booked, clock
):
    async with container.uow_factory()() as uow:
        channel = await uow.channels.get(booked.channel_id)
        channel.provider = type(channel.provider)("cloud_api")
        await uow.channels.save(channel)
        await uow.commit()
    with pytest.raises(JobFailed, match="reminder_template"):
        await _remind(container, booked, clock)
    async with container.uow_factory()() as uow:
        channel = await uow.channels.get(booked.channel_id)
        channel.settings["reminder_template"] = "lembrete_consulta"
        await uow.channels.save(channel)
        await uow.commit()
    message = await _remind(container, booked, clock)
    assert message is not None and message.kind is MessageKind.TEMPLATE
    assert message.extra["name"] == "lembrete_consulta"
    assert message.extra["language"] == "pt_BR"
    body, *replies = message.extra["components"]
    assert [p["text"] for p in body["parameters"]] == [
        "Maria",
        "quarta-feira, 2 de dezembro, às 14h30",
        "Limpeza com Dra. Ana",
    ]
    assert [r["parameters"][0]["payload"] for r in replies] == [
        button_payload(booked.appointment.id, intent) for intent in ReplyIntent
    ]


async def test_no_reminder_for_a_final_or_started_appointment(container, booked, clock):
    clock.current = booked.appointment.start + timedelta(minutes=1)
    assert (
        await container.send_appointment_reminder()(booked.clinic_id, booked.appointment.id, "2h")
        is None
    )


async def test_a_patient_who_declined_reminders_gets_none(container, booked, clock):
    async with container.uow_factory()() as uow:
        customer = await uow.customers.get(booked.clinic_id, booked.customer_id)
        customer.consents[ConsentPurpose.REMINDERS] = Consent(
            purpose=ConsentPurpose.REMINDERS, granted=False, at=clock.now(), source="staff"
        )
        await uow.customers.save(customer)
        await uow.commit()
    assert await _remind(container, booked, clock) is None


async def test_a_waitlisted_patient_may_say_no_and_keeps_waiting(container, booked, clock):
    other = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id="wamid.jo",
            sender=[Identity.of_phone("+5511912345678")],
            sender_name="Joana",
            body="Oi",
        )
    )
    entry = await container.join_waitlist()(
        WaitlistRequest(
            clinic_id=booked.clinic_id, customer_id=other.customer_id, type_id=booked.cleaning.id
        )
    )
    await container.cancel_appointment()(
        Cancellation(clinic_id=booked.clinic_id, appointment_id=booked.appointment.id)
    )
    assert await container.send_waitlist_offer()(booked.clinic_id, entry.id) is not None
    no = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id="wamid.jo2",
            sender=[Identity.of_phone("+5511912345678")],
            body="2",
        )
    )
    answer = await container.answer_waitlist_offer()(booked.clinic_id, no.message_id)
    assert answer is not None and not answer.accepted
    async with container.uow_factory()(read_only=True) as uow:
        assert (await uow.waitlist.get(booked.clinic_id, entry.id)).status is WaitlistStatus.WAITING


async def test_merging_a_duplicate_brings_its_appointments_along(container, booked, clock):
    other = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=booked.channel_id,
            provider_message_id="wamid.dup",
            sender=[Identity.of_phone("+5511912345678")],
            sender_name="Maria (trabalho)",
            body="Oi",
        )
    )
    await container.merge_customers()(
        DuplicateCustomer(
            clinic_id=booked.clinic_id,
            customer_id=other.customer_id,
            duplicate_id=booked.customer_id,
        )
    )
    assert (await _appointment(container, booked)).customer_id == other.customer_id


async def test_a_time_chosen_too_late_is_handed_to_a_person(container, booked, clock):
    await _remind(container, booked, clock)
    payload = button_payload(booked.appointment.id, ReplyIntent.RESCHEDULE)
    await _patient_says(
        container,
        booked,
        "wamid.r1",
        interactive={"type": "button_reply", "id": payload, "title": "Remarcar"},
    )
    rows = (await _chat_messages(container, booked))[0].extra["sections"][0]["rows"]
    clock.current = booked.appointment.start + timedelta(days=30)  # every offered time passed
    answer = await _patient_says(
        container,
        booked,
        "wamid.r2",
        interactive={"type": "list_reply", "id": rows[0]["id"], "title": rows[0]["title"]},
    )
    assert answer is not None and answer.answer is Answer.TOO_LATE
