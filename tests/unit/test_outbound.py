"""The sending outbox: messages committed before any call, retried with backoff, resumed
after a crash without a second send, reconciled by status webhooks."""

from __future__ import annotations

import asyncio

import pytest
from dependency_injector import providers

from porfin_adapters.gateways import ProviderGatewayDirectory
from porfin_adapters.outbound import OutboundSender
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.message import DeliveryStatus, Message
from porfin_core.domain.outbound import (
    FIRST_RETRY,
    LEASE,
    LONGEST_RETRY,
    MAX_ATTEMPTS,
    Delivery,
    retry_delay,
)
from porfin_core.errors import GatewayError
from porfin_core.ports.messaging import SendReceipt
from porfin_core.use_cases.record_delivery_status import DeliveryReport
from porfin_core.use_cases.send_staff_message import SendText
from tests.unit.test_use_cases import receive, text


class Provider_:
    """A provider that answers each call as scripted (an error to raise, or accept)."""

    def __init__(self, *script: GatewayError | None) -> None:
        self.script = list(script)
        self.calls: list[str] = []
        self.accepted: list[str] = []

    async def send(self, channel: Channel, recipient: str, message: Message) -> SendReceipt:
        self.calls.append(message.id)
        step = self.script.pop(0) if self.script else None
        if step is not None:
            raise step
        provider_id = f"wamid.out{len(self.accepted) + 1}"
        self.accepted.append(message.id)
        return SendReceipt(provider_id, recipient)


def use(container, gateway) -> None:
    container.gateways.override(
        providers.Object(ProviderGatewayDirectory({Provider.SIMULATOR: gateway}))
    )
    container.send_staff_message.reset()
    container.outbound_sender.reset()


async def staff_send(container, installation, body="Olá"):
    received = await receive(container, text(installation.channel.id))
    return await container.send_staff_message()(
        SendText(clinic_id=received.clinic_id, chat_id=received.chat_id, author_id="ana", text=body)
    )


async def delivery_of(container, message) -> Delivery | None:
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.deliveries.get(message.clinic_id, message.id)


async def stored(container, message) -> Message:
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.messages.get(message.clinic_id, message.id)


RATE_LIMITED = GatewayError("rate limited", retryable=True, provider_code="130429")


def test_retries_back_off_exponentially_up_to_a_cap():
    assert [retry_delay(n) for n in (1, 2, 3)] == [FIRST_RETRY, FIRST_RETRY * 2, FIRST_RETRY * 4]
    assert retry_delay(40) == LONGEST_RETRY
    # Meta's pair rate limit asks for 4^n seconds.
    assert [retry_delay(n, 4).total_seconds() for n in (1, 2, 3)] == [4, 16, 64]


async def test_a_sent_message_leaves_nothing_in_the_outbox(container, installation):
    provider = Provider_()
    use(container, provider)
    message = await staff_send(container, installation)
    assert message.status is DeliveryStatus.SENT and message.provider_message_id == "wamid.out1"
    assert await delivery_of(container, message) is None


async def test_a_rate_limited_send_is_retried_by_the_sender_after_its_backoff(
    container, installation, clock
):
    provider = Provider_(RATE_LIMITED, RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation)
    assert message.status is DeliveryStatus.PENDING
    delivery = await delivery_of(container, message)
    assert delivery is not None and delivery.attempts == 1
    assert delivery.due_at == clock.now() + FIRST_RETRY
    assert delivery.last_error == "rate limited"

    sender = container.outbound_sender()
    assert await sender.drain() == 0  # not due yet
    clock.advance(seconds=2)
    assert await sender.drain() == 1  # second attempt: rate limited again, 4 s
    delivery = await delivery_of(container, message)
    assert delivery is not None and delivery.due_at == clock.now() + FIRST_RETRY * 2
    clock.advance(seconds=4)
    assert await sender.drain() == 1
    assert (await stored(container, message)).status is DeliveryStatus.SENT
    assert provider.calls == [message.id] * 3 and provider.accepted == [message.id]
    assert await delivery_of(container, message) is None


