"""Message delivery status: only ever forward, whatever order the provider reports it in."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from porfin_core.domain.events import MessageCreated, MessageStatusChanged
from porfin_core.domain.message import (
    Author,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    MessageKind,
    StatusChange,
    preview,
)
from tests.support import FixedClock

S = DeliveryStatus

# The order statuses move in. ``failed`` outranks ``sent`` (the provider gave up after
# accepting); a later ``delivered`` or ``read`` proves the message arrived after all.
PROGRESS = [S.RECEIVED, S.PENDING, S.SENT, S.FAILED, S.DELIVERED, S.READ, S.PLAYED]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


def outbound(clock, status: DeliveryStatus = S.PENDING) -> Message:
    return Message(
        id="msg1",
        clinic_id="clinic1",
        chat_id="chat1",
        channel_id="chan1",
        direction=Direction.OUTBOUND,
        author=Author.STAFF,
        kind=MessageKind.TEXT,
        body="Olá",
        status=status,
        history=[StatusChange(status, clock.now())],
        created_at=clock.now(),
    )


@pytest.mark.parametrize(
    ("current", "new"),
    list(itertools.product(PROGRESS, PROGRESS)),
    ids=lambda s: s.value,
)
def test_status_only_moves_forward(clock, current, new):
    message = outbound(clock, current)
    at = clock.now() + timedelta(seconds=5)
    forward = PROGRESS.index(new) > PROGRESS.index(current)
    assert message.apply_status(StatusChange(new, at)) is forward
    if forward:
        assert message.status is new
        assert message.history[-1] == StatusChange(new, at)
        assert message.pull_events() == [
            MessageStatusChanged(
                clinic_id="clinic1",
                occurred_at=at,
                chat_id="chat1",
                message_id="msg1",
                status=new.value,
            )
        ]
    else:
        assert message.status is current
        assert len(message.history) == 1
        assert message.pull_events() == []


def test_a_late_delivered_does_not_downgrade_read(clock):
    message = outbound(clock, S.SENT)
    assert message.apply_status(StatusChange(S.READ, clock.advance(seconds=2)))
    assert not message.apply_status(StatusChange(S.DELIVERED, clock.advance(seconds=1)))
    assert message.status is S.READ
    assert [c.status for c in message.history] == [S.SENT, S.READ]


def test_read_may_come_without_delivered(clock):
    message = outbound(clock, S.SENT)
    assert message.apply_status(StatusChange(S.READ, clock.now()))
    assert message.status is S.READ


def test_failed_keeps_its_error_code(clock):
    message = outbound(clock, S.SENT)
    failure = StatusChange(S.FAILED, clock.now(), error_code="131047", error_detail="Re-engage")
    assert message.apply_status(failure)
    assert message.failure == failure
    assert not message.apply_status(StatusChange(S.SENT, clock.now()))
    assert message.failure == failure
    [event] = message.pull_events()
    assert isinstance(event, MessageStatusChanged)
    assert event.error_code == "131047"


def test_a_later_delivered_overrides_failed(clock):
    message = outbound(clock, S.SENT)
    message.apply_status(StatusChange(S.FAILED, clock.now(), error_code="131000"))
    assert message.apply_status(StatusChange(S.DELIVERED, clock.now()))
    assert message.failure is None
    assert message.history[-2].error_code == "131000"  # the history remembers


def test_no_failure_unless_failed(clock):
    assert outbound(clock, S.SENT).failure is None


def test_accepted_names_the_message_and_marks_it_sent(clock):
    message = outbound(clock)
    message.accepted("wamid.1", clock.now())
    assert message.provider_message_id == "wamid.1"
    assert message.status is S.SENT
    assert message.history[-1] == StatusChange(S.SENT, clock.now())


def test_accepted_after_a_status_already_applied_keeps_the_better_one(clock):
    message = outbound(clock)
    message.apply_status(StatusChange(S.DELIVERED, clock.now()))
    message.accepted("wamid.1", clock.now())
    assert message.provider_message_id == "wamid.1"
    assert message.status is S.DELIVERED


def test_created_records_the_event(clock):
    message = outbound(clock)
    message.created()
    assert message.pull_events() == [
        MessageCreated(
            clinic_id="clinic1",
            occurred_at=clock.now(),
            chat_id="chat1",
            message_id="msg1",
            direction="outbound",
            author="staff",
            kind="text",
            short_text="Olá",  # short texts ride along, for handlers looking for answers
        )
    ]


@pytest.mark.parametrize(
    ("body", "kind", "expected"),
    [
        ("Olá", MessageKind.TEXT, "Olá"),
        ("  várias\n\nlinhas\t aqui ", MessageKind.TEXT, "várias linhas aqui"),
        (None, MessageKind.AUDIO, "[audio]"),
        ("", MessageKind.IMAGE, "[image]"),
        ("x" * 80, MessageKind.TEXT, "x" * 80),
        ("x" * 81, MessageKind.TEXT, "x" * 79 + "…"),
    ],
)
def test_preview(clock, body, kind, expected):
    message = outbound(clock)
    message.body, message.kind = body, kind
    if kind is not MessageKind.TEXT:
        message.media = MediaRef(mime_type="application/octet-stream")
    assert preview(message) == expected
