"""Chat: the 24-hour window, who answers, open/closed, and the events it records."""

from __future__ import annotations

from datetime import timedelta

import pytest

from porfin_core.domain.chat import SERVICE_WINDOW, Chat, ChatMode, ChatStatus
from porfin_core.domain.events import (
    ChatAssigned,
    ChatClosed,
    ChatModeChanged,
    ChatOpened,
    ChatRead,
)
from porfin_core.domain.message import Author, DeliveryStatus, Direction, Message, MessageKind
from porfin_core.errors import InvalidStateTransition, ValidationError
from tests import builders
from tests.support import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def chat(clock) -> Chat:
    return builders.chat(clock.now())


def inbound(clock, body="Olá", sent_at=None, message_id="msg1") -> Message:
    msg = builders.message(clock.now(), message_id=message_id, body=body)
    msg.sent_at = sent_at
    return msg


def outbound(clock, author=Author.STAFF, body="Bom dia!") -> Message:
    return Message(
        id="out1",
        clinic_id="clinic1",
        chat_id="chat1",
        channel_id="chan1",
        direction=Direction.OUTBOUND,
        author=author,
        kind=MessageKind.TEXT,
        body=body,
        status=DeliveryStatus.PENDING,
        created_at=clock.now(),
    )


# -- start ---------------------------------------------------------------------------------


def test_a_new_chat_is_open_in_ai_mode_and_records_it(clock):
    chat = Chat.start(
        id="chat1",
        clinic_id="clinic1",
        customer_id="cust1",
        channel_id="chan1",
        customer_name="Maria",
        customer_phone="+5511987654321",
        at=clock.now(),
    )
    assert chat.status is ChatStatus.OPEN
    assert chat.mode is ChatMode.AI
    assert chat.assignee_id is None
    assert chat.unread_count == 0
    assert chat.last_inbound_at is None
    assert chat.created_at == chat.last_message_at == clock.now()
    assert chat.pull_events() == [
        ChatOpened(
            clinic_id="clinic1",
            occurred_at=clock.now(),
            chat_id="chat1",
            customer_id="cust1",
            reopened=False,
        )
    ]
    assert chat.pull_events() == []


# -- the 24-hour window ----------------------------------------------------------------------


def test_no_window_before_the_patient_writes(chat, clock):
    assert chat.window_expires_at() is None
    assert not chat.window_open(clock.now())


def test_a_patient_message_opens_the_window_for_24_hours(chat, clock):
    start = clock.now()
    chat.add_message(inbound(clock), start)
    assert chat.last_inbound_at == start
    assert chat.window_expires_at() == start + SERVICE_WINDOW == start + timedelta(hours=24)
    assert chat.window_open(start)
    assert chat.window_open(start + timedelta(hours=23, minutes=59, seconds=59))
    assert not chat.window_open(start + timedelta(hours=24))
    assert not chat.window_open(start + timedelta(days=3))


def test_the_window_counts_from_the_providers_timestamp(chat, clock):
    sent = clock.now() - timedelta(minutes=10)
    chat.add_message(inbound(clock, sent_at=sent), clock.now())
    assert chat.last_inbound_at == sent
    assert chat.window_expires_at() == sent + SERVICE_WINDOW


def test_a_late_older_message_does_not_shorten_the_window(chat, clock):
    chat.add_message(inbound(clock), clock.now())
    older = inbound(clock, sent_at=clock.now() - timedelta(hours=5), message_id="msg0")
    chat.add_message(older, clock.now() + timedelta(minutes=1))
    assert chat.last_inbound_at == clock.now()


def test_a_newer_message_extends_the_window(chat, clock):
    chat.add_message(inbound(clock), clock.now())
    later = clock.advance(hours=20)
    chat.add_message(inbound(clock, message_id="msg2"), later)
    assert chat.window_expires_at() == later + SERVICE_WINDOW


def test_clinic_messages_do_not_open_the_window(chat, clock):
    chat.add_message(outbound(clock), clock.now())
    chat.add_message(outbound(clock, author=Author.CLINIC_PHONE), clock.now())
    assert chat.last_inbound_at is None
    assert not chat.window_open(clock.now())


# -- who answers -----------------------------------------------------------------------------


def test_ai_answers_a_new_chat(chat, clock):
    assert chat.effective_mode(clock.now()) is ChatMode.AI
    assert chat.ai_may_reply(clock.now())


def test_turning_the_ai_off(chat, clock):
    chat.turn_ai_off(clock.now(), by="user1")
    assert chat.mode is ChatMode.HUMAN
    assert chat.handoff_reason == "ai_turned_off"
    assert not chat.ai_may_reply(clock.now())
    assert chat.pull_events() == [
        ChatModeChanged(
            clinic_id="clinic1",
            occurred_at=clock.now(),
            chat_id="chat1",
            mode="human",
            reason="ai_turned_off",
            changed_by="user1",
        )
    ]


