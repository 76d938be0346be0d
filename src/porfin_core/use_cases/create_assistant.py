"""Create an AI assistant for the clinic."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from porfin_core.domain.assistant import Assistant
from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._assistants import assistant_audit, built, read_settings
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact

MAX_ASSISTANTS = 20


@attrs.frozen(kw_only=True)
class NewAssistant:
    """An assistant to create.

    Attributes:
        clinic_id: The clinic.
        settings: Its settings by name (``name`` required; see
            :class:`porfin_core.domain.assistant.Assistant` for the others and defaults).
        actor: Who asks, for the audit record.
    """

    clinic_id: str
    settings: Mapping[str, Any]
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CreateAssistant:
    """Add an assistant to the clinic (audit ``assistant.create``)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewAssistant) -> Assistant:
        """Create it; returns it.

        Raises:
            NotFound: no such clinic.
            ValidationError: a missing name, an unknown setting or a value out of range
                (``field`` names it), or too many assistants.
        """
        values = read_settings(command.settings)
        assistant_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> Assistant:
            now = self.clock.now()
            clinic = await uow.clinics.get(command.clinic_id)
            assistant = built(values, id=assistant_id, created_at=now)
            clinic.add_assistant(assistant, MAX_ASSISTANTS)
            await uow.clinics.save(clinic)
            await uow.audit.append(
                assistant_audit(
                    actor_of(command.actor), clinic.id, assistant, AuditAction.ASSISTANT_CREATE, now
                )
            )
            await uow.commit()
            return assistant

        return await transact(self.uow_factory, work)
