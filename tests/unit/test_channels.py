"""Channels (WhatsApp numbers): adding, changing and removing them, and where secrets go."""

from __future__ import annotations

import json

import pytest

from porfin_adapters.serialization import from_document
from porfin_core.domain.channel import Channel, Provider, SecretRef, provider_setting
from porfin_core.domain.clinic import Role
from porfin_core.domain.customer import Identity
from porfin_core.errors import (
    Conflict,
    Forbidden,
    InvalidPhoneNumber,
    InvalidStateTransition,
    NotFound,
    ValidationError,
)
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.archive_channel import RemoveChannel
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_channel import ChangeChannel

TOKEN = "EAAGm0PX4ZCpsBAKZCmiV6eZA" + "z" * 120 + "T0K3"
APP_SECRET = "0123456789abcdef0123456789abcd5e"
API_KEY = "B6D711FCDE4D4FD5936544120E713976"


def cloud(clinic_id: str, **overrides) -> NewChannel:
    settings = {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "access_token": TOKEN,
        "app_secret": APP_SECRET,
    }
    settings.update(overrides.pop("settings", {}))
    fields = {"name": "Recepção", "provider": "cloud_api", "phone": "(11) 98765-4321"}
    return NewChannel(clinic_id=clinic_id, settings=settings, **{**fields, **overrides})


def evolution(clinic_id: str, **overrides) -> NewChannel:
    settings = {
        "base_url": "https://evolution.clinica.com.br/",
        "instance": "recepcao",
        "api_key": API_KEY,
    }
    settings.update(overrides.pop("settings", {}))
    fields = {"name": "Celular da recepção", "provider": "evolution", "phone": "551133334444"}
    return NewChannel(clinic_id=clinic_id, settings=settings, **{**fields, **overrides})


def secret_store(container):
    return container.secret_store()


def stored_documents(container) -> str:
    """Everything the records hold, as text."""
    return json.dumps(container.storage().uow_factory.store.tables, default=str)


async def audit_actions(container, clinic_id: str) -> list[str]:
    async with container.uow_factory()(read_only=True) as uow:
        return [record.action async for record in uow.audit.iterate(clinic_id)]


def viewer(role: Role, clinic_id: str) -> Principal:
    return Principal(f"{role.value}-1", clinic_id, role)


async def test_a_cloud_api_channel_keeps_only_references_to_its_secrets(container, installation):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    assert channel.phone == "+5511987654321"
    assert channel.active and not channel.archived
    assert channel.external_ids == {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
    }
    assert channel.settings == {}
    assert set(channel.secrets) == {"access_token", "app_secret"}
    assert channel.secrets["access_token"].hint == "T0K3"
    assert channel.secrets["app_secret"].hint == "cd5e"
    store = secret_store(container)
    assert await store.get(channel.secrets["access_token"]) == TOKEN
    assert await store.get(channel.secrets["app_secret"]) == APP_SECRET
    records = stored_documents(container)
    assert TOKEN not in records and APP_SECRET not in records
    assert await container.get_channel()(clinic_id, channel.id) == channel
    assert await audit_actions(container, clinic_id) == [
        "clinic.create",
        "channel.create",
        "channel.create",
    ]


async def test_an_evolution_channel_and_a_simulator(container, installation):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(evolution(clinic_id))
    assert channel.settings == {"base_url": "https://evolution.clinica.com.br"}
    assert channel.external_ids == {"instance": "recepcao"}
    assert channel.phone == "+551133334444"  # a landline keeps its 8 digits
    assert await secret_store(container).get(channel.secrets["api_key"]) == API_KEY
    simulator = await container.create_channel()(
        NewChannel(clinic_id=clinic_id, name="Testes", provider="simulator")
    )
    assert simulator.phone is None and simulator.secrets == {}
    listed = await container.list_channels()(clinic_id)
    assert [c.id for c in listed] == [installation.channel.id, channel.id, simulator.id]


@pytest.mark.parametrize(
    ("command", "field"),
    [
        (lambda c: cloud(c, name="   "), "name"),
        (lambda c: cloud(c, provider="telegram"), "provider"),
        (lambda c: cloud(c, phone=None), "phone"),
        (lambda c: cloud(c, settings={"instance": "x"}), "instance"),
        (lambda c: cloud(c, settings={"phone_number_id": "12ab"}), "phone_number_id"),
        (lambda c: cloud(c, settings={"api_version": "latest"}), "api_version"),
        (lambda c: cloud(c, settings={"access_token": "  "}), "access_token"),
        (lambda c: cloud(c, settings={"access_token": "a\nb"}), "access_token"),
        (lambda c: cloud(c, settings={"access_token": "x" * 4097}), "access_token"),
        (lambda c: evolution(c, settings={"base_url": "ftp://evolution"}), "base_url"),
        (lambda c: evolution(c, settings={"base_url": "https://u:p@evo.com"}), "base_url"),
        (lambda c: evolution(c, settings={"instance": "../admin"}), "instance"),
        (
            lambda c: NewChannel(
                clinic_id=c, name="Sim", provider="simulator", settings={"a": "b"}
            ),
            "a",
        ),
    ],
)
async def test_bad_channels_are_refused_and_nothing_is_kept(
    container, installation, command, field
):
    with pytest.raises(ValidationError) as caught:
        await container.create_channel()(command(installation.clinic.id))
    assert caught.value.fields.get("field") == field
    assert secret_store(container).values == {}
    assert len(await container.list_channels()(installation.clinic.id)) == 1


