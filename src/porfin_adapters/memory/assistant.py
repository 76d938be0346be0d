"""In-memory assistant turns and monthly spending (wired into :class:`MemoryUnitOfWork` as
``uow.assistant_turns``).

Tables ``assistant_turns`` (documents by id) and ``assistant_usage`` (documents by
``clinic_id|month``). Write units of work run one at a time, so a month's spending never
conflicts here.
"""

from __future__ import annotations

import copy
from typing import Any

from porfin_adapters.memory.storage import _Repos
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.assistant import AssistantTurn, AssistantUsage
from porfin_core.errors import NotFound


class MemoryAssistantTurnRepository(_Repos):
    """Turns and spending of every clinic's assistants."""

    async def get(self, clinic_id: str, turn_id: str) -> AssistantTurn:
        doc = self._get("assistant_turns", turn_id, "assistant turn")
        if doc["clinic_id"] != clinic_id:
            raise NotFound("assistant turn not found", id=turn_id)
        return _turn(doc)

    async def for_chat(self, clinic_id: str, chat_id: str, limit: int = 20) -> list[AssistantTurn]:
        turns = [
            _turn(doc)
            for doc in self._table("assistant_turns").values()
            if doc["clinic_id"] == clinic_id and doc["chat_id"] == chat_id
        ]
        turns.sort(key=lambda t: (t.started_at, t.id), reverse=True)
        return turns[:limit]

    async def save(self, turn: AssistantTurn) -> None:
        self._put("assistant_turns", turn.id, to_document(turn))

    async def usage(self, clinic_id: str, month: str) -> AssistantUsage:
        doc = self._table("assistant_usage").get(f"{clinic_id}|{month}")
        if doc is None:
            return AssistantUsage(clinic_id=clinic_id, month=month)
        return from_document(doc, AssistantUsage)

    async def save_usage(self, usage: AssistantUsage) -> None:
        self._put("assistant_usage", f"{usage.clinic_id}|{usage.month}", to_document(usage))


def _turn(doc: dict[str, Any]) -> AssistantTurn:
    # The steps' details are plain data the converter passes through as they are: a copy, so
    # a turn handed out never shares them with the store.
    return from_document(copy.deepcopy(doc), AssistantTurn)
