"""Read a chat's messages."""

from __future__ import annotations

import attrs

from porfin_core.domain.message import Message
from porfin_core.pagination import DEFAULT_PAGE_SIZE, Page, check_limit
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.frozen(kw_only=True)
class TimelineQuery:
    """Which page of which chat's timeline."""

    clinic_id: str
    chat_id: str
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None


@attrs.define(kw_only=True)
class GetChatTimeline:
    """A chat's messages, newest first; the next page holds older ones."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: TimelineQuery) -> Page[Message]:
        """Return one page of the timeline.

        Raises:
            NotFound: no such chat in the clinic.
            ValidationError: bad page size or cursor.
        """
        check_limit(query.limit)
        async with self.uow_factory(read_only=True) as uow:
            await uow.chats.get(query.clinic_id, query.chat_id)
            return await uow.messages.list_for_chat(
                query.clinic_id, query.chat_id, limit=query.limit, cursor=query.cursor
            )