async def test_required_settings_are_named_when_missing(container, installation):
    command = cloud(installation.clinic.id)
    del command.settings["app_secret"], command.settings["waba_id"]
    with pytest.raises(ValidationError, match="waba_id, app_secret"):
        await container.create_channel()(command)
    assert secret_store(container).values == {}


async def test_a_phone_that_is_not_a_number_is_refused(container, installation):
    with pytest.raises(InvalidPhoneNumber) as caught:
        await container.create_channel()(cloud(installation.clinic.id, phone="recepção"))
    assert caught.value.fields["field"] == "phone"


async def test_one_clinic_cannot_add_the_same_number_or_account_twice(container, installation):
    clinic_id = installation.clinic.id
    first = await container.create_channel()(cloud(clinic_id))
    for duplicate, field in [
        (cloud(clinic_id, settings={"phone_number_id": "999"}), "phone"),
        (cloud(clinic_id, phone="+55 21 99876-5432"), "phone_number_id"),
        (evolution(clinic_id), None),  # a different number and provider: fine
        (evolution(clinic_id, phone="+55 21 3333-4444"), "instance"),
    ]:
        if field is None:
            await container.create_channel()(duplicate)
            continue
        with pytest.raises(Conflict) as caught:
            await container.create_channel()(duplicate)
        assert caught.value.fields["field"] == field
    assert len(secret_store(container).values) == 3  # the refused ones left nothing behind
    # Once the first is removed, its number may be added again.
    await container.archive_channel()(RemoveChannel(clinic_id=clinic_id, channel_id=first.id))
    await container.create_channel()(cloud(clinic_id))


async def test_another_clinics_channel_is_not_found(container, installation):
    other = await container.create_channel()(cloud("clinic2"))
    clinic_id = installation.clinic.id
    with pytest.raises(NotFound):
        await container.get_channel()(clinic_id, other.id)
    with pytest.raises(NotFound):
        await container.update_channel()(
            ChangeChannel(clinic_id=clinic_id, channel_id=other.id, name="Minha")
        )
    with pytest.raises(NotFound):
        await container.archive_channel()(RemoveChannel(clinic_id=clinic_id, channel_id=other.id))
    assert (await container.get_channel()("clinic2", other.id)).name == "Recepção"


async def test_a_manager_renames_and_switches_off_but_never_touches_credentials(
    container, installation
):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    manager = viewer(Role.MANAGER, clinic_id)
    changed = await container.update_channel()(
        ChangeChannel(
            clinic_id=clinic_id,
            channel_id=channel.id,
            name="  Recepção   2 ",
            active=False,
            viewer=manager,
        )
    )
    assert (changed.name, changed.active) == ("Recepção 2", False)
    for forbidden in (
        {"settings": {"access_token": "stolen" * 5}},
        {"settings": {"api_version": "v24.0"}},
        {"phone": "+5511912345678"},
    ):
        with pytest.raises(Forbidden):
            await container.update_channel()(
                ChangeChannel(
                    clinic_id=clinic_id, channel_id=channel.id, viewer=manager, **forbidden
                )
            )
    with pytest.raises(Forbidden):
        await container.update_channel()(
            ChangeChannel(
                clinic_id=clinic_id,
                channel_id=channel.id,
                name="x",
                viewer=viewer(Role.SECRETARY, clinic_id),
            )
        )
    assert await container.get_channel()(clinic_id, channel.id) == changed


