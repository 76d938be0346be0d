"""Channels in every storage backend: provider settings, secret references (with their
hints) and archiving survive the round trip, and the list still shows archived channels."""

from __future__ import annotations

from datetime import timedelta

import pytest

from porfin_core.domain.channel import (
    Channel,
    HealthRule,
    MessageTemplate,
    Provider,
    SecretRef,
    provider_setting,
    secret_hint,
)
from porfin_core.errors import NotFound
from tests import builders


def cloud_channel(at, channel_id="cloud1", clinic_id="clinic1") -> Channel:
    channel = Channel(
        id=channel_id,
        clinic_id=clinic_id,
        name="Recepção",
        provider=Provider.CLOUD_API,
        phone="+5511987654321",
        created_at=at,
    )
    channel.configure(provider_setting(Provider.CLOUD_API, "phone_number_id"), "106540352242922")
    channel.configure(provider_setting(Provider.CLOUD_API, "waba_id"), "102290129340398")
    channel.configure(provider_setting(Provider.CLOUD_API, "api_version"), "v23.0")
    token = "EAAG" + "a" * 60 + "WXYZ"
    channel.set_secret(
        provider_setting(Provider.CLOUD_API, "access_token"),
        SecretRef("store:s1", secret_hint(token)),
    )
    channel.set_secret(provider_setting(Provider.CLOUD_API, "app_secret"), SecretRef("store:s2"))
    channel.set_templates(
        [
            MessageTemplate.of("retorno", "Olá {{1}}, sua consulta é {{2}}."),
            MessageTemplate.of("retorno", "Hi {{1}}!", language="en_US"),
        ]
    )
    return channel


async def test_a_configured_channel_round_trips(backend, clock):
    channel = cloud_channel(clock.now())
    async with backend.uow_factory() as uow:
        await uow.channels.save(channel)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.channels.get("cloud1")
    assert stored == channel
    assert stored.secrets["access_token"] == SecretRef("store:s1", "WXYZ")
    assert stored.secrets["app_secret"].hint is None
    assert stored.external_ids == {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
    }
    assert stored.settings == {"api_version": "v23.0"}
    assert stored.archived_at is None


async def test_an_archived_channel_is_kept_and_listed_in_creation_order(backend, clock):
    older = builders.channel(clock.now(), "chan1")
    newer = cloud_channel(clock.now() + timedelta(minutes=1))
    async with backend.uow_factory() as uow:
        await uow.channels.save(older)
        await uow.channels.save(newer)
        await uow.commit()
    async with backend.uow_factory() as uow:
        channel = await uow.channels.get("cloud1")
        dropped = channel.archive(clock.now() + timedelta(hours=1))
        await uow.channels.save(channel)
        await uow.commit()
    assert sorted(r.ref for r in dropped) == ["store:s1", "store:s2"]  # maps keep no order
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.channels.get("cloud1")
        listed = await uow.channels.list("clinic1")
    assert stored.archived_at == clock.now() + timedelta(hours=1)
    assert stored.active is False and stored.secrets == {}
    assert [c.id for c in listed] == ["chan1", "cloud1"]
    assert listed[1] == stored


async def test_channels_of_another_clinic_are_apart(backend, clock):
    async with backend.uow_factory() as uow:
        await uow.channels.save(cloud_channel(clock.now(), "a", "clinic1"))
        await uow.channels.save(cloud_channel(clock.now(), "b", "clinic2"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert [c.id for c in await uow.channels.list("clinic1")] == ["a"]
        assert [c.id for c in await uow.channels.list("clinic2")] == ["b"]
        assert (await uow.channels.get("b")).clinic_id == "clinic2"  # webhooks know only the id
        with pytest.raises(NotFound):
            await uow.channels.get("c")


async def test_a_connection_with_its_health_round_trips(backend, clock):
    """What the health monitor records (activity, checks, degraded flag, reconnect backoff)
    survives the round trip; recorded events are never stored with the channel."""
    now = clock.now()
    channel = cloud_channel(now, channel_id="evo1")
    channel.provider = Provider.EVOLUTION
    rule = HealthRule()
    channel.record_health_check(at=now, rule=rule, state="open")
    channel.record_health_check(at=now + timedelta(minutes=31), rule=rule, state="open")
    channel.start_reconnect(now + timedelta(minutes=31), rule)
    assert channel.connection.degraded and len(channel.pull_events()) == 1
    channel.record_health_check(at=now + timedelta(minutes=32), rule=rule, state="open")
    async with backend.uow_factory() as uow:
        await uow.channels.save(channel)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.channels.get("evo1")
    assert stored.connection == channel.connection
    assert stored.connection.reconnect_attempts == 1
    assert stored.connection.next_reconnect_at == now + timedelta(minutes=32)
    assert stored.connection.checked_at == now + timedelta(minutes=32)
    assert stored.pull_events() == []
