"""Read one chat."""

from __future__ import annotations

import attrs

from porfin_core.domain.chat import Chat
from porfin_core.ports.storage import UnitOfWorkFactory


@attrs.define(kw_only=True)
class GetChat:
    """A chat of the caller's clinic."""

    uow_factory: UnitOfWorkFactory

    async def __call__(self, clinic_id: str, chat_id: str) -> Chat:
        """Return the chat.

        Raises:
            NotFound: no such chat in the clinic.
        """
        async with self.uow_factory(read_only=True) as uow:
            return await uow.chats.get(clinic_id, chat_id)
