"""Write an appointment's event to its professional's connected calendar (the
``calendar.push`` job)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime

import attrs

from porfin_core.domain.calendar import CalendarConnection, CalendarEvent, CalendarLink
from porfin_core.domain.scheduling import Appointment, AppointmentStatus
from porfin_core.errors import (
    CalendarAccessRevoked,
    CalendarError,
    CalendarEventChanged,
    NotFound,
)
from porfin_core.ports.calendar import CalendarSync
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._calendar import (
    PUSH_KIND,
    appointment_event,
    not_configured,
    push_job,
    revision,
    revoke_connection,
)
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class PushRequest:
    """Which appointment to push.

    Attributes:
        clinic_id: The clinic.
        appointment_id: The appointment.
        repair: Writing back an edit made in the calendar that the conflict rule rejected
            (scheduled by a pull): if the event changed again since, the push gives way and
            the next pull decides again.
    """

    clinic_id: str
    appointment_id: str
    repair: bool = False


class PushResult(enum.StrEnum):
    """What a push did."""

    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    UNCHANGED = "unchanged"
    """The calendar already showed the appointment as it is (or nothing is to be deleted)."""
    SKIPPED = "skipped"
    """No active connected calendar, or no such appointment."""
    REVOKED = "revoked"
    """The calendar's access was withdrawn: the connection is now revoked."""


@attrs.frozen
class _Read:
    appointment: Appointment
    connection: CalendarConnection
    link: CalendarLink | None
    desired: CalendarEvent | None


def _same_link(a: CalendarLink | None, b: CalendarLink | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.connection_id, a.external_id, a.etag, a.needs_repush, a.deleted_remotely_at) == (
        b.connection_id,
        b.external_id,
        b.etag,
        b.needs_repush,
        b.deleted_remotely_at,
    )


