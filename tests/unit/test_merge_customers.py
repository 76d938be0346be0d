"""Merging two customers who are one person: the domain rules and the use case."""

from __future__ import annotations

from datetime import timedelta

import pytest

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.chat import ChatMode, ChatStatus
from porfin_core.domain.customer import (
    MAX_TAGS,
    Consent,
    ConsentPurpose,
    FunnelStage,
    Identity,
    IdentityKind,
    further_along,
)
from porfin_core.domain.events import ChatModeChanged, ChatOpened, CustomersMerged
from porfin_core.errors import Conflict, NotFound, ValidationError
from porfin_core.ports.storage import ChatQuery, CustomerQuery
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.merge_customers import DuplicateCustomer
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.update_chat import ChangeChat
from porfin_core.use_cases.update_customer import ChangeCustomer
from tests import builders
from tests.unit.conftest import committed_events

BETO = Actor(id="beto", kind=ActorKind.USER, source="198.51.100.4", request_id="req-7")
MARIA = "+5511987654321"
MARIA_NEW = "+5511912345678"


# -- domain -----------------------------------------------------------------------------------


def test_the_stage_further_along_the_funnel_wins_and_lost_ranks_last():
    assert further_along(FunnelStage.NEW_LEAD, FunnelStage.SCHEDULED) is FunnelStage.SCHEDULED
    assert further_along(FunnelStage.PAID, FunnelStage.QUALIFIED) is FunnelStage.PAID
    assert further_along(FunnelStage.LOST, FunnelStage.NEW_LEAD) is FunnelStage.NEW_LEAD
    assert further_along(FunnelStage.CONTACTED, FunnelStage.LOST) is FunnelStage.CONTACTED


def test_the_survivor_gains_what_the_duplicate_knew(clock):
    survivor = builders.customer(clock.now(), "c1", phone=MARIA, name="Maria Silva")
    survivor.retag(["vip"])
    survivor.decide_consent(ConsentPurpose.MARKETING, True, at=clock.now(), by="ana")
    duplicate = builders.customer(clock.now() - timedelta(days=3), "c2", phone=MARIA_NEW)
    duplicate.add_identity(Identity(IdentityKind.BSUID, "BR.42"))
    duplicate.retag(["implante", "vip"])
    duplicate.move_to(FunnelStage.SCHEDULED)
    later = clock.now() + timedelta(minutes=5)
    duplicate.decide_consent(ConsentPurpose.MARKETING, False, at=later, by="bia")
    duplicate.decide_consent(ConsentPurpose.REMINDERS, True, at=clock.now(), by="bia")

    changed = survivor.absorb(duplicate)

    assert changed == (
        "identities",
        "tags",
        "stage",
        "consents.reminders",
        "consents.marketing",
        "created_at",
    )
    assert survivor.name == "Maria Silva" and survivor.phone == MARIA  # its own stay
    assert {i.key for i in survivor.identities} == {
        f"phone:{MARIA}",
        f"phone:{MARIA_NEW}",
        "bsuid:BR.42",
    }
    assert survivor.tags == ["vip", "implante"]
    assert survivor.stage is FunnelStage.SCHEDULED
    assert survivor.consents[ConsentPurpose.MARKETING].granted is False  # the later decision
    assert survivor.consents[ConsentPurpose.REMINDERS].recorded_by == "bia"
    assert survivor.created_at == duplicate.created_at  # first seen as the duplicate
    assert duplicate.merged_into == "c1"
    assert duplicate.tags == ["implante", "vip"]  # the duplicate keeps its record


def test_a_survivor_without_a_profile_name_or_phone_takes_the_duplicate_s(clock):
    survivor = builders.customer(clock.now(), "c1", phone=MARIA, name="")
    survivor.identities = [Identity(IdentityKind.LID, "123@lid")]
    survivor.phone, survivor.name = None, "123@lid"
    duplicate = builders.customer(clock.now(), "c2", phone=MARIA_NEW, name="Maria Silva")
    older = Consent(ConsentPurpose.SERVICE, True, clock.now() - timedelta(days=1), "staff")
    survivor.consents[ConsentPurpose.SERVICE] = older
    changed = survivor.absorb(duplicate)
    assert changed[:3] == ("identities", "name", "phone")
    assert (survivor.name, survivor.phone) == ("Maria Silva", MARIA_NEW)


