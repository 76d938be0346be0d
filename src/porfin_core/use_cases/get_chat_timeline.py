"""Read a chat's messages (an audited read: ``messages.read``)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.message import Message
from porfin_core.pagination import DEFAULT_PAGE_SIZE, Page, check_limit
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read
from porfin_core.use_cases._visibility import visible


@attrs.frozen(kw_only=True)
class TimelineQuery:
    """Which page of which chat's timeline, and who reads it (``actor``, for the audit
    record; default: the viewer, else Porfin itself)."""

    clinic_id: str
    chat_id: str
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None
    viewer: Principal | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class GetChatTimeline:
    """A chat's messages, newest first; the next page holds older ones. Each page read is
    recorded in the audit log."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, query: TimelineQuery) -> Page[Message]:
        """Return one page of the timeline.

        Raises:
            NotFound: no such chat in the clinic, or one the viewer may not see.
            ValidationError: bad page size or cursor.
            StorageUnavailable: the read could not be recorded; nothing is returned.
        """
        check_limit(query.limit)
        async with self.uow_factory(read_only=True) as uow:
            chat = visible(await uow.chats.get(query.clinic_id, query.chat_id), query.viewer)
            page = await uow.messages.list_for_chat(
                query.clinic_id, query.chat_id, limit=query.limit, cursor=query.cursor
            )
        viewer = query.viewer
        entry = AuditEntry.of(
            actor_of(query.actor, viewer.user_id if viewer is not None else None),
            clinic_id=query.clinic_id,
            at=self.clock.now(),
            action=AuditAction.MESSAGES_READ,
            resource_type="chat",
            resource_id=chat.id,
            details={"customer_id": chat.customer_id, "count": str(len(page.items))},
        )
        await record_read(self.uow_factory, entry)
        return page
