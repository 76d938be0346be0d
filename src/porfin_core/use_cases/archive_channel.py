"""Remove a WhatsApp number from the clinic, keeping its history."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import Channel, SecretRef
from porfin_core.ports.clock import Clock
from porfin_core.ports.secrets import SecretStore
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._channels import clinic_channel, discard_secrets
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class RemoveChannel:
    """The channel to remove.

    Attributes:
        clinic_id: The caller's clinic.
        channel_id: The channel.
        actor: Who removes it and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    channel_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class ArchiveChannel:
    """Soft-delete a channel: it becomes inactive for good (webhooks and sends are refused),
    is archived (hidden from the channel list, still found by id, its chats and messages
    untouched), and its credentials are destroyed.

    The change and its ``channel.archive`` audit record commit together; the secrets are
    deleted from the secret store after the commit. Removing a removed channel changes
    nothing.
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretStore
    clock: Clock

    async def __call__(self, command: RemoveChannel) -> Channel:
        """Archive the channel; returns it as stored.

        Raises:
            NotFound: no such channel in the clinic.
        """

        async def work(uow: UnitOfWork) -> tuple[Channel, list[SecretRef]]:
            channel = await clinic_channel(uow, command.clinic_id, command.channel_id)
            if channel.archived:
                return channel, []
            now = self.clock.now()
            dropped = channel.archive(now)
            await uow.channels.save(channel)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=channel.clinic_id,
                    at=now,
                    action=AuditAction.CHANNEL_ARCHIVE,
                    resource_type="channel",
                    resource_id=channel.id,
                    details={"provider": channel.provider.value, "name": channel.name},
                )
            )
            await uow.commit()
            return channel, dropped

        channel, dropped = await transact(self.uow_factory, work)
        await discard_secrets(self.secrets, dropped)
        return channel