def test_hand_off_keeps_the_reason_stripped(chat, clock):
    chat.hand_off("  Paciente quer falar com a dentista  ", clock.now(), by="user1")
    assert chat.mode is ChatMode.HUMAN
    assert chat.handoff_reason == "Paciente quer falar com a dentista"
    [event] = chat.pull_events()
    assert isinstance(event, ChatModeChanged)
    assert event.reason == "Paciente quer falar com a dentista"


@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_hand_off_needs_a_reason(chat, clock, reason):
    with pytest.raises(ValidationError) as info:
        chat.hand_off(reason, clock.now())
    assert info.value.fields == {"field": "reason"}
    assert chat.mode is ChatMode.AI
    assert chat.pull_events() == []


def test_pause_silences_the_ai_until_it_expires(chat, clock):
    now = clock.now()
    until = now + timedelta(hours=2)
    chat.pause_ai(until, now, by="user1")
    assert chat.mode is ChatMode.PAUSED
    assert chat.paused_until == until
    assert chat.effective_mode(now) is ChatMode.PAUSED
    assert not chat.ai_may_reply(now + timedelta(hours=1, minutes=59))
    assert chat.effective_mode(until) is ChatMode.AI
    assert chat.ai_may_reply(until)
    assert chat.ai_may_reply(until + timedelta(days=1))
    # The stored mode stays "paused": the expiry is read, not written.
    assert chat.mode is ChatMode.PAUSED
    [event] = chat.pull_events()
    assert event == ChatModeChanged(
        clinic_id="clinic1",
        occurred_at=now,
        chat_id="chat1",
        mode="paused",
        paused_until=until,
        changed_by="user1",
    )


@pytest.mark.parametrize("offset", [timedelta(0), timedelta(seconds=-1), timedelta(hours=-3)])
def test_a_pause_must_end_in_the_future(chat, clock, offset):
    with pytest.raises(ValidationError) as info:
        chat.pause_ai(clock.now() + offset, clock.now())
    assert info.value.fields == {"field": "paused_until"}
    assert chat.mode is ChatMode.AI


def test_resume_clears_pause_and_reason(chat, clock):
    chat.hand_off("orçamento", clock.now())
    chat.resume_ai(clock.now(), by="user1")
    assert chat.mode is ChatMode.AI
    assert chat.handoff_reason is None
    assert chat.paused_until is None
    assert [e.mode for e in chat.pull_events()] == ["human", "ai"]


def test_setting_the_same_mode_again_records_nothing(chat, clock):
    chat.resume_ai(clock.now())
    assert chat.pull_events() == []
    chat.turn_ai_off(clock.now())
    chat.turn_ai_off(clock.now())
    until = clock.now() + timedelta(hours=1)
    chat.pause_ai(until, clock.now())
    chat.pause_ai(until, clock.now())
    assert [e.mode for e in chat.pull_events()] == ["human", "paused"]


def test_a_longer_pause_is_a_change(chat, clock):
    chat.pause_ai(clock.now() + timedelta(hours=1), clock.now())
    chat.pause_ai(clock.now() + timedelta(hours=2), clock.now())
    assert chat.paused_until == clock.now() + timedelta(hours=2)
    assert len(chat.pull_events()) == 2


def test_the_ai_never_answers_a_closed_chat(chat, clock):
    chat.close(clock.now())
    assert chat.effective_mode(clock.now()) is ChatMode.AI
    assert not chat.ai_may_reply(clock.now())


def test_a_message_typed_on_the_clinic_phone_stops_the_ai(chat, clock):
    chat.add_message(outbound(clock, author=Author.CLINIC_PHONE), clock.now())
    assert chat.mode is ChatMode.HUMAN
    assert chat.handoff_reason == "clinic_phone_reply"
    assert not chat.ai_may_reply(clock.now())
    [event] = chat.pull_events()
    assert isinstance(event, ChatModeChanged)
    assert event.reason == "clinic_phone_reply"
    assert event.changed_by is None


def test_a_clinic_phone_message_keeps_an_existing_handoff_reason(chat, clock):
    chat.hand_off("implante", clock.now())
    chat.pull_events()
    chat.add_message(outbound(clock, author=Author.CLINIC_PHONE), clock.now())
    assert chat.handoff_reason == "implante"
    assert chat.pull_events() == []


