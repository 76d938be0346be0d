"""Change a channel: its label and state, or its number, provider settings and credentials."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import Channel, SecretRef, SettingPlace
from porfin_core.errors import Forbidden, ValidationError
from porfin_core.permissions import Permission, allows
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._channels import (
    channel_phone,
    check_distinct,
    clinic_channel,
    discard_secrets,
    read_settings,
    read_templates,
    store_secrets,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ChangeChannel:
    """The changes to make; fields left at their default change nothing.

    ``name`` and ``active`` are the manager's "limited" configuration
    (``channels.operate``); ``phone`` and ``settings`` (provider settings and credentials)
    need ``channels.manage``.

    Attributes:
        clinic_id: The caller's clinic.
        channel_id: The channel.
        name: A new label.
        active: Switch the channel on or off.
        phone: A new number, in any spelling.
        settings: Provider settings by name: a value replaces the current one (a secret is
            written anew), None removes an optional one.
        settings_provider: The provider ``settings`` were written for, when the caller says
            (the API's ``cloud_api``/``evolution`` objects); it must be the channel's.
        templates: A new list of approved templates (``name``, ``body``, optional
            ``language``) replacing the channel's; None: no change, empty: none.
        viewer: Who asks, with their role (None: the system, which may do everything).
        actor: Who asks and from where, for the audit record (default: the viewer, else
            Porfin itself).
    """

    clinic_id: str
    channel_id: str
    name: str | None = None
    active: bool | None = None
    phone: str | None = None
    settings: dict[str, str | None] = attrs.field(factory=dict)
    settings_provider: str | None = None
    templates: list[dict[str, str | None]] | None = None
    viewer: Principal | None = None
    actor: Actor | None = None


def _audit_details(command: ChangeChannel, channel: Channel) -> dict[str, str]:
    """What changed, as the audit record keeps it: setting names, never secret values."""
    details = {
        "name": channel.name if command.name is not None else None,
        "active": str(command.active).lower() if command.active is not None else None,
        "phone": channel.phone if command.phone is not None else None,
        "settings": ",".join(sorted(command.settings)) or None,
        "templates": ",".join(f"{t.name}:{t.language}" for t in channel.templates)
        if command.templates is not None
        else None,
    }
    return {key: value for key, value in details.items() if value is not None}


@attrs.define(kw_only=True)
class UpdateChannel:
    """Apply a staff member's changes to a channel in one transaction, with a
    ``channel.update`` audit record naming what changed.

    New secret values go to the secret store first; the channel then points at them, and the
    secrets they replace are deleted once the change is committed (if it is not, the new
    ones are deleted instead). A removed (archived) channel cannot be changed.
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretStore
    clock: Clock
    ids: IdGenerator

    def _check_allowed(self, command: ChangeChannel) -> None:
        viewer = command.viewer
        if viewer is None:
            return
        manages = (
            command.phone is not None or bool(command.settings) or command.templates is not None
        )
        if manages and not allows(viewer.role, Permission.CHANNELS_MANAGE):
            raise Forbidden(
                "changing a channel's number, provider settings, credentials or templates needs "
                "channels.manage",
                permission=Permission.CHANNELS_MANAGE.value,
            )
        if not allows(viewer.role, Permission.CHANNELS_OPERATE):
            raise Forbidden(
                "changing a channel needs channels.operate",
                permission=Permission.CHANNELS_OPERATE.value,
            )

    async def __call__(self, command: ChangeChannel) -> Channel:
        """Apply ``command``; returns the channel as stored.

        Raises:
            Forbidden: the viewer's role may not make one of the changes.
            NotFound: no such channel in the clinic.
            ValidationError: bad name, settings for another provider, a setting the
                provider does not have, an invalid value, removing a required setting; a
                template WhatsApp would not take, or templates on an Evolution number.
            InvalidPhoneNumber: ``phone`` is not a phone number.
            InvalidStateTransition: the channel was removed.
            Conflict: another live channel of the clinic has the new number or account.
        """
        self._check_allowed(command)
        phone = channel_phone(command.phone) if command.phone is not None else None
        async with self.uow_factory(read_only=True) as uow:
            provider = (await clinic_channel(uow, command.clinic_id, command.channel_id)).provider
        if command.settings_provider not in (None, provider.value):
            raise ValidationError(
                f"this channel's provider is {provider.value}, not {command.settings_provider}",
                field=str(command.settings_provider),
            )
        settings = read_settings(provider, command.settings)
        templates = read_templates(command.templates) if command.templates is not None else None
        refs = await store_secrets(self.secrets, self.ids, settings)

        async def work(uow: UnitOfWork) -> tuple[Channel, list[SecretRef]]:
            channel = await clinic_channel(uow, command.clinic_id, command.channel_id)
            channel.check_changeable()
            replaced: list[SecretRef] = []
            if command.name is not None:
                channel.rename(command.name)
            if command.active is not None:
                channel.set_active(command.active)
            if phone is not None:
                channel.change_phone(phone)
            for setting, value in settings:
                if setting.place is SettingPlace.SECRET:
                    old = channel.set_secret(setting, refs.get(setting.name))
                    if old is not None:
                        replaced.append(old)
                else:
                    channel.configure(setting, value)
            if templates is not None:
                channel.set_templates(templates)
            if phone is not None or settings:
                check_distinct(channel, await uow.channels.list(channel.clinic_id))
            await uow.channels.save(channel)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(
                        command.actor,
                        command.viewer.user_id if command.viewer is not None else None,
                    ),
                    clinic_id=channel.clinic_id,
                    at=self.clock.now(),
                    action=AuditAction.CHANNEL_UPDATE,
                    resource_type="channel",
                    resource_id=channel.id,
                    details=_audit_details(command, channel),
                )
            )
            await uow.commit()
            return channel, replaced

        try:
            channel, replaced = await transact(self.uow_factory, work)
        except BaseException:
            await discard_secrets(self.secrets, refs.values())
            raise
        await discard_secrets(self.secrets, replaced)
        return channel
