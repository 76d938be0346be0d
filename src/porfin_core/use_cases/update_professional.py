"""Change a professional: name, kind, working hours, breaks, date exceptions, active."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import Professional
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._scheduling import (
    DateHours,
    WorkingInterval,
    date_exceptions,
    professional_kind,
    weekly_hours,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ChangeProfessional:
    """The changes to make; fields left at None change nothing.

    Attributes:
        clinic_id: The clinic.
        professional_id: The professional.
        name: New name (1 to 120 characters).
        kind: New kind (``dentista``, ``medico``...).
        hours: The complete new weekly hours; ``[]``: no working time.
        breaks: The complete new weekly breaks.
        exceptions: The complete new date exceptions.
        active: False: no new appointments (existing ones stay); True: bookable again.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    professional_id: str
    name: str | None = None
    kind: str | None = None
    hours: Sequence[WorkingInterval] | None = None
    breaks: Sequence[WorkingInterval] | None = None
    exceptions: Sequence[DateHours] | None = None
    active: bool | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class UpdateProfessional:
    """Apply changes to a professional (audit record ``professional.update`` naming what
    changed). Existing appointments are never moved: new hours only shape new bookings."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeProfessional) -> Professional:
        """Apply ``command``; returns the professional as stored.

        Raises:
            NotFound: no such professional in the clinic.
            ValidationError: a bad name, kind, time or overlapping ranges (as for
                :class:`~porfin_core.use_cases.create_professional.NewProfessional`).
        """
        kind = None if command.kind is None else professional_kind(command.kind)
        hours = None if command.hours is None else weekly_hours(command.hours, "hours")
        breaks = None if command.breaks is None else weekly_hours(command.breaks, "breaks")
        exceptions = None if command.exceptions is None else date_exceptions(command.exceptions)

        async def work(uow: UnitOfWork) -> Professional:
            professional = await uow.professionals.get(command.clinic_id, command.professional_id)
            now = self.clock.now()
            changes = {
                "name": command.name is not None and professional.rename(command.name),
                "kind": kind is not None and professional.change_kind(kind),
                "hours": hours is not None and professional.set_hours(hours),
                "breaks": breaks is not None and professional.set_breaks(breaks),
                "exceptions": exceptions is not None and professional.set_exceptions(exceptions),
                "active": command.active is not None and professional.set_active(command.active),
            }
            changed = [name for name, did in changes.items() if did]
            if changed:
                await uow.professionals.save(professional)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.PROFESSIONAL_UPDATE,
                    resource_type="professional",
                    resource_id=professional.id,
                    details={"changed": ",".join(changed), "active": str(professional.active)},
                )
            )
            await uow.commit()
            return professional

        return await transact(self.uow_factory, work)
