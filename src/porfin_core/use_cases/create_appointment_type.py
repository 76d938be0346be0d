"""Add something patients can book: a cleaning, an evaluation, a session..."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import AppointmentType
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewAppointmentType:
    """An appointment type to add.

    Attributes:
        clinic_id: The clinic.
        name: Name shown to staff and patients (1 to 120 characters).
        duration_minutes: How long it lasts, 5 to 720.
        price_cents: Price in centavos (BRL), 0 when free or not told.
        buffer_before_minutes: Free time kept before it, 0 to 240.
        buffer_after_minutes: Free time kept after it, 0 to 240.
        professional_ids: Who performs it; empty: every professional.
        actor: Who adds it and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    name: str
    duration_minutes: int
    price_cents: int = 0
    buffer_before_minutes: int = 0
    buffer_after_minutes: int = 0
    professional_ids: Sequence[str] = ()
    actor: Actor | None = None


async def check_professionals(uow: UnitOfWork, clinic_id: str, ids: Sequence[str]) -> None:
    """Raises: ValidationError (field ``professional_ids[i]``) for an id that is not a
    professional of the clinic."""
    known = {p.id for p in await uow.professionals.list(clinic_id)}
    for i, professional_id in enumerate(ids):
        if professional_id not in known:
            raise ValidationError(
                "no such professional in the clinic", field=f"professional_ids[{i}]"
            )


@attrs.define(kw_only=True)
class CreateAppointmentType:
    """Add an appointment type (audit record ``appointment_type.create``)."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewAppointmentType) -> AppointmentType:
        """Create the type; returns it as stored (active).

        Raises:
            NotFound: no such clinic.
            ValidationError: a bad name, duration, price or buffer, or a professional not of
                the clinic (the field names the offending value).
        """
        type_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> AppointmentType:
            await uow.clinics.get(command.clinic_id)
            now = self.clock.now()
            kind = AppointmentType.create(
                id=type_id,
                clinic_id=command.clinic_id,
                name=command.name,
                duration_minutes=command.duration_minutes,
                price_cents=command.price_cents,
                buffer_before_minutes=command.buffer_before_minutes,
                buffer_after_minutes=command.buffer_after_minutes,
                professional_ids=command.professional_ids,
                at=now,
            )
            await check_professionals(uow, command.clinic_id, kind.professional_ids)
            await uow.appointment_types.save(kind)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.APPOINTMENT_TYPE_CREATE,
                    resource_type="appointment_type",
                    resource_id=kind.id,
                    details={
                        "name": kind.name,
                        "duration_minutes": str(kind.duration_minutes),
                        "price_cents": str(kind.price_cents),
                    },
                )
            )
            await uow.commit()
            return kind

        return await transact(self.uow_factory, work)
