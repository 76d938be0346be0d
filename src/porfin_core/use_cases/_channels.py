"""What the channel use cases share: finding a clinic's channel, reading provider settings,
keeping the clinic's numbers distinct, and writing or discarding secrets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from porfin_core.domain.channel import (
    Channel,
    MessageTemplate,
    Provider,
    ProviderSetting,
    SecretRef,
    SettingPlace,
    provider_setting,
    secret_hint,
)
from porfin_core.domain.phone import normalize_phone
from porfin_core.errors import Conflict, InvalidPhoneNumber, NotFound, PorfinError
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWork


async def clinic_channel(uow: UnitOfWork, clinic_id: str, channel_id: str) -> Channel:
    """The channel ``channel_id`` of ``clinic_id``.

    Raises:
        NotFound: no such channel, or another clinic's (answered alike: nothing leaks).
    """
    channel = await uow.channels.get(channel_id)
    if channel.clinic_id != clinic_id:
        raise NotFound("channel not found", id=channel_id)
    return channel


def channel_phone(raw: str) -> str:
    """The E.164 form of a channel's number.

    Raises:
        InvalidPhoneNumber: not a phone number (``field`` is ``phone``).
    """
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber as exc:
        raise InvalidPhoneNumber(exc.message, field="phone", value=raw) from exc


def read_settings(
    provider: Provider, values: Mapping[str, str | None]
) -> list[tuple[ProviderSetting, str | None]]:
    """``values`` checked against ``provider``'s settings, each cleaned (None: remove it).

    Raises:
        ValidationError: a setting the provider does not have, or an invalid value.
    """
    read = []
    for name, value in values.items():
        setting = provider_setting(provider, name)
        read.append((setting, setting.clean(value) if value is not None else None))
    return read


def read_templates(templates: Iterable[Mapping[str, str | None]]) -> list[MessageTemplate]:
    """Templates as the admin wrote them (``name``, ``body``, optional ``language``),
    checked (see :meth:`MessageTemplate.of`).

    Raises:
        ValidationError: a template WhatsApp would not take.
    """
    return [
        MessageTemplate.of(
            name=t.get("name") or "", body=t.get("body") or "", language=t.get("language")
        )
        for t in templates
    ]


def check_distinct(channel: Channel, others: Iterable[Channel]) -> None:
    """Refuse a second live channel of the clinic for the same number or provider account.

    Raises:
        Conflict: another channel that is not archived has the same phone number, Cloud API
            ``phone_number_id`` or Evolution server and instance.
    """
    for other in others:
        if other.id == channel.id or other.archived:
            continue
        if channel.phone is not None and other.phone == channel.phone:
            raise Conflict(
                "another channel of the clinic has this number",
                field="phone",
                channel_id=other.id,
            )
        if other.provider is not channel.provider:
            continue
        if channel.provider is Provider.CLOUD_API and channel.external_ids.get(
            "phone_number_id"
        ) == other.external_ids.get("phone_number_id"):
            raise Conflict(
                "another channel of the clinic has this phone_number_id",
                field="phone_number_id",
                channel_id=other.id,
            )
        if channel.provider is Provider.EVOLUTION and (
            channel.settings.get("base_url"),
            channel.external_ids.get("instance"),
        ) == (other.settings.get("base_url"), other.external_ids.get("instance")):
            raise Conflict(
                "another channel of the clinic uses this Evolution instance",
                field="instance",
                channel_id=other.id,
            )


async def store_secrets(
    secrets: SecretStore,
    ids: IdGenerator,
    settings: Iterable[tuple[ProviderSetting, str | None]],
) -> dict[str, SecretRef]:
    """Write the given secret values to the store under fresh keys; returns their
    references (with hints) by setting name. On failure, the ones written are discarded.

    Raises:
        StorageUnavailable: the secret store failed.
    """
    refs: dict[str, SecretRef] = {}
    try:
        for setting, value in settings:
            if setting.place is SettingPlace.SECRET and value is not None:
                ref = await secrets.put(ids.new_id(), value)
                refs[setting.name] = SecretRef(ref.ref, secret_hint(value))
    except BaseException:
        await discard_secrets(secrets, refs.values())
        raise
    return refs


async def discard_secrets(secrets: SecretStore, refs: Iterable[SecretRef]) -> None:
    """Delete secrets no record points at any more, best effort.

    A failure leaves an unreachable secret in the store (harmless, and never the cause of
    the request failing: the change it follows is committed already, or was not made).
    """
    for ref in refs:
        try:
            await secrets.delete(ref)
        except PorfinError:
            continue
