"""List the inbox."""

from __future__ import annotations

import attrs

from porfin_core.domain.chat import Chat
from porfin_core.errors import ValidationError
from porfin_core.pagination import Page, check_limit
from porfin_core.permissions import sees_all_chats
from porfin_core.ports.auth import Principal
from porfin_core.ports.storage import ChatQuery, UnitOfWorkFactory


@attrs.define(kw_only=True)
class ListChats:
    """Chats of a clinic, most recent activity first, filtered and searched."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, query: ChatQuery, viewer: Principal | None = None) -> Page[Chat]:
        """Return one page of chats; a secretary (``viewer``) sees only the chats assigned to
        them and the unassigned queue.

        Raises:
            ValidationError: bad page size or cursor.
        """
        check_limit(query.limit)
        if viewer is not None and not sees_all_chats(viewer.role):
            query = attrs.evolve(query, visible_to=viewer.user_id)
        if query.assignee_id is not None and query.unassigned:
            raise ValidationError("filter by assignee or by unassigned, not both", field="assignee")
        async with self.uow_factory(read_only=True) as uow:
            return await uow.chats.list(query)
