"""Add a WhatsApp number to the clinic."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import (
    PROVIDER_SETTINGS,
    Channel,
    Provider,
    SettingPlace,
    channel_name,
)
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._channels import (
    channel_phone,
    check_distinct,
    discard_secrets,
    read_settings,
    read_templates,
    store_secrets,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewChannel:
    """A number to add.

    Attributes:
        clinic_id: The clinic.
        name: Label shown to staff ("Recepção").
        provider: ``cloud_api``, ``evolution`` or ``simulator``.
        phone: The number in any spelling; required except for the simulator.
        settings: The provider's settings by name, secrets included (see
            ``porfin_core.domain.channel.PROVIDER_SETTINGS``).
        templates: Approved WhatsApp templates staff may send: ``name``, ``body`` (with
            ``{{1}}``... placeholders), optional ``language`` (default pt_BR).
        actor: Who adds it and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    name: str
    provider: str
    phone: str | None = None
    settings: dict[str, str] = attrs.field(factory=dict)
    templates: list[dict[str, str | None]] = attrs.field(factory=list)
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CreateChannel:
    """Check a new channel's settings, keep its secrets in the secret store and the channel,
    holding only references to them, in the records (with a ``channel.create`` audit record).

    A clinic cannot have two live channels for the same number, Cloud API
    ``phone_number_id`` or Evolution instance (``conflict``).
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretStore
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewChannel) -> Channel:
        """Create the channel; returns it as stored (active).

        Raises:
            ValidationError: bad name, unknown provider, a setting the provider does not
                have, a missing required setting or phone, an invalid value; a template
                WhatsApp would not take, or templates on an Evolution number.
            InvalidPhoneNumber: ``phone`` is not a phone number.
            Conflict: the clinic already has a live channel for this number or account.
            StorageUnavailable: the records or the secret store failed (no secret is left
                behind).
        """
        name = channel_name(command.name)
        try:
            provider = Provider(command.provider)
        except ValueError:
            allowed = ", ".join(p.value for p in Provider)
            raise ValidationError(f"provider must be one of: {allowed}", field="provider") from None
        if command.phone is not None:
            phone: str | None = channel_phone(command.phone)
        elif provider is Provider.SIMULATOR:
            phone = None
        else:
            raise ValidationError(f"{provider.value} channels need their phone", field="phone")
        settings = read_settings(provider, command.settings)
        given = {setting.name for setting, value in settings if value is not None}
        missing = [
            s.name for s in PROVIDER_SETTINGS[provider] if s.required and s.name not in given
        ]
        if missing:
            raise ValidationError(
                f"{provider.value} channels need: {', '.join(missing)}", field=missing[0]
            )
        templates = read_templates(command.templates)
        refs = await store_secrets(self.secrets, self.ids, settings)
        channel_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> Channel:
            now = self.clock.now()
            channel = Channel(
                id=channel_id,
                clinic_id=command.clinic_id,
                name=name,
                provider=provider,
                phone=phone,
                created_at=now,
            )
            for setting, value in settings:
                if setting.place is SettingPlace.SECRET:
                    channel.set_secret(setting, refs.get(setting.name))
                else:
                    channel.configure(setting, value)
            channel.set_templates(templates)
            check_distinct(channel, await uow.channels.list(command.clinic_id))
            await uow.channels.save(channel)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.CHANNEL_CREATE,
                    resource_type="channel",
                    resource_id=channel.id,
                    details={"provider": provider.value, "name": name, "phone": phone or ""},
                )
            )
            await uow.commit()
            return channel

        try:
            return await transact(self.uow_factory, work)
        except BaseException:
            await discard_secrets(self.secrets, refs.values())
            raise
