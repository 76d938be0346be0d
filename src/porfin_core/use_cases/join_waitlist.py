"""Put a patient on the waitlist for an appointment type."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.scheduling import WaitlistEntry
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._customers import current_customer
from porfin_core.use_cases._scheduling import (
    bookable_professional,
    bookable_type,
    day_periods,
    weekdays,
)
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class WaitlistRequest:
    """Who waits for what.

    Attributes:
        clinic_id: The clinic.
        customer_id: The patient.
        type_id: The appointment type they want.
        professional_id: Only with this professional; None: anyone performing the type.
        periods: Parts of the day that suit them (``manha``, ``tarde``, ``noite``); empty:
            any.
        weekdays: ISO weekdays that suit them (1 = Monday ... 7 = Sunday); empty: any.
        notes: Free text for staff.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    customer_id: str
    type_id: str
    professional_id: str | None = None
    periods: Sequence[str] = ()
    weekdays: Sequence[int] = ()
    notes: str = ""
    actor: Actor | None = None


@attrs.define(kw_only=True)
class JoinWaitlist:
    """Add the patient to the end of the waitlist (audit record ``waitlist.join``). A patient
    already waiting for the type (or holding an offer for it) keeps their entry and place:
    it is returned unchanged."""

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: WaitlistRequest) -> WaitlistEntry:
        """Return the patient's entry for the type.

        Raises:
            NotFound: no such customer, type or professional in the clinic.
            ValidationError: an inactive type (``type_id``), an inactive professional or one
                who does not perform it (``professional_id``), an unknown period
                (``periods``) or weekday (``weekdays[i]``), over-long notes (``notes``).
        """
        periods = day_periods(command.periods)
        days = weekdays(command.weekdays)
        entry_id = self.ids.new_id()

        async def work(uow: UnitOfWork) -> WaitlistEntry:
            customer = await current_customer(uow, command.clinic_id, command.customer_id)
            kind = await bookable_type(uow, command.clinic_id, command.type_id)
            if command.professional_id is not None:
                await bookable_professional(uow, command.clinic_id, command.professional_id, kind)
            mine = await uow.waitlist.list(
                command.clinic_id, type_id=kind.id, customer_id=customer.id
            )
            existing = next((e for e in mine if e.open), None)
            if existing is not None:
                return existing
            now = self.clock.now()
            entry = WaitlistEntry.join(
                id=entry_id,
                clinic_id=command.clinic_id,
                customer_id=customer.id,
                type_id=kind.id,
                professional_id=command.professional_id,
                periods=periods,
                weekdays=days,
                notes=command.notes,
                at=now,
            )
            await uow.waitlist.save(entry)
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor),
                    clinic_id=command.clinic_id,
                    at=now,
                    action=AuditAction.WAITLIST_JOIN,
                    resource_type="waitlist_entry",
                    resource_id=entry.id,
                    details={"customer_id": customer.id, "type_id": kind.id},
                )
            )
            await uow.commit()
            return entry

        return await transact(self.uow_factory, work)
