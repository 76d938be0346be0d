"""The patient came."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import Appointment
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._scheduling import change_appointment


@attrs.frozen(kw_only=True)
class Attendance:
    """Which appointment the patient attended.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        actor: Who records it and from where (default: Porfin itself).
    """

    clinic_id: str
    appointment_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class MarkAttended:
    """Record that the patient came (final; event ``appointment.attended``, audit record
    ``appointment.attended``). Allowed from two hours before the start."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: Attendance) -> Appointment:
        """Mark attended; returns the appointment as stored.

        Raises:
            NotFound: no such appointment in the clinic.
            InvalidStateTransition: final already, or too long before the start.
        """
        return await change_appointment(
            self.uow_factory,
            self.clock,
            clinic_id=command.clinic_id,
            appointment_id=command.appointment_id,
            actor=command.actor,
            action=AuditAction.APPOINTMENT_ATTENDED,
            apply=lambda appointment, now, by: appointment.mark_attended(now, by),
        )
