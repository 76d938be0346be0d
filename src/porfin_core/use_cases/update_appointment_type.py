"""Change an appointment type: name, duration, price, buffers, who performs it, active."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import AppointmentType
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.create_appointment_type import check_professionals


@attrs.frozen(kw_only=True)
class ChangeAppointmentType:
    """The changes to make; fields left at None change nothing.

    Attributes:
        clinic_id: The clinic.
        type_id: The appointment type.
        name: New name.
        duration_minutes: New duration, 5 to 720 (booked appointments keep theirs).
        price_cents: New price in centavos.
        buffer_before_minutes: New buffer before, 0 to 240 (with ``buffer_after_minutes``
            left at None, that one stays).
        buffer_after_minutes: New buffer after, 0 to 240.
        professional_ids: The complete new list of who performs it; ``[]``: everyone.
        active: False: no new bookings; True: bookable again.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    type_id: str
    name: str | None = None
    duration_minutes: int | None = None
    price_cents: int | None = None
    buffer_before_minutes: int | None = None
    buffer_after_minutes: int | None = None
    professional_ids: Sequence[str] | None = None
    active: bool | None = None
    actor: Actor | None = None


@attrs.define(kw_only=True)
class UpdateAppointmentType:
    """Apply changes to an appointment type (audit record ``appointment_type.update``)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeAppointmentType) -> AppointmentType:
        """Apply ``command``; returns the type as stored.

        Raises:
            NotFound: no such type in the clinic.
            ValidationError: a bad value, or a professional not of the clinic.
        """

        async def work(uow: UnitOfWork) -> AppointmentType:
            kind = await uow.appointment_types.get(command.clinic_id, command.type_id)
            now = self.clock.now()
            buffers = command.buffer_before_minutes, command.buffer_after_minutes
            changes = {
                "name": command.name is not None and kind.rename(command.name),
                "duration_minutes": command.duration_minutes is not None
                and kind.set_duration(command.duration_minutes),
                "price_cents": command.price_cents is not None
                and kind.set_price(command.price_cents),
                "buffers": buffers != (None, None)
                and kind.set_buffers(
                    kind.buffer_before_minutes if buffers[0] is None else buffers[0],
                    kind.buffer_after_minutes if buffers[1] is None else buffers[1],
                ),
                "professional_ids": command.professional_ids is not None
                and kind.set_professionals(command.professional_ids),
                "active": command.active is not None and kind.set_active(command.active),
            }
            changed = [name for name, did in changes.items() if did]
            if changes["professional_ids"]:
                await check_professionals(uow, command.clinic_id, kind.professional_ids)
            if changed:
                await uow.appointment_types.save(kind)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.APPOINTMENT_TYPE_UPDATE,
                    resource_type="appointment_type",
                    resource_id=kind.id,
                    details={"changed": ",".join(changed), "price_cents": str(kind.price_cents)},
                )
            )
            await uow.commit()
            return kind

        return await transact(self.uow_factory, work)
