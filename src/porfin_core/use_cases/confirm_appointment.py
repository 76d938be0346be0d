"""The patient confirms they will come."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.scheduling import Appointment
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._scheduling import change_appointment


@attrs.frozen(kw_only=True)
class Confirmation:
    """Which appointment is confirmed.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        actor: Who confirms (staff, the patient through a button, the AI) and from where
            (default: Porfin itself).
    """

    clinic_id: str
    appointment_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class ConfirmAppointment:
    """Confirm an appointment (event ``appointment.confirmed``, audit record
    ``appointment.confirm``). Confirming twice is harmless: no second event."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: Confirmation) -> Appointment:
        """Confirm; returns the appointment as stored.

        Raises:
            NotFound: no such appointment in the clinic.
            InvalidStateTransition: attended, no-show or cancelled.
        """
        return await change_appointment(
            self.uow_factory,
            self.clock,
            clinic_id=command.clinic_id,
            appointment_id=command.appointment_id,
            actor=command.actor,
            action=AuditAction.APPOINTMENT_CONFIRM,
            apply=lambda appointment, now, by: appointment.confirm(now, by),
        )
