"""Finish connecting a professional's calendar: the OAuth callback."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.calendar import CalendarConnection
from porfin_core.errors import PorfinError
from porfin_core.ports.calendar import CalendarAuthorization
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._calendar import not_configured, schedule_pull_now, subject_of
from porfin_core.use_cases._jobs import cancel_in
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ConsentGiven:
    """What the provider sent back to the callback.

    Attributes:
        state: The ``state`` of the consent URL (it names the clinic and the professional).
        code: The authorization code.
        actor: Who completes it, for the audit record (default: Porfin itself; the callback
            is opened by the professional's browser, not by a logged-in user).
    """

    state: str
    code: str
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CompleteCalendarConnection:
    """Exchange the code for the calendar's tokens and store the connection.

    A connection the professional had before is replaced (its jobs cancelled, its busy time
    forgotten, its stored token deleted after the commit). The first pull is scheduled at
    once: it reads the calendar in full and schedules the push of the professional's coming
    appointments. Audit record ``calendar.connect``.
    """

    uow_factory: UnitOfWorkFactory
    authorization: CalendarAuthorization | None
    clock: Clock

    async def __call__(self, command: ConsentGiven) -> CalendarConnection:
        """Store and return the connection.

        Raises:
            ValidationError: the state is not this installation's, was altered or expired
                (field ``state``), or the code is empty.
            NotFound: the professional no longer exists.
            CalendarError: the provider refused the code or the consent was partial
                (``no_refresh_token``, ``missing_scope``), or no provider is configured.
        """
        if self.authorization is None:
            raise not_configured()
        authorization = self.authorization
        connection = await authorization.complete(command.state, command.code)
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> CalendarConnection | None:
            now = self.clock.now()
            await uow.professionals.get(connection.clinic_id, connection.professional_id)
            previous = await uow.calendar_connections.find(
                connection.clinic_id, connection.professional_id
            )
            if previous is not None:
                await cancel_in(uow, previous.clinic_id, subject_of(previous.id), now)
                await uow.calendar_busy.remove(previous.clinic_id, previous.professional_id)
            await uow.calendar_connections.save(connection)
            await schedule_pull_now(uow, connection, now)
            await uow.audit.append(
                AuditEntry.of(
                    actor,
                    clinic_id=connection.clinic_id,
                    at=now,
                    action=AuditAction.CALENDAR_CONNECT,
                    resource_type="professional",
                    resource_id=connection.professional_id,
                    details={
                        "connection_id": connection.id,
                        "calendar_id": connection.calendar_id,
                        "scopes": " ".join(connection.scopes),
                        "replaced": previous.id if previous is not None else "",
                    },
                )
            )
            await uow.commit()
            return previous

        try:
            previous = await transact(self.uow_factory, work)
        except PorfinError:
            await authorization.disconnect(connection)  # the stored token would be orphaned
            raise
        if previous is not None and previous.refresh_token != connection.refresh_token:
            await authorization.disconnect(previous)
        return connection