def test_a_merge_refuses_itself_a_merged_customer_and_too_many_tags(clock):
    survivor = builders.customer(clock.now(), "c1", phone=MARIA)
    with pytest.raises(ValidationError) as same:
        survivor.absorb(survivor)
    assert same.value.fields["field"] == "duplicate_id"
    duplicate = builders.customer(clock.now(), "c2", phone=MARIA_NEW)
    survivor.retag([f"a{n}" for n in range(MAX_TAGS)])
    duplicate.retag(["b"])
    with pytest.raises(ValidationError) as tags:
        survivor.absorb(duplicate)
    assert tags.value.fields["field"] == "tags"
    assert duplicate.merged_into is None
    duplicate.retag([])
    survivor.absorb(duplicate)
    with pytest.raises(Conflict):
        survivor.absorb(duplicate)
    third = builders.customer(clock.now(), "c3", phone="+5511955550000")
    with pytest.raises(Conflict):
        duplicate.absorb(third)


def test_a_chat_absorbs_the_other_chat_s_bookkeeping(clock):
    now = clock.now()
    ours = builders.chat(now - timedelta(days=2), "chat1", customer_id="c1")
    ours.add_message(builders.message(now - timedelta(days=2), "m1"), now - timedelta(days=2))
    ours.close(now - timedelta(days=1))
    theirs = builders.chat(now - timedelta(days=5), "chat2", customer_id="c2")
    message = builders.message(now - timedelta(hours=1), "m2", chat_id="chat2", body="Amanhã?")
    theirs.add_message(message, now - timedelta(hours=1))
    theirs.hand_off("quer falar com a dentista", now - timedelta(hours=1))
    theirs.assign("bia", now - timedelta(hours=1))
    ours.pull_events()
    ours.absorb(theirs, now, by="beto")
    assert ours.unread_count == 1
    assert ours.status is ChatStatus.OPEN
    assert ours.last_inbound_at == theirs.last_inbound_at
    assert (ours.last_message_at, ours.last_message_preview) == (
        now - timedelta(hours=1),
        "Amanhã?",
    )
    assert ours.created_at == now - timedelta(days=5)
    assert (ours.mode, ours.handoff_reason) == (ChatMode.HUMAN, "quer falar com a dentista")
    assert ours.assignee_id == "bia"
    kinds = [type(e) for e in ours.pull_events()]
    assert ChatOpened in kinds and ChatModeChanged in kinds
    with pytest.raises(ValidationError):
        ours.absorb(builders.chat(now, "chat3", channel_id="chan2"), now)


# -- the use case -----------------------------------------------------------------------------


async def _write(container, channel_id, phone, body, pid, name="Maria Silva"):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=channel_id,
            provider_message_id=pid,
            sender=[Identity.of_phone(phone)],
            sender_name=name,
            body=body,
        )
    )


@pytest.fixture
async def second_channel(container, installation, clock):
    channel = builders.channel(clock.now(), "chan2", installation.clinic.id)
    async with container.uow_factory()() as uow:
        await uow.channels.save(channel)
        await uow.commit()
    return channel


@pytest.fixture
async def twins(container, installation, clock):
    """Maria wrote from her old number, then from her new one: two customers, two chats."""
    old = await _write(container, installation.channel.id, MARIA, "Bom dia", "w1")
    clock.advance(minutes=5)
    new = await _write(container, installation.channel.id, MARIA_NEW, "Quero uma limpeza", "w2")
    clock.advance(minutes=5)
    await committed_events(container)
    return old, new


def merge_of(survivor, duplicate, actor=BETO) -> DuplicateCustomer:
    return DuplicateCustomer(
        clinic_id=survivor.clinic_id,
        customer_id=survivor.customer_id,
        duplicate_id=duplicate.customer_id,
        actor=actor,
    )


async def test_merging_joins_the_chats_of_one_channel(container, twins, clock):
    old, new = twins
    merged = await container.merge_customers()(merge_of(old, new))
    assert merged.customer.id == old.customer_id
    assert (merged.joined_chat_ids, merged.removed_chat_ids) == ((old.chat_id,), (new.chat_id,))
    assert (merged.moved_chat_ids, merged.messages_moved) == ((), 1)

    chat = await container.get_chat()(old.clinic_id, old.chat_id)
    assert chat.unread_count == 2
    assert chat.last_message_preview == "Quero uma limpeza"
    timeline = await container.get_chat_timeline()(
        TimelineQuery(clinic_id=old.clinic_id, chat_id=old.chat_id, limit=10)
    )
    assert [m.body for m in timeline.items] == ["Quero uma limpeza", "Bom dia"]
    assert {m.chat_id for m in timeline.items} == {old.chat_id}
    with pytest.raises(NotFound):
        await container.get_chat()(old.clinic_id, new.chat_id)
    chats = await container.list_chats()(ChatQuery(clinic_id=old.clinic_id))
    assert [c.id for c in chats.items] == [old.chat_id]


async def test_later_messages_from_the_duplicate_s_number_reach_the_survivor(
    container, installation, twins
):
    old, new = twins
    await container.merge_customers()(merge_of(old, new))
    later = await _write(container, installation.channel.id, "5511912345678", "Cheguei", "w3")
    assert (later.customer_id, later.chat_id) == (old.customer_id, old.chat_id)