async def test_new_credentials_replace_and_destroy_the_old_ones(container, installation):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    old = channel.secrets["access_token"]
    new_token = "EAAG-rotated-" + "r" * 40 + "9999"
    changed = await container.update_channel()(
        ChangeChannel(
            clinic_id=clinic_id,
            channel_id=channel.id,
            settings={
                "access_token": new_token,
                "webhook_verify_token": "verify-me-please-1234",
                "api_version": "v23.0",
            },
            settings_provider="cloud_api",
            viewer=viewer(Role.ADMIN, clinic_id),
        )
    )
    store = secret_store(container)
    assert await store.get(changed.secrets["access_token"]) == new_token
    assert changed.secrets["access_token"].hint == "9999"
    assert changed.secrets["app_secret"] == channel.secrets["app_secret"]
    assert changed.settings == {"api_version": "v23.0"}
    with pytest.raises(NotFound):
        await store.get(old)
    # null removes an optional setting; a required one cannot be removed.
    cleared = await container.update_channel()(
        ChangeChannel(
            clinic_id=clinic_id,
            channel_id=channel.id,
            settings={"webhook_verify_token": None, "api_version": None},
        )
    )
    assert "webhook_verify_token" not in cleared.secrets and cleared.settings == {}
    assert len(store.values) == 2
    with pytest.raises(ValidationError):
        await container.update_channel()(
            ChangeChannel(clinic_id=clinic_id, channel_id=channel.id, settings={"app_secret": None})
        )
    with pytest.raises(ValidationError) as caught:
        await container.update_channel()(
            ChangeChannel(
                clinic_id=clinic_id,
                channel_id=channel.id,
                settings={"api_key": "x" * 20},
                settings_provider="evolution",
            )
        )
    assert caught.value.fields["field"] == "evolution"
    assert len(store.values) == 2  # refused changes leave no secret behind
    records = await audit_actions(container, clinic_id)
    assert records[-2:] == ["channel.update", "channel.update"]


async def test_a_removed_channel_keeps_its_history_and_loses_its_credentials(
    container, installation
):
    clinic_id = installation.clinic.id
    channel = await container.create_channel()(cloud(clinic_id))
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=channel.id,
            provider_message_id="wamid.1",
            sender=[Identity.of_phone("+5521998765432")],
            body="Oi",
        )
    )
    removed = await container.archive_channel()(
        RemoveChannel(clinic_id=clinic_id, channel_id=channel.id)
    )
    assert removed.archived and not removed.active and removed.secrets == {}
    assert secret_store(container).values == {}
    again = await container.archive_channel()(
        RemoveChannel(clinic_id=clinic_id, channel_id=channel.id)
    )
    assert again == removed  # removing twice changes nothing
    assert (await audit_actions(container, clinic_id)).count("channel.archive") == 1
    assert [c.id for c in await container.list_channels()(clinic_id)] == [installation.channel.id]
    assert [c.id for c in await container.list_channels()(clinic_id, include_archived=True)] == [
        installation.channel.id,
        channel.id,
    ]
    assert (await container.get_channel()(clinic_id, channel.id)).archived
    chat = await container.get_chat()(clinic_id, received.chat_id)
    assert chat.channel_id == channel.id
    with pytest.raises(InvalidStateTransition):
        await container.update_channel()(
            ChangeChannel(clinic_id=clinic_id, channel_id=channel.id, active=True)
        )
    with pytest.raises(InvalidStateTransition):
        await container.update_channel()(ChangeChannel(clinic_id=clinic_id, channel_id=channel.id))
    with pytest.raises(ValidationError, match="inactive"):
        await container.receive_inbound_message()(
            ReceiveMessage(
                channel_id=channel.id,
                provider_message_id="wamid.2",
                sender=[Identity.of_phone("+5521998765432")],
                body="Alguém?",
            )
        )
    with pytest.raises(ValidationError, match="inactive or was removed"):
        await container.send_staff_message()(
            SendText(clinic_id=clinic_id, chat_id=received.chat_id, author_id="ana", text="Oi")
        )


async def test_a_switched_off_channel_sends_nothing_until_switched_on(container, installation):
    clinic_id = installation.clinic.id
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="sim-1",
            sender=[Identity.of_phone("+5511987654321")],
            body="Oi",
        )
    )
    change = ChangeChannel(clinic_id=clinic_id, channel_id=installation.channel.id, active=False)
    await container.update_channel()(change)
    send = SendText(clinic_id=clinic_id, chat_id=received.chat_id, author_id="ana", text="Olá")
    with pytest.raises(ValidationError):
        await container.send_staff_message()(send)
    assert len(container.simulator_gateway().sent) == 0
    await container.update_channel()(
        ChangeChannel(clinic_id=clinic_id, channel_id=installation.channel.id, active=True)
    )
    assert (await container.send_staff_message()(send)).status.value == "sent"


def test_references_stored_before_hints_still_load():
    document = {
        "id": "c1",
        "clinic_id": "clinic1",
        "name": "Recepção",
        "provider": "cloud_api",
        "secrets": {"access_token": "store:abc"},
        "created_at": "2026-11-25T13:00:00+00:00",
    }
    channel = from_document(document, Channel)
    assert channel.secrets == {"access_token": SecretRef("store:abc")}
    assert channel.archived_at is None


def test_settings_are_cleaned_and_checked_one_by_one():
    setting = provider_setting(Provider.EVOLUTION, "base_url")
    assert (
        setting.clean(" https://evo.example.com:8080/api/ ") == "https://evo.example.com:8080/api"
    )
    with pytest.raises(ValidationError):
        provider_setting(Provider.SIMULATOR, "base_url")
