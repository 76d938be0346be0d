"""Disconnect a professional's calendar."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.calendar import CalendarConnection
from porfin_core.ports.calendar import CalendarAuthorization
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._calendar import subject_of
from porfin_core.use_cases._jobs import cancel_in
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class Disconnection:
    """Whose calendar to disconnect.

    Attributes:
        clinic_id: The clinic.
        professional_id: The professional.
        actor: Who asks, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    professional_id: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class DisconnectCalendar:
    """Stop syncing a professional's calendar: the connection and its busy time are removed,
    its pending pushes and pulls cancelled, and its stored token deleted after the commit.
    Events Porfin already wrote stay in the calendar. Audit record ``calendar.disconnect``.
    """

    uow_factory: UnitOfWorkFactory
    authorization: CalendarAuthorization | None
    clock: Clock

    async def __call__(self, command: Disconnection) -> CalendarConnection:
        """Disconnect; returns the connection as it was.

        Raises:
            NotFound: the professional has no connected calendar.
        """
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> CalendarConnection:
            now = self.clock.now()
            connection = await uow.calendar_connections.get(
                command.clinic_id, command.professional_id
            )
            await uow.calendar_connections.remove(connection)
            await uow.calendar_busy.remove(connection.clinic_id, connection.professional_id)
            await cancel_in(uow, connection.clinic_id, subject_of(connection.id), now)
            await uow.audit.append(
                AuditEntry.of(
                    actor,
                    clinic_id=connection.clinic_id,
                    at=now,
                    action=AuditAction.CALENDAR_DISCONNECT,
                    resource_type="professional",
                    resource_id=connection.professional_id,
                    details={"connection_id": connection.id},
                )
            )
            await uow.commit()
            return connection

        connection = await transact(self.uow_factory, work)
        if self.authorization is not None:
            await self.authorization.disconnect(connection)
        return connection
