"""The channel a webhook names: read once a second at most per process, and handed on to the
inbound use case so the message's transaction does not read it again."""

from __future__ import annotations

import pytest

from porfin_core.domain.channel import Provider
from porfin_core.domain.clinic import Role
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.find_webhook_channel import CACHE_MS, FindWebhookChannel
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.update_channel import ChangeChannel


class SteppedTimer:
    def __init__(self) -> None:
        self.ms = 0.0

    def monotonic_ms(self) -> float:
        return self.ms


def cloud(clinic_id: str) -> NewChannel:
    return NewChannel(
        clinic_id=clinic_id,
        name="Recepção",
        provider="cloud_api",
        phone="(11) 98765-4321",
        settings={
            "phone_number_id": "106540352242922",
            "waba_id": "102290129340398",
            "access_token": "EAAG" + "x" * 40,
            "app_secret": "0123456789abcdef0123456789abcd5e",
        },
    )


async def switch_off(container, clinic_id: str, channel_id: str) -> None:
    await container.update_channel()(
        ChangeChannel(
            clinic_id=clinic_id,
            channel_id=channel_id,
            active=False,
            viewer=Principal(user_id="admin", clinic_id=clinic_id, role=Role.ADMIN),
        )
    )


async def test_a_channel_is_reused_for_a_second_then_read_again(container, installation):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    timer = SteppedTimer()
    find = FindWebhookChannel(
        uow_factory=container.uow_factory(), secrets=container.secret_store(), timer=timer
    )
    assert (await find(channel.id, Provider.CLOUD_API)).active
    await switch_off(container, clinic_id, channel.id)
    timer.ms += CACHE_MS - 1
    assert (await find(channel.id, Provider.CLOUD_API)).active  # the staleness window
    with pytest.raises(NotFound):  # a cached channel still answers for its provider only
        await find(channel.id, Provider.EVOLUTION)
    timer.ms += 1
    assert not (await find(channel.id, Provider.CLOUD_API)).active


async def test_without_a_timer_every_call_reads_the_channel(container, installation):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    find = FindWebhookChannel(uow_factory=container.uow_factory(), secrets=container.secret_store())
    assert (await find(channel.id, Provider.CLOUD_API)).active
    await switch_off(container, clinic_id, channel.id)
    assert not (await find(channel.id, Provider.CLOUD_API)).active


async def test_an_unknown_channel_is_never_remembered(container, installation):
    find = FindWebhookChannel(
        uow_factory=container.uow_factory(),
        secrets=container.secret_store(),
        timer=SteppedTimer(),
    )
    with pytest.raises(NotFound):
        await find("nope", Provider.CLOUD_API)
    channel = await container.create_channel()(cloud(installation.clinic.id))
    assert (await find(channel.id, Provider.CLOUD_API)).id == channel.id


async def test_the_channel_handed_to_the_use_case_spares_a_read_and_must_match(
    container, installation
):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    other = installation.channel
    command = {
        "provider_message_id": "wamid.1",
        "sender": [Identity(IdentityKind.WA_ID, "5511987654321")],
        "body": "Oi",
        "provider": Provider.CLOUD_API,
    }
    received = await container.receive_inbound_message()(
        ReceiveMessage(channel_id=channel.id, channel=channel, **command)
    )
    assert (received.clinic_id, received.duplicate) == (clinic_id, False)
    with pytest.raises(ValidationError):
        await container.receive_inbound_message()(
            ReceiveMessage(channel_id=channel.id, channel=other, **command)
        )
    # The channel as the caller read it decides: switched off, nothing is stored.
    await switch_off(container, clinic_id, channel.id)
    switched_off = await container.get_channel()(clinic_id, channel.id)
    with pytest.raises(ValidationError):
        await container.receive_inbound_message()(
            ReceiveMessage(
                channel_id=channel.id,
                channel=switched_off,
                **{**command, "provider_message_id": "wamid.2"},
            )
        )
