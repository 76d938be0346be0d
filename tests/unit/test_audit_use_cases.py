"""What the use cases record in the audit trail, and reading and verifying it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from porfin_core.domain.audit import Actor, ActorKind, AuditRecord, BreakKind
from porfin_core.domain.customer import Identity
from porfin_core.errors import NotFound, StorageUnavailable, ValidationError, WindowClosed
from porfin_core.ports.audit import AuditQuery
from porfin_core.use_cases.get_chat import GetChat
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_chat import ChangeChat

AT = datetime(2026, 11, 25, 13, 0, 0, 123456, tzinfo=UTC)
ANA = Actor(id="ana", kind=ActorKind.USER, source="198.51.100.4", request_id="req-9")


# -- what the use cases record ----------------------------------------------------------------


async def audit_records(container, clinic_id: str) -> list[AuditRecord]:
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


@pytest.fixture
async def maria(container, installation):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.1",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Silva",
            body="Olá",
        )
    )


async def test_the_first_start_records_the_clinic_and_channel_it_creates(
    container, installation, clock
):
    records = await audit_records(container, installation.clinic.id)
    assert [(r.seq, r.action, r.resource_type, r.resource_id) for r in records] == [
        (1, "clinic.create", "clinic", installation.clinic.id),
        (2, "channel.create", "channel", installation.channel.id),
    ]
    assert {(r.actor_id, r.actor_kind, r.source, r.at) for r in records} == {
        ("system", "system", "system", clock.now())
    }
    await container.set_up_installation()()  # a later start creates and records nothing
    assert len(await audit_records(container, installation.clinic.id)) == 2


async def test_an_inbound_message_is_not_audited(container, installation, maria):
    assert len(await audit_records(container, installation.clinic.id)) == 2


async def test_reading_a_chat_is_recorded(container, installation, maria, clock):
    clock.advance(minutes=5)
    await container.get_chat()(maria.clinic_id, maria.chat_id, actor=ANA)
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_type, record.resource_id) == (
        "chat.read",
        "chat",
        maria.chat_id,
    )
    assert (record.actor_id, record.actor_kind, record.source, record.request_id) == (
        "ana",
        "user",
        "198.51.100.4",
        "req-9",
    )
    assert record.at == clock.now()
    assert record.details == {"customer_id": maria.customer_id}


async def test_a_read_without_an_actor_is_the_systems(container, maria):
    await container.get_chat()(maria.clinic_id, maria.chat_id)
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.actor_id, record.actor_kind, record.source) == ("system", "system", "system")


async def test_reading_a_missing_chat_records_nothing(container, installation):
    with pytest.raises(NotFound):
        await container.get_chat()(installation.clinic.id, "nope", actor=ANA)
    assert len(await audit_records(container, installation.clinic.id)) == 2


async def test_reading_the_timeline_is_recorded(container, maria):
    page = await container.get_chat_timeline()(
        TimelineQuery(clinic_id=maria.clinic_id, chat_id=maria.chat_id, actor=ANA)
    )
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_id, record.actor_id) == (
        "messages.read",
        maria.chat_id,
        "ana",
    )
    assert record.details == {"customer_id": maria.customer_id, "count": str(len(page.items))}


class _NoCommit:
    """A unit-of-work factory whose write units of work fail to commit."""

    def __init__(self, inner) -> None:
        self._inner = inner

    def __call__(self, *, read_only: bool = False):
        uow = self._inner(read_only=read_only)
        if not read_only:

            async def commit() -> None:
                raise StorageUnavailable("disk full")

            uow.commit = commit
        return uow


async def test_a_read_that_cannot_be_recorded_returns_nothing(container, maria, clock):
    get_chat = GetChat(uow_factory=_NoCommit(container.uow_factory()), clock=clock)
    with pytest.raises(StorageUnavailable):
        await get_chat(maria.clinic_id, maria.chat_id, actor=ANA)


async def test_a_chat_update_and_its_record_commit_together(container, maria, clock):
    await container.update_chat()(
        ChangeChat(
            clinic_id=maria.clinic_id,
            chat_id=maria.chat_id,
            actor_id="ana",
            actor=ANA,
            mode="human",
            reason="Paciente pediu",
            mark_read=True,
        )
    )
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_id, record.actor_id, record.source) == (
        "chat.update",
        maria.chat_id,
        "ana",
        "198.51.100.4",
    )
    assert record.details == {"mode": "human", "reason": "Paciente pediu", "mark_read": "true"}


async def test_a_chat_update_by_actor_id_only_is_recorded_as_that_user(container, maria):
    until = datetime(2026, 11, 26, tzinfo=UTC)
    await container.update_chat()(
        ChangeChat(
            clinic_id=maria.clinic_id,
            chat_id=maria.chat_id,
            actor_id="bia",
            mode="paused",
            paused_until=until,
            assignee_id="bia",
            status="closed",
        )
    )
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.actor_id, record.actor_kind, record.source) == ("bia", "user", "system")
    assert record.details == {
        "mode": "paused",
        "paused_until": until.isoformat(),
        "assignee_id": "bia",
        "status": "closed",
    }


async def test_a_refused_update_records_nothing(container, maria):
    before = await audit_records(container, maria.clinic_id)
    with pytest.raises(ValidationError):
        await container.update_chat()(
            ChangeChat(clinic_id=maria.clinic_id, chat_id=maria.chat_id, status="reopened")
        )
    assert await audit_records(container, maria.clinic_id) == before


async def test_sending_a_message_is_recorded(container, maria):
    message = await container.send_staff_message()(
        SendText(clinic_id=maria.clinic_id, chat_id=maria.chat_id, author_id="ana", text="Oi")
    )
    record = (await audit_records(container, maria.clinic_id))[-1]
    assert (record.action, record.resource_type, record.resource_id) == (
        "message.send",
        "message",
        message.id,
    )
    assert (record.actor_id, record.actor_kind) == ("ana", "user")
    assert record.details == {"chat_id": maria.chat_id, "customer_id": maria.customer_id}


async def test_a_refused_send_records_nothing(container, maria, clock):
    before = await audit_records(container, maria.clinic_id)
    clock.advance(hours=25)
    with pytest.raises(WindowClosed):
        await container.send_staff_message()(
            SendText(clinic_id=maria.clinic_id, chat_id=maria.chat_id, author_id="a", text="Oi")
        )
    assert await audit_records(container, maria.clinic_id) == before


# -- reading and verifying the log ---------------------------------------------------------------


async def test_list_audit_records(container, maria, clock):
    clock.advance(minutes=1)
    await container.get_chat()(maria.clinic_id, maria.chat_id, actor=ANA)
    page = await container.list_audit_records()(
        AuditQuery(clinic_id=maria.clinic_id, actor_id="ana")
    )
    assert [(r.seq, r.action) for r in page.items] == [(3, "chat.read")]
    page = await container.list_audit_records()(
        AuditQuery(clinic_id=maria.clinic_id, since=clock.now() - timedelta(seconds=1))
    )
    assert [r.seq for r in page.items] == [3]


@pytest.mark.parametrize(
    "changes",
    [
        {"since": datetime(2026, 1, 1)},
        {"until": datetime(2026, 1, 1)},
        {"since": AT, "until": AT},
        {"limit": 0},
        {"cursor": "x"},
    ],
)
async def test_list_audit_records_validation(container, installation, changes):
    with pytest.raises(ValidationError):
        await container.list_audit_records()(
            AuditQuery(clinic_id=installation.clinic.id, **changes)
        )


async def test_verify_the_log(container, maria):
    await container.get_chat()(maria.clinic_id, maria.chat_id, actor=ANA)
    [report] = await container.verify_audit_log()()
    assert report.ok and (report.clinic_id, report.records) == (maria.clinic_id, 3)

    table = container.storage().uow_factory.store.tables["audit"]
    table[f"{maria.clinic_id}|{2:012d}"]["resource_id"] = "another"
    [report] = await container.verify_audit_log()(maria.clinic_id)
    assert (report.broken.seq, report.broken.kind) == (2, BreakKind.MODIFIED)


@pytest.mark.parametrize(
    "changes",
    [
        {"since": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=5)))},
        {"until": datetime(9999, 12, 31, 23, 59, tzinfo=timezone(timedelta(hours=-5)))},
        {"cursor": "WzEsOTIyMzM3MjAzNjg1NDc3NTgwOF0"},  # [1, 2**63]
        {"cursor": "W3RydWUsMV0"},  # [true, 1]
    ],
)
async def test_list_audit_records_refuses_what_storage_cannot_hold(
    container, installation, changes
):
    with pytest.raises(ValidationError):
        await container.list_audit_records()(
            AuditQuery(clinic_id=installation.clinic.id, **changes)
        )
