"""What the AI did in a chat, turn by turn, so staff can see why it said what it said."""

from __future__ import annotations

import attrs

from porfin_core.domain.assistant import AssistantTurn
from porfin_core.ports.auth import Principal
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._visibility import visible

MAX_TURNS = 100


@attrs.define(kw_only=True)
class ListAssistantTurns:
    """The chat's assistant turns, newest first, with their traces."""

    uow_factory: UnitOfWorkFactory

    async def __call__(
        self, clinic_id: str, chat_id: str, viewer: Principal | None = None, limit: int = 20
    ) -> list[AssistantTurn]:
        """The turns.

        Raises:
            NotFound: no such chat, or the viewer may not see it.
        """
        async with self.uow_factory(read_only=True) as uow:
            visible(await uow.chats.get(clinic_id, chat_id), viewer)
            return await uow.assistant_turns.for_chat(
                clinic_id, chat_id, limit=max(1, min(limit, MAX_TURNS))
            )
