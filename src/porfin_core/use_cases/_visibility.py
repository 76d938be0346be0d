"""Which chats a staff member may see and act on."""

from __future__ import annotations

from porfin_core.domain.chat import Chat
from porfin_core.errors import NotFound
from porfin_core.permissions import may_see_chat
from porfin_core.ports.auth import Principal


def visible(chat: Chat, viewer: Principal | None) -> Chat:
    """``chat`` if ``viewer`` (None: the system) may see it.

    Raises:
        NotFound: the viewer may not see it; answered like a missing chat, so nothing leaks.
    """
    if viewer is not None and not may_see_chat(viewer.role, viewer.user_id, chat):
        raise NotFound("chat not found", id=chat.id)
    return chat
