"""Storage of the AI receptionist's turns and of each clinic's monthly model spending."""

from __future__ import annotations

from typing import Protocol

from porfin_core.domain.assistant import AssistantTurn, AssistantUsage


class AssistantTurnRepository(Protocol):
    """The turns of the clinics' assistants (``uow.assistant_turns``)."""

    async def save(self, turn: AssistantTurn) -> None:
        """Insert or replace the turn (its clinic and chat never change)."""
        ...

    async def get(self, clinic_id: str, turn_id: str) -> AssistantTurn:
        """The turn. Raises: NotFound (also for another clinic's)."""
        ...

    async def for_chat(self, clinic_id: str, chat_id: str, limit: int = 20) -> list[AssistantTurn]:
        """The chat's turns, newest first (by ``started_at``, then id), at most ``limit``."""
        ...

    async def usage(self, clinic_id: str, month: str) -> AssistantUsage:
        """The clinic's spending in ``month`` (``YYYY-MM``); zero when nothing was spent."""
        ...

    async def save_usage(self, usage: AssistantUsage) -> None:
        """Insert or replace the month's spending.

        Raises:
            TransactionConflict: it changed since it was read (SQLite, Firestore).
        """
        ...
