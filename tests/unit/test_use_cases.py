"""Use cases through the in-memory container: their rules, their errors, their events."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest
from dependency_injector import providers

from porfin_adapters.gateways import ProviderGatewayDirectory
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.domain.events import (
    ChatAssigned,
    ChatClosed,
    ChatModeChanged,
    ChatOpened,
    CustomerCreated,
    MessageCreated,
    MessageStatusChanged,
)
from porfin_core.domain.message import Author, DeliveryStatus, Direction, Message, MessageKind
from porfin_core.errors import (
    GatewayError,
    InvalidStateTransition,
    NotFound,
    ValidationError,
    WindowClosed,
)
from porfin_core.pagination import MAX_PAGE_SIZE
from porfin_core.ports.messaging import SendReceipt
from porfin_core.ports.storage import ChatQuery
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.receive_inbound_message import Received, ReceiveMessage
from porfin_core.use_cases.record_delivery_status import DeliveryReport, StatusOutcome
from porfin_core.use_cases.send_staff_message import MAX_TEXT_LENGTH, SendText
from porfin_core.use_cases.update_chat import ChangeChat
from tests import builders
from tests.unit.conftest import committed_events

MARIA = "+5511987654321"
MARIA_LEGACY_WA_ID = "551187654321"
JOAO = "+5521998765432"


def text(
    channel_id: str,
    body: str = "Olá, quero marcar uma limpeza",
    pid: str = "wamid.1",
    sender: list[Identity] | None = None,
    name: str = "Maria Silva",
    **extra,
) -> ReceiveMessage:
    return ReceiveMessage(
        channel_id=channel_id,
        provider_message_id=pid,
        sender=sender if sender is not None else [Identity.of_phone(MARIA)],
        sender_name=name,
        body=body,
        **extra,
    )


async def receive(container, command: ReceiveMessage) -> Received:
    return await container.receive_inbound_message()(command)


async def get_chat(container, received: Received) -> Chat:
    return await container.get_chat()(received.clinic_id, received.chat_id)


async def timeline(container, received: Received) -> list[Message]:
    page = await container.get_chat_timeline()(
        TimelineQuery(clinic_id=received.clinic_id, chat_id=received.chat_id, limit=200)
    )
    return page.items


async def customer_of(container, received: Received):
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.customers.get(received.clinic_id, received.customer_id)


async def list_chats(container, clinic_id: str, **filters) -> list[Chat]:
    page = await container.list_chats()(ChatQuery(clinic_id=clinic_id, **filters))
    return page.items


async def add_channel(container, clock, channel_id: str, clinic_id: str, **fields) -> Channel:
    channel = builders.channel(clock.now(), channel_id, clinic_id)
    for name, value in fields.items():
        setattr(channel, name, value)
    async with container.uow_factory()() as uow:
        if clinic_id != "clinic1":
            await uow.clinics.save(builders.clinic(clinic_id, "Outra Clínica"))
        await uow.channels.save(channel)
        await uow.commit()
    return channel


async def send(container, received: Received, body: str = "Temos horário amanhã", author="ana"):
    return await container.send_staff_message()(
        SendText(
            clinic_id=received.clinic_id, chat_id=received.chat_id, author_id=author, text=body
        )
    )


async def update(container, received: Received, **changes) -> Chat:
    return await container.update_chat()(
        ChangeChat(clinic_id=received.clinic_id, chat_id=received.chat_id, **changes)
    )


def use_gateway(container, gateway) -> None:
    container.gateways.override(
        providers.Object(ProviderGatewayDirectory({Provider.SIMULATOR: gateway}))
    )
    container.send_staff_message.reset()  # use cases are singletons: rebuild with the new one
    container.outbound_sender.reset()


class FailingGateway:
    """A provider that refuses every message."""

    def __init__(self, error: GatewayError) -> None:
        self.error = error
        self.attempts = 0

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        self.attempts += 1
        raise self.error


class ScriptedGateway:
    """A provider that accepts messages under the ids it is given, in order."""

    def __init__(self, *provider_ids: str) -> None:
        self._provider_ids = list(provider_ids)
        self.sent: list[tuple[str, str | None]] = []

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        self.sent.append((recipient, message.body))
        return SendReceipt(self._provider_ids.pop(0), recipient)


# -- SetUpInstallation ------------------------------------------------------------------------


async def test_first_start_creates_a_clinic_with_a_simulator_channel(container, clock):
    installation = await container.set_up_installation()()
    assert installation.created
    assert installation.clinic.name == "Minha Clínica"
    assert installation.clinic.timezone == "America/Sao_Paulo"
    assert installation.channel.provider is Provider.SIMULATOR
    assert installation.channel.clinic_id == installation.clinic.id
    assert installation.channel.created_at == clock.now()


async def test_later_starts_find_the_installation(container):
    first = await container.set_up_installation()("Clínica Sorriso", "America/Manaus")
    again = await container.set_up_installation()("Outro nome")
    assert not again.created
    assert again.clinic == first.clinic
    assert again.clinic.name == "Clínica Sorriso"
    assert again.clinic.timezone == "America/Manaus"
    assert again.channel == first.channel


async def test_a_clinic_without_channels_gets_the_simulator(container, clock):
    async with container.uow_factory()() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await uow.commit()
    installation = await container.set_up_installation()()
    assert installation.created
    assert installation.clinic.id == "clinic1"
    assert installation.channel.provider is Provider.SIMULATOR


async def test_an_existing_real_channel_is_used_as_is(container, clock):
    await add_channel(container, clock, "chan1", "clinic1", provider=Provider.CLOUD_API)
    async with container.uow_factory()() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await uow.commit()
    installation = await container.set_up_installation()()
    assert not installation.created
    assert installation.channel.id == "chan1"


async def test_an_unknown_time_zone_is_refused(container):
    with pytest.raises(ValidationError) as info:
        await container.set_up_installation()(timezone="America/Atlantis")
    assert info.value.fields == {"field": "timezone"}


# -- ReceiveInboundMessage --------------------------------------------------------------------


async def test_a_first_message_creates_customer_chat_and_message(container, installation, clock):
    channel = installation.channel
    received = await receive(container, text(channel.id))
    assert received.clinic_id == installation.clinic.id
    assert not received.duplicate

    customer = await customer_of(container, received)
    assert customer.name == "Maria Silva"
    assert customer.phone == MARIA

    chat = await get_chat(container, received)
    assert chat.customer_id == customer.id
    assert chat.channel_id == channel.id
    assert (chat.customer_name, chat.customer_phone) == ("Maria Silva", MARIA)
    assert chat.status is ChatStatus.OPEN
    assert chat.mode is ChatMode.AI
    assert chat.unread_count == 1
    assert chat.last_inbound_at == clock.now()
    assert chat.last_message_preview == "Olá, quero marcar uma limpeza"

    [message] = await timeline(container, received)
    assert message.id == received.message_id
    assert (message.direction, message.author) == (Direction.INBOUND, Author.PATIENT)
    assert message.status is DeliveryStatus.RECEIVED
    assert message.provider_message_id == "wamid.1"
    assert message.body == "Olá, quero marcar uma limpeza"

    events = await committed_events(container)
    assert [type(e) for e in events] == [CustomerCreated, ChatOpened, MessageCreated]
    assert all(e.clinic_id == received.clinic_id for e in events)


async def test_a_redelivered_message_is_stored_once(container, installation, clock):
    first = await receive(container, text(installation.channel.id))
    await committed_events(container)
    clock.advance(minutes=3)
    again = await receive(container, text(installation.channel.id, body="changed?"))
    assert again.duplicate
    assert (again.customer_id, again.chat_id, again.message_id) == (
        first.customer_id,
        first.chat_id,
        first.message_id,
    )
    assert len(await timeline(container, first)) == 1
    chat = await get_chat(container, first)
    assert chat.unread_count == 1
    assert chat.last_inbound_at == clock.now() - timedelta(minutes=3)
    assert await committed_events(container) == []


async def test_the_same_provider_id_on_another_channel_is_another_message(
    container, installation, clock
):
    other = await add_channel(container, clock, "chan-b", installation.clinic.id)
    first = await receive(container, text(installation.channel.id))
    second = await receive(container, text(other.id))
    assert not second.duplicate
    assert second.customer_id == first.customer_id
    assert second.chat_id != first.chat_id  # one chat per customer per channel


async def test_the_9th_digit_variants_are_one_customer_with_one_chat(container, installation):
    channel_id = installation.channel.id
    first = await receive(container, text(channel_id, pid="wamid.1"))
    legacy = [Identity(IdentityKind.WA_ID, MARIA_LEGACY_WA_ID)]
    second = await receive(container, text(channel_id, pid="wamid.2", sender=legacy))
    assert (second.customer_id, second.chat_id) == (first.customer_id, first.chat_id)
    assert len(await timeline(container, first)) == 2
    customer = await customer_of(container, first)
    assert Identity(IdentityKind.WA_ID, MARIA_LEGACY_WA_ID) in customer.identities
    assert len(await list_chats(container, first.clinic_id)) == 1


async def test_different_people_are_different_customers(container, installation):
    channel_id = installation.channel.id
    maria = await receive(container, text(channel_id, pid="wamid.1"))
    joao = await receive(
        container, text(channel_id, pid="wamid.2", sender=[Identity.of_phone(JOAO)], name="João")
    )
    assert joao.customer_id != maria.customer_id
    assert joao.chat_id != maria.chat_id


async def test_the_same_number_in_two_clinics_is_two_customers(container, installation, clock):
    other = await add_channel(container, clock, "chan2", "clinic2")
    here = await receive(container, text(installation.channel.id))
    there = await receive(container, text(other.id))
    assert there.clinic_id == "clinic2"
    assert there.customer_id != here.customer_id


async def test_a_patient_message_reopens_a_closed_chat(container, installation, clock):
    first = await receive(container, text(installation.channel.id, pid="wamid.1"))
    await update(container, first, status="closed")
    await committed_events(container)
    clock.advance(days=3)
    again = await receive(container, text(installation.channel.id, pid="wamid.2"))
    assert again.chat_id == first.chat_id
    chat = await get_chat(container, first)
    assert chat.status is ChatStatus.OPEN
    assert chat.unread_count == 1
    events = await committed_events(container)
    assert [type(e) for e in events] == [ChatOpened, MessageCreated]
    assert events[0].reopened


async def test_the_message_opens_the_24_hour_window(container, installation, clock):
    sent_at = clock.now() - timedelta(seconds=30)
    received = await receive(container, text(installation.channel.id, sent_at=sent_at))
    chat = await get_chat(container, received)
    assert chat.last_inbound_at == sent_at
    assert chat.window_expires_at() == sent_at + timedelta(hours=24)
    [message] = await timeline(container, received)
    assert message.sent_at == sent_at
    assert message.history[0].at == sent_at


async def test_a_message_typed_on_the_clinic_phone_hands_the_chat_to_a_person(
    container, installation, clock
):
    channel_id = installation.channel.id
    first = await receive(container, text(channel_id, pid="wamid.1"))
    await committed_events(container)
    clock.advance(minutes=5)
    echo = await receive(
        container,
        text(channel_id, pid="wamid.2", body="Oi Maria, aqui é a Ana", from_clinic_phone=True),
    )
    assert echo.chat_id == first.chat_id
    chat = await get_chat(container, first)
    assert chat.mode is ChatMode.HUMAN
    assert chat.handoff_reason == "clinic_phone_reply"
    assert not chat.ai_may_reply(clock.now())
    assert chat.unread_count == 1  # the clinic's own message is not unread
    assert chat.last_inbound_at == clock.now() - timedelta(minutes=5)  # no new window
    newest = (await timeline(container, first))[0]
    assert (newest.direction, newest.author) == (Direction.OUTBOUND, Author.CLINIC_PHONE)
    assert newest.status is DeliveryStatus.SENT
    events = await committed_events(container)
    assert [type(e) for e in events] == [ChatModeChanged, MessageCreated]


async def test_a_status_that_beat_a_clinic_phone_message_is_applied_to_it(
    container, installation, clock
):
    channel_id = installation.channel.id
    await receive(container, text(channel_id, pid="wamid.1"))
    report = DeliveryReport(
        channel_id=channel_id, provider_message_id="wamid.phone", status="read", at=clock.now()
    )
    assert (await container.record_delivery_status()(report)).pending
    echo = await receive(
        container, text(channel_id, pid="wamid.phone", body="Oi!", from_clinic_phone=True)
    )
    message = (await timeline(container, echo))[0]
    assert message.id == echo.message_id
    assert message.status is DeliveryStatus.READ


async def test_an_unknown_customer_under_a_bsuid_gets_their_phone_later(container, installation):
    channel_id = installation.channel.id
    bsuid = Identity(IdentityKind.BSUID, "BR.1234567890")
    first = await receive(container, text(channel_id, pid="wamid.1", sender=[bsuid], name=""))
    customer = await customer_of(container, first)
    assert customer.phone is None
    assert customer.name == "BR.1234567890"
    both = [bsuid, Identity(IdentityKind.WA_ID, "5511987654321")]
    second = await receive(container, text(channel_id, pid="wamid.2", sender=both))
    assert second.customer_id == first.customer_id
    assert (await customer_of(container, first)).phone == MARIA


async def test_a_lid_contact_whose_phone_appears_later_is_found_by_phone(container, installation):
    channel_id = installation.channel.id
    lid = Identity(IdentityKind.LID, "123456789012345@lid")
    first = await receive(container, text(channel_id, pid="m1", sender=[lid]))
    jid = Identity(IdentityKind.JID, "551187654321@s.whatsapp.net")
    await receive(container, text(channel_id, pid="m2", sender=[lid, jid]))
    by_phone = await receive(container, text(channel_id, pid="m3"))
    assert by_phone.customer_id == first.customer_id
    assert by_phone.chat_id == first.chat_id
    chat = await get_chat(container, first)
    assert chat.customer_phone == MARIA  # the inbox can show and search the number now
    assert [c.id for c in await list_chats(container, first.clinic_id, search="98765")] == [chat.id]


async def test_media_and_extras_are_kept(container, installation):
    from porfin_core.domain.message import MediaRef

    media = MediaRef(mime_type="image/jpeg", provider_media_id="media.1", caption="raio-x")
    received = await receive(
        container,
        text(
            installation.channel.id,
            body="raio-x",
            kind=MessageKind.IMAGE,
            media=media,
            extra={"forwarded": True},
            raw={"id": "wamid.1"},
            reply_to_provider_id="wamid.0",
        ),
    )
    [message] = await timeline(container, received)
    assert message.kind is MessageKind.IMAGE
    assert message.media == media
    assert message.extra == {"forwarded": True}
    assert message.raw == {"id": "wamid.1"}
    assert message.reply_to_provider_id == "wamid.0"


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"pid": "  "}, "provider_message_id"), ({"sender": []}, "sender")],
)
async def test_receive_validation(container, installation, changes, field):
    with pytest.raises(ValidationError) as info:
        await receive(container, text(installation.channel.id, **changes))
    assert info.value.fields == {"field": field}


async def test_receive_on_an_unknown_channel(container, installation):
    with pytest.raises(NotFound):
        await receive(container, text("no-such-channel"))


async def test_receive_on_an_inactive_channel(container, installation, clock):
    await add_channel(container, clock, "off", installation.clinic.id, active=False)
    with pytest.raises(ValidationError) as info:
        await receive(container, text("off"))
    assert info.value.fields == {"channel_id": "off"}
    assert await list_chats(container, installation.clinic.id) == []


# -- SendStaffMessage --------------------------------------------------------------------------


async def test_a_reply_inside_the_window_goes_to_the_gateway(container, installation, clock):
    received = await receive(container, text(installation.channel.id))
    await committed_events(container)
    clock.advance(hours=2)
    message = await send(container, received, "  A limpeza custa R$ 200,00  ")

    [delivery] = container.simulator_gateway().sent
    assert delivery.recipient == MARIA
    assert delivery.body == "A limpeza custa R$ 200,00"
    assert delivery.channel_id == installation.channel.id
    assert message.provider_message_id == delivery.provider_message_id
    assert message.status is DeliveryStatus.SENT
    assert [c.status for c in message.history] == [DeliveryStatus.PENDING, DeliveryStatus.SENT]
    assert (message.direction, message.author, message.author_id) == (
        Direction.OUTBOUND,
        Author.STAFF,
        "ana",
    )

    stored = (await timeline(container, received))[0]
    assert stored == message
    chat = await get_chat(container, received)
    assert chat.mode is ChatMode.HUMAN
    assert chat.assignee_id == "ana"
    assert chat.last_message_preview == "A limpeza custa R$ 200,00"
    assert chat.last_message_at == clock.now()

    events = await committed_events(container)
    assert [type(e) for e in events] == [
        ChatModeChanged,
        ChatAssigned,
        MessageCreated,
        MessageStatusChanged,
    ]
    assert events[0].changed_by == "ana"


async def test_outside_the_window_free_text_is_refused(container, installation, clock):
    received = await receive(container, text(installation.channel.id))
    await committed_events(container)
    clock.advance(hours=24)
    with pytest.raises(WindowClosed) as info:
        await send(container, received)
    error = info.value
    assert error.code == "window_closed"
    assert "template" in error.message
    assert error.fields == {
        "chat_id": received.chat_id,
        "window_expired_at": clock.now(),
    }
    assert list(container.simulator_gateway().sent) == []
    assert len(await timeline(container, received)) == 1
    chat = await get_chat(container, received)
    assert (chat.mode, chat.assignee_id) == (ChatMode.AI, None)
    assert await committed_events(container) == []


async def test_no_window_when_the_patient_never_wrote(container, installation):
    received = await receive(
        container, text(installation.channel.id, body="Oi", from_clinic_phone=True)
    )
    with pytest.raises(WindowClosed) as info:
        await send(container, received)
    assert info.value.fields["window_expired_at"] is None


@pytest.mark.parametrize("body", ["", "   \n "])
async def test_an_empty_reply_is_refused(container, installation, body):
    received = await receive(container, text(installation.channel.id))
    with pytest.raises(ValidationError) as info:
        await send(container, received, body)
    assert info.value.fields == {"field": "text"}


async def test_the_longest_reply_whatsapp_accepts(container, installation):
    received = await receive(container, text(installation.channel.id))
    message = await send(container, received, "x" * MAX_TEXT_LENGTH)
    assert message.status is DeliveryStatus.SENT
    with pytest.raises(ValidationError):
        await send(container, received, "x" * (MAX_TEXT_LENGTH + 1))


async def test_a_reply_to_another_clinics_chat_is_not_found(container, installation, clock):
    other = await add_channel(container, clock, "chan2", "clinic2")
    theirs = await receive(container, text(other.id))
    with pytest.raises(NotFound):
        await container.send_staff_message()(
            SendText(
                clinic_id=installation.clinic.id, chat_id=theirs.chat_id, author_id="a", text="x"
            )
        )
    assert list(container.simulator_gateway().sent) == []


async def test_a_reply_keeps_the_assignee_and_the_handoff_reason(container, installation):
    received = await receive(container, text(installation.channel.id))
    await update(container, received, mode="human", reason="orçamento", assignee_id="bia")
    await send(container, received, author="ana")
    chat = await get_chat(container, received)
    assert chat.assignee_id == "bia"
    assert chat.handoff_reason == "orçamento"


async def test_a_reply_to_a_closed_chat_reopens_it(container, installation):
    received = await receive(container, text(installation.channel.id))
    await update(container, received, status="closed")
    await send(container, received)
    assert (await get_chat(container, received)).status is ChatStatus.OPEN


async def test_a_reply_to_a_paused_chat_hands_it_to_a_person(container, installation, clock):
    received = await receive(container, text(installation.channel.id))
    await update(container, received, mode="paused", paused_until=clock.now() + timedelta(hours=1))
    await send(container, received)
    chat = await get_chat(container, received)
    assert (chat.mode, chat.paused_until) == (ChatMode.HUMAN, None)


async def test_a_gateway_failure_is_recorded_as_failed_with_its_code(container, installation):
    gateway = FailingGateway(
        GatewayError("Re-engagement message", retryable=False, provider_code="131047")
    )
    use_gateway(container, gateway)
    received = await receive(container, text(installation.channel.id))
    message = await send(container, received)
    assert gateway.attempts == 1
    assert message.status is DeliveryStatus.FAILED
    assert message.provider_message_id is None
    assert message.failure is not None
    assert message.failure.error_code == "131047"
    assert message.failure.error_detail == "Re-engagement message"
    assert (await timeline(container, received))[0] == message


async def test_a_gateway_failure_without_a_provider_code_uses_the_error_code(
    container, installation
):
    use_gateway(container, FailingGateway(GatewayError("refused", retryable=False)))
    received = await receive(container, text(installation.channel.id))
    message = await send(container, received)
    assert message.failure is not None
    assert message.failure.error_code == "gateway_error"


async def test_a_channel_without_credentials_fails_the_message(container, installation, clock):
    await add_channel(
        container, clock, "cloud", installation.clinic.id, provider=Provider.CLOUD_API
    )
    received = await receive(container, text("cloud"))
    message = await send(container, received)
    assert message.status is DeliveryStatus.FAILED
    assert message.failure is not None
    assert message.failure.error_code == "not_configured"  # no phone number id, no token


async def test_a_customer_without_a_phone_is_written_to_at_their_identity(container, installation):
    gateway = ScriptedGateway("wamid.out")
    use_gateway(container, gateway)
    bsuid = Identity(IdentityKind.BSUID, "BR.999")
    received = await receive(container, text(installation.channel.id, sender=[bsuid]))
    await send(container, received, "Olá!")
    assert gateway.sent == [("BR.999", "Olá!")]


# -- RecordDeliveryStatus ----------------------------------------------------------------------


async def _sent(container, installation, clock, provider_id="wamid.out") -> Message:
    use_gateway(container, ScriptedGateway(provider_id))
    received = await receive(container, text(installation.channel.id))
    message = await send(container, received)
    await committed_events(container)
    return message


def report(channel_id: str, status: str, at: datetime, pid: str = "wamid.out", **extra):
    return DeliveryReport(
        channel_id=channel_id, provider_message_id=pid, status=status, at=at, **extra
    )


async def test_statuses_move_a_message_forward(container, installation, clock):
    message = await _sent(container, installation, clock)
    record = container.record_delivery_status()
    channel_id = installation.channel.id
    delivered = await record(report(channel_id, "delivered", clock.advance(seconds=1)))
    assert delivered == StatusOutcome(applied=True, pending=False, message_id=message.id)
    assert (await record(report(channel_id, "read", clock.advance(seconds=1)))).applied
    late = await record(report(channel_id, "delivered", clock.advance(seconds=1)))
    assert late == StatusOutcome(applied=False, pending=False, message_id=message.id)
    async with container.uow_factory()(read_only=True) as uow:
        stored = await uow.messages.get(message.clinic_id, message.id)
    assert stored.status is DeliveryStatus.READ
    events = await committed_events(container)
    assert [e.status for e in events] == ["delivered", "read"]


async def test_failed_keeps_the_providers_error(container, installation, clock):
    message = await _sent(container, installation, clock)
    await container.record_delivery_status()(
        report(
            installation.channel.id,
            "failed",
            clock.now(),
            error_code="131026",
            error_detail="Message undeliverable",
        )
    )
    async with container.uow_factory()(read_only=True) as uow:
        stored = await uow.messages.get(message.clinic_id, message.id)
    assert stored.failure is not None
    assert (stored.failure.error_code, stored.failure.error_detail) == (
        "131026",
        "Message undeliverable",
    )


async def test_a_status_before_the_send_returned_is_applied_when_it_does(
    container, installation, clock
):
    received = await receive(container, text(installation.channel.id))
    early = await container.record_delivery_status()(
        report(installation.channel.id, "delivered", clock.now(), pid="wamid.early")
    )
    assert early == StatusOutcome(applied=False, pending=True)
    use_gateway(container, ScriptedGateway("wamid.early"))
    message = await send(container, received)
    assert message.provider_message_id == "wamid.early"
    assert message.status is DeliveryStatus.DELIVERED
    # Taken once: a second message under another id is not affected.
    use_gateway(container, ScriptedGateway("wamid.other"))
    assert (await send(container, received)).status is DeliveryStatus.SENT


async def test_pending_statuses_keep_their_order(container, installation, clock):
    received = await receive(container, text(installation.channel.id))
    record = container.record_delivery_status()
    await record(report(installation.channel.id, "read", clock.now(), pid="wamid.x"))
    await record(report(installation.channel.id, "delivered", clock.now(), pid="wamid.x"))
    use_gateway(container, ScriptedGateway("wamid.x"))
    message = await send(container, received)
    assert message.status is DeliveryStatus.READ


@pytest.mark.parametrize("status", ["received", "pending", "seen", ""])
async def test_an_unknown_status_is_refused(container, installation, clock, status):
    with pytest.raises(ValidationError) as info:
        await container.record_delivery_status()(
            report(installation.channel.id, status, clock.now())
        )
    assert info.value.fields == {"field": "status"}


async def test_a_status_needs_a_provider_id(container, installation, clock):
    with pytest.raises(ValidationError) as info:
        await container.record_delivery_status()(
            report(installation.channel.id, "read", clock.now(), pid=" ")
        )
    assert info.value.fields == {"field": "provider_message_id"}


async def test_a_status_on_an_unknown_channel(container, installation, clock):
    with pytest.raises(NotFound):
        await container.record_delivery_status()(report("nope", "read", clock.now()))


# -- UpdateChat ----------------------------------------------------------------------------------


@pytest.fixture
async def maria(container, installation) -> Received:
    received = await receive(container, text(installation.channel.id))
    await committed_events(container)
    return received


async def test_switch_the_ai_off_and_on(container, maria, clock):
    chat = await update(container, maria, mode="human", actor_id="ana")
    assert (chat.mode, chat.handoff_reason) == (ChatMode.HUMAN, "ai_turned_off")
    chat = await update(container, maria, mode="ai", actor_id="ana")
    assert (chat.mode, chat.handoff_reason) == (ChatMode.AI, None)
    assert await get_chat(container, maria) == chat
    events = await committed_events(container)
    assert [(e.mode, e.changed_by) for e in events] == [("human", "ana"), ("ai", "ana")]


async def test_hand_off_with_a_reason(container, maria):
    chat = await update(container, maria, mode="human", reason="Quer falar com a dentista")
    assert chat.handoff_reason == "Quer falar com a dentista"


async def test_hand_off_with_a_blank_reason_is_refused(container, maria):
    with pytest.raises(ValidationError) as info:
        await update(container, maria, mode="human", reason="   ")
    assert info.value.fields == {"field": "reason"}
    assert (await get_chat(container, maria)).mode is ChatMode.AI


async def test_pause_the_ai(container, maria, clock):
    until = clock.now() + timedelta(hours=2)
    chat = await update(container, maria, mode="paused", paused_until=until)
    assert (chat.mode, chat.paused_until) == (ChatMode.PAUSED, until)
    assert not chat.ai_may_reply(clock.now())
    assert chat.ai_may_reply(until)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"mode": "robot"}, "mode"),
        ({"status": "archived"}, "status"),
        ({"mode": "paused"}, "paused_until"),
        ({"mode": "human", "paused_until": "later"}, "paused_until"),
        ({"paused_until": "later"}, "paused_until"),
        ({"mode": "paused", "paused_until": "naive"}, "paused_until"),
        ({"mode": "paused", "paused_until": "past"}, "paused_until"),
        ({"assignee_id": "ana", "unassign": True}, "assignee_id"),
    ],
)
async def test_update_validation(container, maria, clock, changes, field):
    times = {
        "later": clock.now() + timedelta(hours=1),
        "naive": datetime(2030, 1, 1, 12, 0),
        "past": clock.now() - timedelta(minutes=1),
    }
    if "paused_until" in changes:
        changes = {**changes, "paused_until": times[changes["paused_until"]]}
    with pytest.raises(ValidationError) as info:
        await update(container, maria, **changes)
    assert info.value.fields == {"field": field}
    assert await committed_events(container) == []


async def test_an_unknown_mode_lists_the_allowed_ones(container, maria):
    with pytest.raises(ValidationError, match="ai, human, paused"):
        await update(container, maria, mode="robot")


async def test_assign_and_unassign(container, maria):
    assert (await update(container, maria, assignee_id="ana")).assignee_id == "ana"
    assert (await update(container, maria, unassign=True)).assignee_id is None
    events = await committed_events(container)
    assert [e.assignee_id for e in events] == ["ana", None]


async def test_close_and_reopen(container, maria):
    closed = await update(container, maria, status="closed")
    assert (closed.status, closed.unread_count) == (ChatStatus.CLOSED, 0)
    with pytest.raises(InvalidStateTransition):
        await update(container, maria, status="closed")
    reopened = await update(container, maria, status="open")
    assert reopened.status is ChatStatus.OPEN
    with pytest.raises(InvalidStateTransition):
        await update(container, maria, status="open")
    events = await committed_events(container)
    assert [type(e) for e in events] == [ChatClosed, ChatOpened]


async def test_mark_read(container, maria):
    assert (await update(container, maria, mark_read=True)).unread_count == 0
    assert (await get_chat(container, maria)).unread_count == 0


async def test_several_changes_at_once(container, maria):
    chat = await update(
        container, maria, mode="human", reason="retorno", assignee_id="ana", status="closed"
    )
    assert (chat.mode, chat.assignee_id, chat.status) == (ChatMode.HUMAN, "ana", ChatStatus.CLOSED)


async def test_a_failed_update_changes_nothing(container, maria):
    await update(container, maria, status="closed")
    with pytest.raises(InvalidStateTransition):
        await update(container, maria, mode="human", assignee_id="ana", status="closed")
    chat = await get_chat(container, maria)
    assert (chat.mode, chat.assignee_id) == (ChatMode.AI, None)


async def test_update_another_clinics_chat(container, maria):
    with pytest.raises(NotFound):
        await container.update_chat()(
            ChangeChat(clinic_id="clinic-x", chat_id=maria.chat_id, mode="human")
        )


# -- ListChats, GetChat, GetChatTimeline ---------------------------------------------------


@pytest.fixture
async def inbox(container, installation, clock) -> dict[str, Received]:
    """Three patients: Maria (AI), João (with Ana), Conceição (closed)."""
    channel_id = installation.channel.id
    maria = await receive(container, text(channel_id, pid="m1", body="Quero marcar limpeza"))
    clock.advance(minutes=1)
    joao = await receive(
        container,
        text(
            channel_id, pid="m2", body="Dor de dente", sender=[Identity.of_phone(JOAO)], name="João"
        ),
    )
    clock.advance(minutes=1)
    conceicao = await receive(
        container,
        text(
            channel_id,
            pid="m3",
            body="Obrigada",
            sender=[Identity.of_phone("+5531987651234")],
            name="Conceição",
        ),
    )
    await update(container, joao, mode="human", assignee_id="ana", mark_read=True)
    await update(container, conceicao, status="closed")
    return {"maria": maria, "joao": joao, "conceicao": conceicao}


def names(chats: list[Chat]) -> list[str]:
    return [c.customer_name for c in chats]


async def test_the_inbox_is_newest_first(container, installation, inbox):
    assert names(await list_chats(container, installation.clinic.id)) == [
        "Conceição",
        "João",
        "Maria Silva",
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"mode": ChatMode.AI}, ["Conceição", "Maria Silva"]),
        ({"mode": ChatMode.HUMAN}, ["João"]),
        ({"status": ChatStatus.OPEN}, ["João", "Maria Silva"]),
        ({"status": ChatStatus.CLOSED}, ["Conceição"]),
        ({"assignee_id": "ana"}, ["João"]),
        ({"assignee_id": "bia"}, []),
        ({"unassigned": True}, ["Conceição", "Maria Silva"]),
        ({"unread": True}, ["Maria Silva"]),
        ({"search": "conceicao"}, ["Conceição"]),
        ({"search": "JOÃO"}, ["João"]),
        ({"search": "98765-4321"}, ["Maria Silva"]),
        ({"search": "dor de dente"}, ["João"]),
        ({"search": "limpeza"}, ["Maria Silva"]),
        ({"search": "implante"}, []),
        ({"status": ChatStatus.OPEN, "mode": ChatMode.AI}, ["Maria Silva"]),
    ],
)
async def test_inbox_filters(container, installation, inbox, filters, expected):
    assert names(await list_chats(container, installation.clinic.id, **filters)) == expected


async def test_the_inbox_pages_with_a_cursor(container, installation, inbox):
    use_case = container.list_chats()
    first = await use_case(ChatQuery(clinic_id=installation.clinic.id, limit=2))
    assert names(first.items) == ["Conceição", "João"]
    assert first.next_cursor is not None
    second = await use_case(
        ChatQuery(clinic_id=installation.clinic.id, limit=2, cursor=first.next_cursor)
    )
    assert names(second.items) == ["Maria Silva"]
    assert second.next_cursor is None


async def test_the_inbox_is_per_clinic(container, installation, inbox):
    assert await list_chats(container, "clinic2") == []


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
async def test_inbox_limit_errors(container, installation, limit):
    with pytest.raises(ValidationError) as info:
        await list_chats(container, installation.clinic.id, limit=limit)
    assert info.value.fields == {"field": "limit"}


async def test_inbox_limit_bounds(container, installation, inbox):
    assert len(await list_chats(container, installation.clinic.id, limit=1)) == 1
    assert len(await list_chats(container, installation.clinic.id, limit=MAX_PAGE_SIZE)) == 3


async def test_assignee_and_unassigned_together_is_an_error(container, installation):
    with pytest.raises(ValidationError) as info:
        await list_chats(container, installation.clinic.id, assignee_id="ana", unassigned=True)
    assert info.value.fields == {"field": "assignee"}


async def test_a_bad_cursor_is_an_error(container, installation, inbox):
    with pytest.raises(ValidationError) as info:
        await list_chats(container, installation.clinic.id, cursor="not-a-cursor!")
    assert info.value.fields == {"field": "cursor"}


async def test_get_chat_of_another_clinic_is_not_found(container, inbox):
    with pytest.raises(NotFound):
        await container.get_chat()("clinic2", inbox["maria"].chat_id)
    with pytest.raises(NotFound):
        await container.get_chat()(inbox["maria"].clinic_id, "no-such-chat")


async def test_the_timeline_is_newest_first_and_pages(container, installation, clock):
    channel_id = installation.channel.id
    first = await receive(container, text(channel_id, pid="p1", body="um"))
    for n, body in enumerate(["dois", "três", "quatro"], start=2):
        clock.advance(seconds=10)
        await receive(container, text(channel_id, pid=f"p{n}", body=body))
    use_case = container.get_chat_timeline()
    query = TimelineQuery(clinic_id=first.clinic_id, chat_id=first.chat_id, limit=3)
    page = await use_case(query)
    assert [m.body for m in page.items] == ["quatro", "três", "dois"]
    assert page.next_cursor is not None
    rest = await use_case(
        TimelineQuery(
            clinic_id=first.clinic_id, chat_id=first.chat_id, limit=3, cursor=page.next_cursor
        )
    )
    assert [m.body for m in rest.items] == ["um"]
    assert rest.next_cursor is None


async def test_the_timeline_of_another_clinics_chat_is_not_found(container, installation, clock):
    other = await add_channel(container, clock, "chan2", "clinic2")
    theirs = await receive(container, text(other.id))
    with pytest.raises(NotFound):
        await container.get_chat_timeline()(
            TimelineQuery(clinic_id=installation.clinic.id, chat_id=theirs.chat_id)
        )


@pytest.mark.parametrize("limit", [0, MAX_PAGE_SIZE + 1])
async def test_timeline_limit_errors(container, maria, limit):
    with pytest.raises(ValidationError):
        await container.get_chat_timeline()(
            TimelineQuery(clinic_id=maria.clinic_id, chat_id=maria.chat_id, limit=limit)
        )


async def test_a_webhook_of_another_provider_does_not_reach_the_channel(
    container, installation, clock
):
    from porfin_core.domain.channel import Provider as P
    from porfin_core.errors import NotFound as Missing
    from porfin_core.use_cases.record_delivery_status import DeliveryReport as Report

    command = attrs.evolve(text(installation.channel.id), provider=P.CLOUD_API)
    with pytest.raises(Missing):
        await container.receive_inbound_message()(command)
    with pytest.raises(Missing):
        await container.record_delivery_status()(
            Report(
                channel_id=installation.channel.id,
                provider_message_id="x",
                status="read",
                at=clock.now(),
                provider=P.EVOLUTION,
            )
        )
