"""What the secretaries' inbox needs: chats waiting for a person, templates once the 24-hour
window has closed, and the day's figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from porfin_core.domain.channel import MessageTemplate
from porfin_core.domain.chat import ChatMode
from porfin_core.domain.clinic import Role
from porfin_core.domain.customer import Identity
from porfin_core.domain.message import Author, MessageKind
from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.errors import ValidationError
from porfin_core.ports.auth import Principal
from porfin_core.use_cases._outbound import queue_message
from porfin_core.use_cases.get_dashboard import DashboardQuery
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_channel import ChangeChannel
from tests import builders
from tests.unit.test_use_cases import (
    get_chat,
    list_chats,
    receive,
    send,
    text,
    update,
)

JOAO = "+5521998765432"
JOAO_SENDER = {"sender": [Identity.of_phone(JOAO)], "name": "João"}


async def waiting_ids(container, clinic_id: str) -> list[str]:
    return [c.id for c in await list_chats(container, clinic_id, waiting=True)]


# -- waiting for a person -------------------------------------------------------------------


async def test_a_patient_writing_to_a_person_waits_until_staff_answers(
    container, installation, clock
):
    first = await receive(container, text(installation.channel.id, pid="w1"))
    assert (await get_chat(container, first)).waiting_since is None  # the AI has it
    await update(container, first, mode="human", actor_id="ana")
    # Handed to a person with the patient's message unanswered: waiting since that message.
    assert (await get_chat(container, first)).waiting_since == clock.now()
    started = clock.now()
    clock.advance(minutes=3)
    await receive(container, text(installation.channel.id, body="Alô?", pid="w2"))
    chat = await get_chat(container, first)
    assert chat.waiting_since == started  # the oldest unanswered message counts
    assert await waiting_ids(container, first.clinic_id) == [first.chat_id]
    await update(container, first, mark_read=True)  # reading is no answer
    assert (await get_chat(container, first)).waiting_since == started
    clock.advance(minutes=2)
    await send(container, first)
    assert (await get_chat(container, first)).waiting_since is None
    assert await waiting_ids(container, first.clinic_id) == []


async def test_the_oldest_wait_comes_first(container, installation, clock):
    maria = await receive(container, text(installation.channel.id, pid="m1"))
    await update(container, maria, mode="human", actor_id="ana")
    await send(container, maria)  # answered: Maria no longer waits
    clock.advance(minutes=1)
    joao = await receive(container, text(installation.channel.id, pid="j1", **JOAO_SENDER))
    await update(container, joao, mode="paused", paused_until=clock.now() + timedelta(hours=1))
    clock.advance(minutes=1)
    await receive(container, text(installation.channel.id, body="E aí?", pid="m2"))
    clock.advance(minutes=1)
    await receive(container, text(installation.channel.id, body="Oi?", pid="j2", **JOAO_SENDER))
    # João's first message waits since a pause gave the chat to a person; Maria's since her
    # second message: João comes first.
    assert await waiting_ids(container, maria.clinic_id) == [joao.chat_id, maria.chat_id]


async def test_resuming_the_ai_or_closing_ends_the_wait(container, installation, clock):
    received = await receive(container, text(installation.channel.id))
    await update(container, received, mode="human", reason="Pediu orçamento", actor_id="ana")
    assert (await get_chat(container, received)).waiting_since is not None
    await update(container, received, mode="ai")
    assert (await get_chat(container, received)).waiting_since is None
    await update(container, received, mode="human", actor_id="ana")
    assert (await get_chat(container, received)).waiting_since is not None  # still unanswered
    await update(container, received, status="closed")
    chat = await get_chat(container, received)
    assert (chat.waiting_since, chat.unanswered_since) == (None, None)
    clock.advance(minutes=5)
    await receive(container, text(installation.channel.id, body="Oi de novo", pid="w9"))
    chat = await get_chat(container, received)
    assert chat.mode is ChatMode.HUMAN and chat.waiting_since == clock.now()


async def test_a_reaction_asks_for_no_answer_and_a_clinic_phone_reply_answers(
    container, installation, clock
):
    received = await receive(container, text(installation.channel.id))
    await update(container, received, mode="human", actor_id="ana")
    await receive(
        container,
        text(installation.channel.id, body="Certo", pid="phone1", from_clinic_phone=True),
    )
    assert (await get_chat(container, received)).waiting_since is None
    await receive(
        container,
        text(installation.channel.id, body="👍", pid="r1", kind=MessageKind.REACTION),
    )
    assert (await get_chat(container, received)).waiting_since is None


def test_the_ai_s_note_when_handing_off_is_no_answer():
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    chat = builders.chat(now)
    patient = builders.message(now, "p1")
    chat.add_message(patient, now)
    assert (chat.unanswered_since, chat.waiting_since) == (now, None)
    later = now + timedelta(seconds=20)
    chat.hand_off("pediu um humano", later, by="ai:a1")
    chat.add_message(builders.staff_message(later, "note", author=Author.AI), later)
    assert chat.waiting_since == now  # since the patient's message, not the note
    # Once the AI is back in charge, its answer ends the wait.
    chat.resume_ai(later)
    chat.add_message(builders.message(later, "p2"), later)
    chat.add_message(builders.staff_message(later, "ai2", author=Author.AI), later)
    assert (chat.unanswered_since, chat.waiting_since) == (None, None)


# -- templates ---------------------------------------------------------------------------------


def test_a_template_is_checked_as_whatsapp_takes_it():
    template = MessageTemplate.of("retorno", "Olá {{1}}, sua consulta é {{2}}.")
    assert (template.language, template.parameter_count) == ("pt_BR", 2)
    assert template.render(["Maria", "amanhã"]) == "Olá Maria, sua consulta é amanhã."
    for name, body, field in [
        ("Retorno", "Oi", "templates.name"),
        ("retorno", "Oi {{2}}", "templates.body"),
        ("retorno", "  ", "templates.body"),
    ]:
        with pytest.raises(ValidationError) as info:
            MessageTemplate.of(name, body)
        assert info.value.fields["field"] == field
    for parameters in (["Maria"], ["Maria", " "], ["Maria", "a\nb"], ["Maria", "a      b"]):
        with pytest.raises(ValidationError) as info:
            template.render(parameters)
        assert info.value.fields["field"] == "template.parameters"


async def _with_templates(container, installation) -> None:
    await container.update_channel()(
        ChangeChannel(
            clinic_id=installation.clinic.id,
            channel_id=installation.channel.id,
            templates=[
                {"name": "retorno", "body": "Olá {{1}}, podemos falar sobre {{2}}?"},
                {"name": "retorno", "language": "en_US", "body": "Hi {{1}}!"},
            ],
        )
    )


def template_send(received, name="retorno", parameters=("Maria", "o orçamento"), **fields):
    return SendText(
        clinic_id=received.clinic_id,
        chat_id=received.chat_id,
        author_id="ana",
        template=name,
        template_parameters=list(parameters),
        **fields,
    )


async def test_staff_send_a_template_after_the_window_closed(container, installation, clock):
    await _with_templates(container, installation)
    received = await receive(container, text(installation.channel.id))
    clock.advance(hours=30)
    message = await container.send_staff_message()(template_send(received))
    assert message.kind is MessageKind.TEMPLATE
    assert message.body == "Olá Maria, podemos falar sobre o orçamento?"
    assert message.extra == {
        "name": "retorno",
        "language": "pt_BR",
        "components": [
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Maria"},
                    {"type": "text", "text": "o orçamento"},
                ],
            }
        ],
    }
    sent = list(container.simulator_gateway().sent)
    assert [(s.kind, s.body) for s in sent] == [("template", message.body)]
    chat = await get_chat(container, received)
    assert (chat.mode, chat.assignee_id, chat.waiting_since) == (ChatMode.HUMAN, "ana", None)
    english = await container.send_staff_message()(
        template_send(received, parameters=["Mary"], template_language="en_US")
    )
    assert english.body == "Hi Mary!"


async def test_an_unknown_template_or_wrong_parameters_are_refused(container, installation):
    await _with_templates(container, installation)
    received = await receive(container, text(installation.channel.id))
    cases = [
        (template_send(received, name="promocao"), "template.name"),
        (template_send(received, template_language="es_ES"), "template.name"),
        (template_send(received, parameters=["Maria"]), "template.parameters"),
        (template_send(received, text="oi"), "template"),
    ]
    for command, field in cases:
        with pytest.raises(ValidationError) as info:
            await container.send_staff_message()(command)
        assert info.value.fields["field"] == field, command
    assert list(container.simulator_gateway().sent) == []


async def test_templates_are_listed_for_anyone_who_writes(container, installation):
    await _with_templates(container, installation)
    templates = await container.list_channel_templates()(
        installation.clinic.id, installation.channel.id
    )
    assert [(t.name, t.language, t.parameter_count) for t in templates] == [
        ("retorno", "pt_BR", 2),
        ("retorno", "en_US", 1),
    ]
    with pytest.raises(ValidationError):  # listed twice
        await container.update_channel()(
            ChangeChannel(
                clinic_id=installation.clinic.id,
                channel_id=installation.channel.id,
                templates=[{"name": "a", "body": "x"}, {"name": "a", "body": "y"}],
            )
        )


# -- the day's figures -------------------------------------------------------------------------


async def test_the_dashboard_counts_the_clinic_day(container, installation, clock):
    # 10:00 in São Paulo: Maria writes, the AI answers 30 s later.
    maria = await receive(container, text(installation.channel.id, pid="d1"))
    async with container.uow_factory()() as uow:
        chat = await uow.chats.get(maria.clinic_id, maria.chat_id)
        customer = await uow.customers.get(maria.clinic_id, maria.customer_id)
        at = clock.advance(seconds=30)
        await queue_message(
            uow,
            chat=chat,
            customer=customer,
            kind=MessageKind.TEXT,
            body="Olá!",
            extra={},
            now=at,
            ids=container.ids(),
            author=Author.AI,
        )
        await uow.commit()
    # 11:00: João writes; a person takes over and answers 90 s later.
    clock.advance(minutes=59, seconds=30)
    joao = await receive(container, text(installation.channel.id, pid="d2", **JOAO_SENDER))
    await update(container, joao, mode="human", actor_id="ana")
    clock.advance(seconds=90)
    await send(container, joao)
    # 11:10: João writes again and waits.
    clock.advance(minutes=8, seconds=30)
    await receive(
        container, text(installation.channel.id, body="Mais uma coisa", pid="d3", **JOAO_SENDER)
    )
    clock.advance(minutes=5)
    figures = await container.get_dashboard()(DashboardQuery(clinic_id=maria.clinic_id))
    assert figures.day == date(2026, 11, 25)
    assert figures.appointments_total == 0
    assert set(figures.appointments_by_status) == {s.value for s in AppointmentStatus}
    assert (figures.chats_waiting, figures.longest_wait_seconds) == (1, 300)
    assert figures.new_leads == 2
    assert (figures.first_response_median_seconds, figures.first_response_count) == (60, 2)
    assert (figures.chats_handled_ai, figures.chats_handled_human) == (1, 1)
    hours = [0] * 24
    hours[10], hours[11] = 1, 2
    assert figures.patient_messages_by_hour == hours
    # A secretary counts the waiting chats she may see (João's is Ana's).
    bia = Principal(user_id="bia", clinic_id=maria.clinic_id, role=Role.SECRETARY)
    hers = await container.get_dashboard()(DashboardQuery(clinic_id=maria.clinic_id, viewer=bia))
    assert (hers.chats_waiting, hers.longest_wait_seconds) == (0, None)
    # The day before: nothing.
    before = await container.get_dashboard()(
        DashboardQuery(clinic_id=maria.clinic_id, day=date(2026, 11, 24))
    )
    assert (before.new_leads, before.first_response_count) == (0, 0)
    assert before.patient_messages_by_hour == [0] * 24


def test_joining_two_chats_of_one_person_keeps_the_older_wait():
    now = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
    kept, other = builders.chat(now), builders.chat(now, chat_id="chat2")
    other.turn_ai_off(now)
    other.add_message(builders.message(now, "p1", chat_id="chat2"), now)
    later = now + timedelta(minutes=5)
    kept.add_message(builders.message(later, "p2"), later)
    kept.absorb(other, later)
    assert kept.mode is ChatMode.HUMAN
    assert (kept.unanswered_since, kept.waiting_since) == (now, now)
