"""Firestore assistant turns and monthly spending (wired into :class:`FirestoreUnitOfWork` as
``uow.assistant_turns``).

Layout, under ``{root}clinics/{clinic_id}``::

    assistant_turns/{id}      the turn (+ _sort_micros: started_at; + _steps: its steps as
                              JSON text); a chat's turns come from one query on chat_id
                              ordered by _sort_micros (composite index in
                              firestore.indexes.json)
    assistant_usage/{month}   the month's spending (``YYYY-MM``)

The steps are stored as JSON text, not as Firestore values: their details are whatever the
pipeline saw (tool arguments and results, retrieved chunks), and Firestore refuses some plain
data (an array directly inside an array, map keys like ``__x__``); as text they also cost no
index entries. A month's spending is read through the transaction before it is rewritten, so
two turns adding to one month conflict like the lookup documents of ``storage.py``.
"""

from __future__ import annotations

import json
from typing import Any

from google.cloud.firestore import AsyncDocumentReference, FieldFilter

from porfin_adapters.firestore.storage import Doc, _doc_id, _newest_first, _Repo, _strip
from porfin_adapters.serialization import from_document, to_document, utc_micros
from porfin_core.domain.assistant import AssistantTurn, AssistantUsage
from porfin_core.errors import NotFound


class FirestoreAssistantTurnRepository(_Repo):
    """Turns at ``{root}clinics/{clinic}/assistant_turns/{id}``, spending at
    ``{root}clinics/{clinic}/assistant_usage/{month}``."""

    def _ref(self, clinic_id: str, turn_id: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "assistant_turns").document(_doc_id(turn_id))

    def _usage_ref(self, clinic_id: str, month: str) -> AsyncDocumentReference:
        return self._s.sub(clinic_id, "assistant_usage").document(_doc_id(month))

    async def get(self, clinic_id: str, turn_id: str) -> AssistantTurn:
        doc = await self._s.get(self._ref(clinic_id, turn_id))
        if doc is None:
            raise NotFound("assistant turn not found", id=turn_id)
        return _load_turn(doc)

    async def for_chat(self, clinic_id: str, chat_id: str, limit: int = 20) -> list[AssistantTurn]:
        query = self._s.sub(clinic_id, "assistant_turns").where(
            filter=FieldFilter("chat_id", "==", chat_id)
        )
        snapshots = await self._s.query(_newest_first(query, None, limit))
        return [_load_turn(s.to_dict() or {}) for s in snapshots]

    async def save(self, turn: AssistantTurn) -> None:
        doc: Doc = to_document(turn)
        steps = doc.pop("steps")
        doc |= {
            "_sort_micros": utc_micros(turn.started_at),
            "_steps": json.dumps(steps, ensure_ascii=False, separators=(",", ":")),
        }
        self._s.put(self._ref(turn.clinic_id, turn.id), doc)

    async def usage(self, clinic_id: str, month: str) -> AssistantUsage:
        doc = await self._s.get(self._usage_ref(clinic_id, month))
        if doc is None:
            return AssistantUsage(clinic_id=clinic_id, month=month)
        return from_document(_strip(doc), AssistantUsage)

    async def save_usage(self, usage: AssistantUsage) -> None:
        self._s.put(self._usage_ref(usage.clinic_id, usage.month), to_document(usage))


def _load_turn(doc: Doc) -> AssistantTurn:
    steps: Any = json.loads(doc.get("_steps") or "[]")
    return from_document({**_strip(doc), "steps": steps}, AssistantTurn)