async def test_a_closed_window_fails_at_once_with_its_reason(container, installation):
    closed = GatewayError(
        "Re-engagement message: more than 24 hours since the patient wrote",
        retryable=False,
        provider_code="131047",
    )
    provider = Provider_(closed)
    use(container, provider)
    message = await staff_send(container, installation)
    assert message.status is DeliveryStatus.FAILED
    assert message.failure is not None and message.failure.error_code == "131047"
    assert "24 hours" in (message.failure.error_detail or "")
    assert await delivery_of(container, message) is None
    assert len(provider.calls) == 1


async def test_retries_stop_after_the_last_attempt(container, installation, clock):
    provider = Provider_(*[RATE_LIMITED] * MAX_ATTEMPTS)
    use(container, provider)
    message = await staff_send(container, installation)
    sender = container.outbound_sender()
    for _ in range(MAX_ATTEMPTS - 1):
        clock.advance(minutes=10)
        await sender.drain()
    final = await stored(container, message)
    assert final.status is DeliveryStatus.FAILED
    assert final.failure is not None and final.failure.error_code == "130429"
    assert len(provider.calls) == MAX_ATTEMPTS
    assert await delivery_of(container, message) is None


async def test_a_lost_answer_waits_for_the_status_webhook_before_sending_again(
    container, installation, clock
):
    lost = GatewayError("no answer", retryable=True, provider_code="timeout", delivery_unknown=True)
    provider = Provider_(lost)
    use(container, provider)
    message = await staff_send(container, installation)
    delivery = await delivery_of(container, message)
    assert delivery is not None and delivery.due_at == clock.now() + LEASE

    # The provider had taken it: its first status names Porfin's id.
    clock.advance(seconds=5)
    outcome = await container.record_delivery_status()(
        DeliveryReport(
            channel_id=installation.channel.id,
            provider_message_id="wamid.lost",
            status="delivered",
            at=clock.now(),
            message_id=message.id,
        )
    )
    assert outcome.applied and outcome.message_id == message.id
    reconciled = await stored(container, message)
    assert reconciled.provider_message_id == "wamid.lost"
    assert reconciled.status is DeliveryStatus.DELIVERED
    assert await delivery_of(container, message) is None
    clock.advance(minutes=5)
    assert await container.outbound_sender().drain() == 0
    assert len(provider.calls) == 1


async def test_a_crash_during_the_send_is_resumed_once_the_lease_ends(
    container, installation, clock
):
    """The process dies after the commit, before the answer: the sender sends it later."""

    class Dying:
        async def send(self, channel, recipient, message):
            raise KeyboardInterrupt  # stands for the process being killed mid-call

    use(container, Dying())
    with pytest.raises(KeyboardInterrupt):
        await staff_send(container, installation)
    async with container.uow_factory()(read_only=True) as uow:
        (delivery,) = await uow.deliveries.due(clock.now() + LEASE, 10)
    provider = Provider_()
    use(container, provider)
    sender = container.outbound_sender()
    assert await sender.drain() == 0  # claimed by the dead request until its lease ends
    clock.advance(seconds=LEASE.total_seconds())
    assert await sender.drain() == 1
    assert provider.accepted == [delivery.message_id]
    async with container.uow_factory()(read_only=True) as uow:
        message = await uow.messages.get(delivery.clinic_id, delivery.message_id)
    assert message.status is DeliveryStatus.SENT


async def test_a_status_naming_another_channels_message_is_not_trusted(
    container, installation, clock
):
    provider = Provider_(RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation)
    outcome = await container.record_delivery_status()(
        DeliveryReport(
            channel_id=installation.channel.id,
            provider_message_id="wamid.other",
            status="sent",
            at=clock.now(),
            message_id="no-such-message",
        )
    )
    assert outcome.pending and not outcome.applied
    assert (await stored(container, message)).provider_message_id is None


async def test_a_removed_channel_fails_what_it_had_queued(container, installation, clock):
    provider = Provider_(RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation)
    async with container.uow_factory()() as uow:
        channel = await uow.channels.get(installation.channel.id)
        channel.active = False
        await uow.channels.save(channel)
        await uow.commit()
    clock.advance(seconds=2)
    await container.outbound_sender().drain()
    final = await stored(container, message)
    assert final.status is DeliveryStatus.FAILED
    assert final.failure is not None and final.failure.error_code == "channel_unavailable"
    assert len(provider.calls) == 1


