"""Read one chat (an audited read: ``chat.read``)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.chat import Chat
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read
from porfin_core.use_cases._visibility import visible


@attrs.define(kw_only=True)
class GetChat:
    """A chat of the caller's clinic; the read is recorded in the audit log."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(
        self,
        clinic_id: str,
        chat_id: str,
        viewer: Principal | None = None,
        *,
        actor: Actor | None = None,
    ) -> Chat:
        """Return the chat (as ``viewer`` may see it, when given).

        ``actor`` is who reads and from where, for the audit record (default: the viewer,
        else Porfin itself).

        Raises:
            NotFound: no such chat in the clinic, or one the viewer may not see.
            StorageUnavailable: the read could not be recorded; the chat is not returned.
        """
        async with self.uow_factory(read_only=True) as uow:
            chat = visible(await uow.chats.get(clinic_id, chat_id), viewer)
        entry = AuditEntry.of(
            actor_of(actor, viewer.user_id if viewer is not None else None),
            clinic_id=clinic_id,
            at=self.clock.now(),
            action=AuditAction.CHAT_READ,
            resource_type="chat",
            resource_id=chat.id,
            details={"customer_id": chat.customer_id},
        )
        await record_read(self.uow_factory, entry)
        return chat
