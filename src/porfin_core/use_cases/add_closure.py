"""Close the clinic for a while: whole dates (a collective vacation) or between two instants
(an afternoon)."""

from __future__ import annotations

from datetime import date, datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import MAX_SPAN, Appointment, Closure
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class NewClosure:
    """A closure: either whole local dates (``first_day``, ``last_day``) or two instants
    (``start``, ``end``).

    Attributes:
        clinic_id: The clinic.
        reason: Why (1 to 200 characters): "Recesso de fim de ano".
        first_day: First closed date (local).
        last_day: Last closed date (default: ``first_day``).
        start: When the closure starts (timezone-aware).
        end: When it ends.
        actor: Who adds it and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    reason: str
    first_day: date | None = None
    last_day: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    actor: Actor | None = None


@attrs.frozen
class AddedClosure:
    """The closure, and the appointments inside it that still take time (to reschedule or
    cancel: adding a closure never moves them)."""

    closure: Closure
    affected: list[Appointment]


@attrs.define(kw_only=True)
class AddClosure:
    """Add a clinic closure (audit record ``closure.add``): no slot is offered inside it."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewClosure) -> AddedClosure:
        """Add the closure; returns it with the appointments it overlaps.

        Raises:
            NotFound: no such clinic.
            ValidationError: neither or both forms given (field ``first_day``), a bad range
                (``last_day``, ``end``), naive datetimes (``start``, ``end``), a blank or
                over-long reason (``reason``).
        """
        by_days = command.first_day is not None or command.last_day is not None
        by_times = command.start is not None or command.end is not None
        if by_days == by_times:
            raise ValidationError(
                "give either first_day (and last_day) or start and end", field="first_day"
            )
        closure_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> AddedClosure:
            clinic = await uow.clinics.get(command.clinic_id)
            now = self.clock.now()
            if by_days:
                first = command.first_day or command.last_day
                assert first is not None
                closure = Closure.for_days(
                    id=closure_id,
                    clinic_id=clinic.id,
                    first_day=first,
                    last_day=command.last_day or first,
                    zone=clinic.zone,
                    reason=command.reason,
                    at=now,
                )
            else:
                if command.start is None or command.end is None:
                    raise ValidationError("a closure needs both start and end", field="end")
                closure = Closure.for_period(
                    id=closure_id,
                    clinic_id=clinic.id,
                    start=command.start,
                    end=command.end,
                    reason=command.reason,
                    at=now,
                )
            await uow.closures.save(closure)
            found = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=clinic.id,
                    starts_from=closure.start - MAX_SPAN,
                    starts_before=closure.end,
                )
            )
            affected = [a for a in found if a.takes_time and a.interval.overlaps(closure.interval)]
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=clinic.id,
                    at=now,
                    action=AuditAction.CLOSURE_ADD,
                    resource_type="closure",
                    resource_id=closure.id,
                    details={
                        "start": closure.start.isoformat(),
                        "end": closure.end.isoformat(),
                        "affected": str(len(affected)),
                    },
                )
            )
            await uow.commit()
            return AddedClosure(closure, affected)

        return await transact(self.uow_factory, work)