@attrs.define(kw_only=True)
class PushAppointmentToCalendar:
    """Make the professional's calendar show the appointment as it stands now: create its
    event, update it, or delete it (cancelled). Idempotent: run again, it writes nothing when
    the calendar is in step.

    - An update is conditional on the version Porfin knows (``If-Match``). If the event
      changed in the calendar since, Porfin's version is written anyway (this push comes from
      a change made in Porfin, the source of truth for its appointments; the patch touches
      only the fields Porfin owns, so the owner's colour, reminders, guests... stay). A
      repair (writing back an edit the conflict rule rejected) instead gives way: the next
      pull decides again.
    - An event deleted in the calendar is written again (a new event) when the appointment
      changes in Porfin; an update of an event the calendar no longer has creates it.
    - The calendar's access withdrawn: the connection is marked revoked (event
      ``calendar.revoked``) and the job ends.
    - Two pushes of one appointment may run at once (two quick changes): each applies its
      outcome only if the link is as it read it, and schedules one more push when the link or
      the appointment changed meanwhile, so the last word is always the appointment's state.
    """

    uow_factory: UnitOfWorkFactory
    sync: CalendarSync | None
    clock: Clock

    async def __call__(self, command: PushRequest) -> PushResult:
        """Push; returns what was done.

        Raises:
            CalendarError: the calendar failed (``retryable`` set: the job is retried) or
                refused the write; ``not_configured`` without a calendar provider.
        """
        read = await self._read(command)
        if read is None:
            return PushResult.SKIPPED
        if self.sync is None:
            raise not_configured()
        try:
            if read.desired is None:
                return await self._delete(read)
            return await self._write(read, read.desired, repair=command.repair)
        except CalendarAccessRevoked:
            await self._revoked(read.connection)
            return PushResult.REVOKED

    async def _read(self, command: PushRequest) -> _Read | None:
        async with self.uow_factory(read_only=True) as uow:
            try:
                appointment = await uow.appointments.get(command.clinic_id, command.appointment_id)
            except NotFound:
                return None
            connection = await uow.calendar_connections.find(
                appointment.clinic_id, appointment.professional_id
            )
            if connection is None or not connection.is_active:
                return None
            link = await uow.calendar_links.get(appointment.clinic_id, appointment.id)
            if link is not None and link.connection_id != connection.id:
                link = None  # written through an older connection: the calendar is new
            desired = None
            if appointment.status is not AppointmentStatus.CANCELLED:
                clinic = await uow.clinics.get(appointment.clinic_id)
                type_name = patient_name = None
                try:
                    type_name = (
                        await uow.appointment_types.get(appointment.clinic_id, appointment.type_id)
                    ).name
                    patient_name = (
                        await uow.customers.get(appointment.clinic_id, appointment.customer_id)
                    ).name
                except NotFound:
                    pass
                desired = appointment_event(
                    appointment,
                    type_name=type_name,
                    patient_name=patient_name,
                    time_zone=clinic.timezone,
                )
        return _Read(appointment, connection, link, desired)

    async def _delete(self, read: _Read) -> PushResult:
        assert self.sync is not None
        link = read.link
        if link is None or link.external_id is None:
            return PushResult.UNCHANGED
        if link.live:
            await self.sync.delete(read.connection, link.external_id)
        await self._record(read, lambda current, now: current.forget_event(now))
        return PushResult.DELETED

    async def _write(self, read: _Read, desired: CalendarEvent, *, repair: bool) -> PushResult:
        assert self.sync is not None
        link = read.link
        if link is not None and link.in_step_with(desired):
            return PushResult.UNCHANGED
        external_id = link.external_id if link is not None and link.live else None
        event = attrs.evolve(desired, external_id=external_id)
        if_match = link.etag if link is not None and external_id is not None else None
        try:
            stored = await self.sync.push(read.connection, event, if_match=if_match)
        except CalendarEventChanged:
            if repair:
                return PushResult.UNCHANGED  # changed again: the next pull decides
            # Changed in the calendar since Porfin's last write: Porfin's change wins.
            stored = await self.sync.push(read.connection, event)
        except CalendarError as exc:
            if external_id is None or exc.fields.get("provider_code") != "notFound":
                raise
            stored = await self.sync.push(read.connection, attrs.evolve(event, external_id=None))

        def wrote(current: CalendarLink, now: datetime) -> None:
            current.wrote(desired, stored, now)

        await self._record(read, wrote)
        return PushResult.UPDATED if external_id is not None else PushResult.CREATED

    async def _record(self, read: _Read, change: Callable[[CalendarLink, datetime], None]) -> None:
        """Apply ``change`` to the link in a transaction, if the link is as it was read;
        schedule another push when the link or the appointment changed meanwhile."""
        appointment = read.appointment
        connection = read.connection

        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            current = await uow.appointments.get(appointment.clinic_id, appointment.id)
            link = await uow.calendar_links.get(appointment.clinic_id, appointment.id)
            if link is not None and link.connection_id != connection.id:
                link = None
            again = current.updated_at != appointment.updated_at
            if _same_link(link, read.link):
                if link is None:
                    link = CalendarLink(
                        clinic_id=appointment.clinic_id,
                        appointment_id=appointment.id,
                        professional_id=appointment.professional_id,
                        connection_id=connection.id,
                        updated_at=now,
                    )
                change(link, now)
                await uow.calendar_links.save(link)
            else:
                again = True  # another push wrote meanwhile: look again at both
            if again:
                marker = link.etag if link is not None and link.etag else "none"
                key = f"{PUSH_KIND}:{current.id}:{revision(current)}:after:{marker}"
                await schedule_in(
                    uow, push_job(current.clinic_id, current.id, connection.id, key, now)
                )
            await uow.commit()

        await transact(self.uow_factory, work)

    async def _revoked(self, connection: CalendarConnection) -> None:
        async def work(uow: UnitOfWork) -> None:
            if await revoke_connection(uow, connection, self.clock.now()):
                await uow.commit()

        await transact(self.uow_factory, work)