def test_a_clinic_phone_message_ends_a_pause(chat, clock):
    chat.pause_ai(clock.now() + timedelta(hours=1), clock.now())
    chat.add_message(outbound(clock, author=Author.CLINIC_PHONE), clock.now())
    assert chat.mode is ChatMode.HUMAN
    assert chat.paused_until is None


@pytest.mark.parametrize("author", [Author.STAFF, Author.AI, Author.SYSTEM])
def test_other_outbound_messages_leave_the_mode_alone(chat, clock, author):
    chat.add_message(outbound(clock, author=author), clock.now())
    assert chat.mode is ChatMode.AI
    assert chat.pull_events() == []


# -- inbox state -------------------------------------------------------------------------------


def test_assign_and_unassign(chat, clock):
    chat.assign("user1", clock.now())
    chat.assign("user1", clock.now())  # no change, no event
    chat.assign(None, clock.now())
    assert chat.assignee_id is None
    assert chat.pull_events() == [
        ChatAssigned(
            clinic_id="clinic1",
            occurred_at=clock.now(),
            chat_id="chat1",
            assignee_id=a,
            previous_assignee_id=previous,
        )
        for a, previous in (("user1", None), (None, "user1"))
    ]


def test_close_clears_unread_and_records_it(chat, clock):
    chat.add_message(inbound(clock), clock.now())
    chat.close(clock.now())
    assert chat.status is ChatStatus.CLOSED
    assert chat.unread_count == 0
    assert chat.pull_events() == [
        ChatClosed(clinic_id="clinic1", occurred_at=clock.now(), chat_id="chat1")
    ]


def test_closing_a_closed_chat_is_an_error(chat, clock):
    chat.close(clock.now())
    with pytest.raises(InvalidStateTransition) as info:
        chat.close(clock.now())
    assert info.value.code == "invalid_state"
    assert info.value.fields == {"chat_id": "chat1"}


def test_reopening_an_open_chat_is_an_error(chat, clock):
    with pytest.raises(InvalidStateTransition):
        chat.reopen(clock.now())


def test_reopen(chat, clock):
    chat.close(clock.now())
    chat.pull_events()
    chat.reopen(clock.now())
    assert chat.status is ChatStatus.OPEN
    assert chat.pull_events() == [
        ChatOpened(
            clinic_id="clinic1",
            occurred_at=clock.now(),
            chat_id="chat1",
            customer_id="cust1",
            reopened=True,
        )
    ]


def test_a_patient_message_reopens_a_closed_chat(chat, clock):
    chat.close(clock.now())
    chat.pull_events()
    later = clock.advance(days=2)
    chat.add_message(inbound(clock), later)
    assert chat.status is ChatStatus.OPEN
    assert chat.unread_count == 1
    [event] = chat.pull_events()
    assert isinstance(event, ChatOpened)
    assert event.reopened


def test_a_staff_message_does_not_reopen_by_itself(chat, clock):
    chat.close(clock.now())
    chat.add_message(outbound(clock), clock.now())
    assert chat.status is ChatStatus.CLOSED


def test_unread_counts_patient_messages_only(chat, clock):
    chat.add_message(inbound(clock), clock.now())
    chat.add_message(inbound(clock, message_id="msg2"), clock.now())
    chat.add_message(outbound(clock), clock.now())
    assert chat.unread_count == 2
    chat.pull_events()
    chat.mark_read(clock.now(), by="ana")
    assert chat.unread_count == 0
    chat.mark_read(clock.now(), by="ana")  # nothing unread: no event
    assert chat.pull_events() == [
        ChatRead(clinic_id="clinic1", occurred_at=clock.now(), chat_id="chat1", read_by="ana")
    ]


def test_last_message_and_preview_follow_the_newest_message(chat, clock):
    chat.add_message(inbound(clock, body="Olá,\n  quero   marcar"), clock.advance(minutes=1))
    assert chat.last_message_at == clock.now()
    assert chat.last_message_preview == "Olá, quero marcar"
    chat.add_message(outbound(clock, body="Claro!"), clock.now() - timedelta(minutes=5))
    assert chat.last_message_preview == "Olá, quero marcar"  # older: not the last message
    chat.add_message(outbound(clock, body="Que dia?"), clock.advance(minutes=1))
    assert chat.last_message_preview == "Que dia?"
    assert chat.last_message_at == clock.now()


def test_preview_of_long_or_empty_messages(chat, clock):
    chat.add_message(inbound(clock, body="a" * 200), clock.now())
    assert len(chat.last_message_preview) == 80
    assert chat.last_message_preview.endswith("…")
    sticker = inbound(clock, body=None, message_id="msg2")
    sticker.kind = MessageKind.STICKER
    chat.add_message(sticker, clock.now())
    assert chat.last_message_preview == "[sticker]"
