"""The patient did not come."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import Appointment
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._scheduling import change_appointment


@attrs.frozen(kw_only=True)
class MissedAppointment:
    """Which appointment the patient missed.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        actor: Who records it and from where (default: Porfin itself).
    """

    clinic_id: str
    appointment_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class MarkNoShow:
    """Record that the patient did not come (final; event ``appointment.no_show``, audit
    record ``appointment.no_show``). Only once the appointment has started."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: MissedAppointment) -> Appointment:
        """Mark no-show; returns the appointment as stored.

        Raises:
            NotFound: no such appointment in the clinic.
            InvalidStateTransition: final already, or before the start.
        """
        return await change_appointment(
            self.uow_factory,
            self.clock,
            clinic_id=command.clinic_id,
            appointment_id=command.appointment_id,
            actor=command.actor,
            action=AuditAction.APPOINTMENT_NO_SHOW,
            apply=lambda appointment, now, by: appointment.mark_no_show(now, by),
        )
