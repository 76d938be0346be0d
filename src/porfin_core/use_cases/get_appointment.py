"""Read an appointment (an audited read: ``appointment.read``)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import Appointment
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of, record_read


@attrs.define(kw_only=True)
class GetAppointment:
    """An appointment of the caller's clinic, with its history; the read is recorded in the
    audit log (it may hold notes about the patient)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(
        self, clinic_id: str, appointment_id: str, *, actor: Actor | None = None
    ) -> Appointment:
        """Return the appointment.

        Raises:
            NotFound: no such appointment in the clinic.
            StorageUnavailable: the read could not be recorded; nothing is returned.
        """
        async with self.uow_factory(read_only=True) as uow:
            appointment = await uow.appointments.get(clinic_id, appointment_id)
        await record_read(
            self.uow_factory,
            AuditEntry.of(
                actor_of(actor),
                clinic_id=clinic_id,
                at=self.clock.now(),
                action=AuditAction.APPOINTMENT_READ,
                resource_type="appointment",
                resource_id=appointment.id,
            ),
        )
        return appointment