async def test_a_chat_on_another_channel_moves_as_it_is(
    container, installation, second_channel, twins
):
    old, new = twins
    elsewhere = await _write(container, second_channel.id, MARIA_NEW, "Oi", "w9", name="Mary")
    assert elsewhere.customer_id == new.customer_id
    merged = await container.merge_customers()(merge_of(old, new))
    assert merged.moved_chat_ids == (elsewhere.chat_id,)
    chat = await container.get_chat()(old.clinic_id, elsewhere.chat_id)
    assert (chat.customer_id, chat.customer_name, chat.customer_phone) == (
        old.customer_id,
        "Maria Silva",
        MARIA,
    )
    assert chat.unread_count == 1


async def test_the_duplicate_is_gone_for_reads_edits_lists_and_merges(container, twins):
    old, new = twins
    await container.merge_customers()(merge_of(old, new))
    with pytest.raises(NotFound) as read:
        await container.get_customer()(new.clinic_id, new.customer_id)
    assert read.value.fields["merged_into"] == old.customer_id
    with pytest.raises(NotFound):
        await container.update_customer()(
            ChangeCustomer(clinic_id=new.clinic_id, customer_id=new.customer_id, name="X")
        )
    listed = await container.list_customers()(CustomerQuery(clinic_id=old.clinic_id))
    assert [c.id for c in listed.items] == [old.customer_id]
    for survivor, duplicate in ((old, new), (new, old)):
        with pytest.raises(Conflict):
            await container.merge_customers()(merge_of(survivor, duplicate))


async def test_the_merge_is_announced_and_audited(container, twins, clock):
    old, new = twins
    await container.merge_customers()(merge_of(old, new))
    events = [e for e in await committed_events(container) if isinstance(e, CustomersMerged)]
    assert events == [
        CustomersMerged(
            clinic_id=old.clinic_id,
            occurred_at=clock.now(),
            customer_id=old.customer_id,
            duplicate_id=new.customer_id,
            changed=("identities",),
            chat_ids=(old.chat_id,),
            removed_chat_ids=(new.chat_id,),
            merged_by="beto",
        )
    ]
    async with container.uow_factory()(read_only=True) as uow:
        records = [r async for r in uow.audit.iterate(old.clinic_id)]
    record = records[-1]
    assert (record.action, record.resource_type, record.resource_id) == (
        "customer.merge",
        "customer",
        old.customer_id,
    )
    assert (record.actor_id, record.source, record.request_id) == ("beto", "198.51.100.4", "req-7")
    assert record.details == {
        "duplicate_id": new.customer_id,
        "changed": "identities",
        "chats_moved": "0",
        "chats_joined": "1",
        "messages_moved": "1",
    }


async def test_the_survivor_s_chats_show_a_name_it_gained(container, installation, clock):
    nameless = await _write(container, installation.channel.id, MARIA, "Oi", "w1", name="")
    named = await _write(container, installation.channel.id, MARIA_NEW, "Oi", "w2")
    merged = await container.merge_customers()(merge_of(nameless, named))
    assert merged.customer.name == "Maria Silva"
    chat = await container.get_chat()(nameless.clinic_id, nameless.chat_id)
    assert chat.customer_name == "Maria Silva"


async def test_a_person_in_charge_of_the_duplicate_s_chat_stays_in_charge(container, twins):
    old, new = twins
    await container.update_chat()(
        ChangeChat(clinic_id=new.clinic_id, chat_id=new.chat_id, mode="human", actor_id="bia")
    )
    await container.merge_customers()(merge_of(old, new))
    chat = await container.get_chat()(old.clinic_id, old.chat_id)
    assert chat.mode is ChatMode.HUMAN


@pytest.mark.parametrize(
    ("survivor", "duplicate", "error"),
    [
        ("old", "old", ValidationError),
        ("old", "nope", NotFound),
        ("nope", "new", NotFound),
    ],
)
async def test_refused_merges_change_nothing(container, twins, survivor, duplicate, error):
    old, new = twins
    ids = {"old": old.customer_id, "new": new.customer_id, "nope": "nope"}
    with pytest.raises(error):
        await container.merge_customers()(
            DuplicateCustomer(
                clinic_id=old.clinic_id, customer_id=ids[survivor], duplicate_id=ids[duplicate]
            )
        )
    listed = await container.list_customers()(CustomerQuery(clinic_id=old.clinic_id))
    assert len(listed.items) == 2
    assert await committed_events(container) == []


async def test_another_clinic_s_customers_cannot_be_merged(container, twins):
    old, new = twins
    with pytest.raises(NotFound):
        await container.merge_customers()(
            DuplicateCustomer(
                clinic_id="other", customer_id=old.customer_id, duplicate_id=new.customer_id
            )
        )
