"""Add a professional (dentist, doctor, hygienist...) and their working hours."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import Professional
from porfin_core.ports.clock import Clock, IdGenerator
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
class NewProfessional:
    """A professional to add.

    Attributes:
        clinic_id: The clinic.
        name: Name shown to staff and patients (1 to 120 characters).
        kind: ``dentista``, ``medico``, ``higienista``... (see
            :class:`~porfin_core.domain.scheduling.ProfessionalKind`).
        hours: Weekly working hours (local time); none: no bookable time yet.
        breaks: Weekly breaks, taken out of the hours of their weekday.
        exceptions: Dates with other hours, or none.
        actor: Who adds them and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    name: str
    kind: str = "dentista"
    hours: Sequence[WorkingInterval] = ()
    breaks: Sequence[WorkingInterval] = ()
    exceptions: Sequence[DateHours] = ()
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CreateProfessional:
    """Add a professional to the clinic (audit record ``professional.create``)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewProfessional) -> Professional:
        """Create the professional; returns them as stored (active).

        Raises:
            NotFound: no such clinic.
            ValidationError: a bad name (``name``), kind (``kind``), time or overlapping
                ranges (``hours[i]...``, ``breaks[i]...``, ``exceptions[i]...``).
        """
        kind = professional_kind(command.kind)
        hours = weekly_hours(command.hours, "hours")
        breaks = weekly_hours(command.breaks, "breaks")
        exceptions = date_exceptions(command.exceptions)
        professional_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> Professional:
            await uow.clinics.get(command.clinic_id)
            now = self.clock.now()
            professional = Professional.create(
                id=professional_id,
                clinic_id=command.clinic_id,
                name=command.name,
                kind=kind,
                hours=hours,
                breaks=breaks,
                exceptions=exceptions,
                at=now,
            )
            await uow.professionals.save(professional)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.PROFESSIONAL_CREATE,
                    resource_type="professional",
                    resource_id=professional.id,
                    details={"name": professional.name, "kind": kind.value},
                )
            )
            await uow.commit()
            return professional

        return await transact(self.uow_factory, work)
