"""Change an AI assistant's settings, or remove it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from porfin_core.domain.assistant import Assistant
from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.errors import Forbidden
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._assistants import assistant_audit, evolve, find, read_settings
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact

TUNABLE = frozenset({"tone", "facts"})
"""What a manager (``assistant.tune``) may change."""


@attrs.frozen(kw_only=True)
class ChangeAssistant:
    """Changes to an assistant.

    Attributes:
        clinic_id: The clinic.
        assistant_id: The assistant.
        settings: The settings to change, by name (others stay).
        remove: Remove the assistant instead.
        may_manage: The caller may change everything (``assistant.manage``); without it
            only the tone and the clinic's facts (``assistant.tune``, managers).
        actor: Who asks, for the audit record.
    """

    clinic_id: str
    assistant_id: str
    settings: Mapping[str, Any] = attrs.field(factory=dict)
    remove: bool = False
    may_manage: bool = True
    actor: Actor | None = None


@attrs.define(kw_only=True)
class UpdateAssistant:
    """Apply the changes (audit ``assistant.update``) or remove it (``assistant.remove``);
    chats it served are answered by the next assistant that fits, if any."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeAssistant) -> Assistant:
        """Apply; returns the assistant as it is (or was, when removed).

        Raises:
            NotFound: no such clinic or assistant.
            ValidationError: an unknown setting or a value out of range.
        """
        values = read_settings(command.settings)
        beyond = sorted(set(values) - TUNABLE)
        if not command.may_manage and (command.remove or beyond):
            raise Forbidden(
                "only administrators change an assistant's "
                + (", ".join(beyond) if beyond else "existence"),
                field=beyond[0] if beyond else "remove",
            )

        async def work(uow: UnitOfWork) -> Assistant:
            now = self.clock.now()
            clinic = await uow.clinics.get(command.clinic_id)
            current = find(clinic.assistants, command.assistant_id)
            if command.remove:
                clinic.assistants = [a for a in clinic.assistants if a.id != current.id]
                action, result = AuditAction.ASSISTANT_REMOVE, current
            else:
                result = evolve(current, values)
                clinic.assistants = [result if a.id == current.id else a for a in clinic.assistants]
                action = AuditAction.ASSISTANT_UPDATE
            await uow.clinics.save(clinic)
            await uow.audit.append(
                assistant_audit(actor_of(command.actor), clinic.id, result, action, now)
            )
            await uow.commit()
            return result

        return await transact(self.uow_factory, work)
