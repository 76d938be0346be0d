"""Download the file of one message of a chat (an audited read: ``media.read``)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.errors import NotFound
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.media import MediaStore
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read
from porfin_core.use_cases._visibility import visible
from porfin_core.use_cases.get_media import MediaDownload
from porfin_core.use_cases.store_inbound_media import StoreInboundMedia, StoreMedia


@attrs.frozen(kw_only=True)
class MessageMediaQuery:
    """Which message's file, and who reads it (``viewer`` decides which chats they may see;
    ``actor`` is recorded in the audit log, default: the viewer, else Porfin itself)."""

    clinic_id: str
    chat_id: str
    message_id: str
    viewer: Principal | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class GetMessageMedia:
    """The file of a message of a chat the caller may see.

    A received file Porfin has not kept yet (its download after the webhook is still running,
    or did not finish: the process stopped, the provider was down for a while) is fetched
    now, with the same checks; one that cannot be had answers why.
    """

    uow_factory: UnitOfWorkFactory
    media: MediaStore
    store: StoreInboundMedia
    clock: Clock

    async def __call__(self, query: MessageMediaQuery) -> MediaDownload:
        """Return the file.

        Raises:
            NotFound: no such chat in the clinic (or one the viewer may not see), no such
                message in the chat, a message without a file, or a file that cannot be had
                (``reason`` says why, as ``extra["media_error"]`` does).
            GatewayError: the provider failed for now; try again later.
            StorageUnavailable: the read could not be recorded; the file is not returned.
        """
        async with self.uow_factory(read_only=True) as uow:
            chat = visible(await uow.chats.get(query.clinic_id, query.chat_id), query.viewer)
            message = await uow.messages.get(query.clinic_id, query.message_id)
        if message.chat_id != chat.id:
            raise NotFound("message not found", id=query.message_id)
        if message.media is None:
            raise NotFound("the message has no file", id=message.id)
        media_id = message.media.stored_path
        if media_id is None:
            error = message.extra.get("media_error")
            if error is not None:
                raise NotFound(f"the file is not available: {error}", id=message.id, reason=error)
            result = await self.store(StoreMedia(clinic_id=query.clinic_id, message_id=message.id))
            if result.media_id is None:
                reason = result.reason or "the message has no file"
                raise NotFound(f"the file is not available: {reason}", id=message.id, reason=reason)
            media_id = result.media_id
        stored = await self.media.info(query.clinic_id, media_id)
        viewer = query.viewer
        await record_read(
            self.uow_factory,
            AuditEntry.of(
                actor_of(query.actor, viewer.user_id if viewer is not None else None),
                clinic_id=query.clinic_id,
                at=self.clock.now(),
                action=AuditAction.MEDIA_READ,
                resource_type="media",
                resource_id=stored.id,
                details={
                    "kind": stored.kind.value,
                    "size": str(stored.size),
                    "chat_id": chat.id,
                    "message_id": message.id,
                    "customer_id": chat.customer_id,
                },
            ),
        )
        return MediaDownload(stored, self.media.chunks(query.clinic_id, media_id))