async def test_the_background_sender_sends_what_is_due(container, installation, clock):
    provider = Provider_(RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation)
    clock.advance(seconds=2)
    recorded = asyncio.Event()
    record = container.record_send_outcomes()

    async def record_and_tell(outcomes):
        stored = await record(outcomes)
        recorded.set()
        return stored

    sender = OutboundSender(
        container.claim_outbound_messages(), record_and_tell, container.gateways()
    )
    await sender.start()
    sender.wake()
    await asyncio.wait_for(recorded.wait(), 10)
    await sender.stop()
    assert (await stored(container, message)).status is DeliveryStatus.SENT
    assert provider.accepted == [message.id]


async def _chat_messages(container, message) -> list[Message]:
    async with container.uow_factory()(read_only=True) as uow:
        page = await uow.messages.list_for_chat(message.clinic_id, message.chat_id, limit=50)
    return page.items


async def test_a_bridges_echo_of_a_send_in_flight_names_it_instead_of_adding_a_message(
    container, installation, clock
):
    """Evolution reports Porfin's own send as a message from the clinic's phone, sometimes
    before the send's answer: the echo gives the pending message its id."""
    provider = Provider_(RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation, "Seu horário está confirmado")
    before = len(await _chat_messages(container, message))
    echo = await receive(
        container,
        text(
            installation.channel.id,
            "Seu horário está confirmado",
            pid="3EB0ECHO",
            from_clinic_phone=True,
        ),
    )
    assert echo.duplicate and echo.message_id == message.id
    final = await stored(container, message)
    assert final.provider_message_id == "3EB0ECHO" and final.status is DeliveryStatus.SENT
    assert len(await _chat_messages(container, message)) == before
    assert await delivery_of(container, message) is None
    clock.advance(minutes=5)
    assert await container.outbound_sender().drain() == 0  # nothing sent twice
    assert len(provider.calls) == 1


async def test_a_message_typed_on_the_phone_is_not_taken_for_a_send(container, installation):
    provider = Provider_(RATE_LIMITED)
    use(container, provider)
    message = await staff_send(container, installation, "Bom dia")
    typed = await receive(
        container,
        text(installation.channel.id, "Outra coisa", pid="3EB0TYPED", from_clinic_phone=True),
    )
    assert not typed.duplicate and typed.message_id != message.id
    assert (await stored(container, message)).provider_message_id is None


async def test_a_send_whose_echo_was_stored_apart_is_marked_sent_without_stealing_its_id(
    container, installation
):
    """The echo did not match (stored as the clinic phone's message); the send's answer then
    names the same provider id: the send is recorded sent, the id stays with the echo."""

    class Answering:
        async def send(self, channel, recipient, message):
            await receive(
                container,
                text(channel.id, "texto diferente", pid="3EB0SAME", from_clinic_phone=True),
            )
            return SendReceipt("3EB0SAME", recipient)

    use(container, Answering())
    message = await staff_send(container, installation, "Até amanhã")
    assert message.status is DeliveryStatus.SENT and message.provider_message_id is None
    assert message.extra["echo_message_id"] != message.id
    assert await delivery_of(container, message) is None


async def test_a_provider_naming_two_messages_alike_does_not_block_the_batch(
    container, installation, clock
):
    class SameId:
        calls = 0

        async def send(self, channel, recipient, message):
            SameId.calls += 1
            if SameId.calls <= 2:
                raise RATE_LIMITED
            return SendReceipt("3EB0SAME", recipient)

    use(container, SameId())
    first = await staff_send(container, installation, "Primeira")
    second = await container.send_staff_message()(
        SendText(clinic_id=first.clinic_id, chat_id=first.chat_id, author_id="ana", text="Segunda")
    )
    clock.advance(seconds=2)
    assert await container.outbound_sender().drain() == 2
    stored_first, stored_second = [await stored(container, m) for m in (first, second)]
    assert {stored_first.status, stored_second.status} == {DeliveryStatus.SENT}
    ids = {stored_first.provider_message_id, stored_second.provider_message_id}
    assert ids == {"3EB0SAME", None}
