"""Read what changed in a professional's connected calendar (the ``calendar.pull`` job)."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.calendar import (
    CalendarBusyTime,
    CalendarChanges,
    CalendarConnection,
    CalendarLink,
    ConflictAction,
    decide_conflict,
)
from porfin_core.domain.events import CalendarChangeUndone, CalendarEventDeleted, DomainEvent
from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.errors import (
    CalendarAccessRevoked,
    CalendarError,
    CalendarResyncRequired,
    NotFound,
)
from porfin_core.ports.calendar import CalendarSync
from porfin_core.ports.clock import Clock
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._calendar import (
    BACKFILL_LIMIT,
    FULL_SYNC_EVERY,
    PULL_INTERVAL,
    PUSH_KIND,
    SyncWindow,
    not_configured,
    push_job,
    reason_of,
    revision,
    revoke_connection,
    schedule_next_pull,
)
from porfin_core.use_cases._jobs import schedule_in
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class PullRequest:
    """Whose calendar to pull.

    Attributes:
        clinic_id: The clinic.
        professional_id: The professional.
        connection_id: The connection the job was scheduled for (a job of a replaced or
            removed connection does nothing).
    """

    clinic_id: str
    professional_id: str
    connection_id: str


class PullResult(enum.StrEnum):
    """What a pull did."""

    SYNCED = "synced"
    SKIPPED = "skipped"
    """No such active connection (disconnected, replaced, revoked), or another pull applied
    its changes first."""
    FAILED = "failed"
    """The calendar could not be read; ``last_error`` says why, the next pull tries again."""
    REVOKED = "revoked"


@attrs.frozen(kw_only=True)
class PullOutcome:
    """A pull's outcome.

    Attributes:
        result: What happened.
        full: It was a full sync.
        busy: Blocking external events kept after it.
        repushed: Appointments whose edited events are to be written back.
        deleted: Appointments whose events were found deleted in the calendar.
        backfilled: Appointments whose push it scheduled (full syncs only).
    """

    result: PullResult
    full: bool = False
    busy: int = 0
    repushed: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    backfilled: int = 0


@attrs.define(kw_only=True)
class PullCalendarChanges:
    """Bring a connected calendar's changes into Porfin, then schedule the next pull.

    - Incremental with the connection's sync token; a full sync (the events of
      :class:`SyncWindow`) the first time, after the calendar refused the token (HTTP 410,
      then the pull is repeated at once without it), and every ``full_sync_every``.
    - Events of others (not this clinic's Porfin events) are kept as the professional's
      busy time (:class:`~porfin_core.domain.calendar.CalendarBusyTime`), which the slot
      search reads.
    - Porfin's own events that changed go through the conflict rule
      (:func:`~porfin_core.domain.calendar.decide_conflict`): an owner's edit of their own
      fields is accepted; an edit of Porfin's fields is rejected, a ``calendar.push`` job
      writes Porfin's version back (a move or a new length is reported:
      ``calendar.change_undone``); a deletion is reported (``calendar.event_deleted``) and
      nothing is written.
    - After a full sync, the professional's coming appointments the calendar does not show
      yet get a push (the first sync of a new connection fills the calendar this way).
    - A failure is recorded on the connection (``last_error``) and the chain goes on: the
      next pull is scheduled anyway. Access withdrawn: the connection is revoked and the
      chain ends.
    """

    uow_factory: UnitOfWorkFactory
    sync: CalendarSync | None
    clock: Clock
    interval: timedelta = PULL_INTERVAL
    full_sync_every: timedelta = FULL_SYNC_EVERY

    async def __call__(self, command: PullRequest) -> PullOutcome:
        """Pull once.

        Raises:
            CalendarError: ``not_configured`` without a calendar provider.
            StorageUnavailable: the changes could not be stored (the job is retried).
        """
        async with self.uow_factory(read_only=True) as uow:
            connection = await uow.calendar_connections.find(
                command.clinic_id, command.professional_id
            )
        if connection is None or connection.id != command.connection_id:
            return PullOutcome(result=PullResult.SKIPPED)
        if not connection.is_active:
            return PullOutcome(result=PullResult.SKIPPED)
        if self.sync is None:
            raise not_configured()
        read_token = connection.sync_token
        started = self.clock.now()
        window = SyncWindow.around(started)
        if connection.full_sync_due(started, self.full_sync_every):
            connection.require_full_sync()
        try:
            try:
                changes = await self.sync.pull(
                    connection, time_min=window.start, time_max=window.end
                )
            except CalendarResyncRequired:
                connection.require_full_sync()
                changes = await self.sync.pull(
                    connection, time_min=window.start, time_max=window.end
                )
        except CalendarAccessRevoked:
            await self._revoked(connection)
            return PullOutcome(result=PullResult.REVOKED)
        except CalendarError as exc:
            await self._failed(connection, reason_of(exc))
            return PullOutcome(result=PullResult.FAILED)
        return await self._apply(connection, read_token, changes, started, window)

    async def _apply(
        self,
        connection: CalendarConnection,
        read_token: str | None,
        changes: CalendarChanges,
        started: datetime,
        window: SyncWindow,
    ) -> PullOutcome:
        async def work(uow: UnitOfWork) -> PullOutcome:
            now = self.clock.now()
            stored = await uow.calendar_connections.find(
                connection.clinic_id, connection.professional_id
            )
            if (
                stored is None
                or stored.id != connection.id
                or not stored.is_active
                or stored.sync_token != read_token
            ):
                return PullOutcome(result=PullResult.SKIPPED)  # another pull was first
            busy = await uow.calendar_busy.get(stored.clinic_id, stored.professional_id)
            if busy is None or busy.connection_id != stored.id:
                busy = CalendarBusyTime(
                    clinic_id=stored.clinic_id,
                    professional_id=stored.professional_id,
                    connection_id=stored.id,
                    updated_at=now,
                )
            busy.apply(changes, now, keep_after=window.start)
            await uow.calendar_busy.save(busy)
            events: list[DomainEvent] = []
            repushed = await self._conflicts(uow, stored, changes, now, events)
            deleted = await self._deletions(uow, stored, changes, started, window, now, events)
            backfilled = 0
            if changes.full:
                backfilled = await self._backfill(uow, stored, window, now)
            stored.record_sync(changes, now)
            await uow.calendar_connections.save(stored)
            await schedule_next_pull(uow, stored, now, self.interval)
            uow.record(events)
            await uow.commit()
            return PullOutcome(
                result=PullResult.SYNCED,
                full=changes.full,
                busy=len(busy.events),
                repushed=tuple(repushed),
                deleted=tuple(deleted),
                backfilled=backfilled,
            )

        return await transact(self.uow_factory, work)

    async def _conflicts(
        self,
        uow: UnitOfWork,
        connection: CalendarConnection,
        changes: CalendarChanges,
        now: datetime,
        events: list[DomainEvent],
    ) -> list[str]:
        """The conflict rule for this clinic's Porfin events that came back changed."""
        repushed: list[str] = []
        for remote in changes.events:
            if not remote.is_porfin_event(connection.clinic_id) or remote.appointment_id is None:
                continue
            link = await uow.calendar_links.get(connection.clinic_id, remote.appointment_id)
            if (
                link is None
                or link.connection_id != connection.id
                or link.external_id != remote.external_id
                or link.written is None
            ):
                continue  # not the event Porfin keeps for the appointment (an old copy...)
            restored = link.restored_in_calendar(now)  # judged anew below
            decision = decide_conflict(link.written, remote)
            if decision.action is ConflictAction.ACCEPT:
                link.accept(remote, now)
                await uow.calendar_links.save(link)
            elif decision.action is ConflictAction.REPUSH and link.reject(remote, now):
                await uow.calendar_links.save(link)
                key = f"{PUSH_KIND}:{link.appointment_id}:repair:{remote.etag}"
                await schedule_in(
                    uow,
                    push_job(
                        link.clinic_id, link.appointment_id, connection.id, key, now, repair=True
                    ),
                )
                repushed.append(link.appointment_id)
                if decision.notify_staff:
                    events.append(
                        CalendarChangeUndone(
                            clinic_id=link.clinic_id,
                            occurred_at=now,
                            appointment_id=link.appointment_id,
                            professional_id=link.professional_id,
                            changed=decision.changed,
                        )
                    )
            elif restored:
                await uow.calendar_links.save(link)
        return repushed

    async def _deletions(
        self,
        uow: UnitOfWork,
        connection: CalendarConnection,
        changes: CalendarChanges,
        started: datetime,
        window: SyncWindow,
        now: datetime,
        events: list[DomainEvent],
    ) -> list[str]:
        """Porfin's events deleted in the calendar: reported, nothing written."""
        gone: list[CalendarLink] = []
        for external_id in changes.deleted:
            link = await uow.calendar_links.find_by_event(connection.clinic_id, external_id)
            if link is not None and link.connection_id == connection.id and link.live:
                gone.append(link)
        if changes.full:
            # A full sync lists every event of the window: one of Porfin's in the window and
            # not listed is gone (unless written after this pull began listing).
            listed = {e.external_id for e in changes.events}
            for link in await uow.calendar_links.list(
                connection.clinic_id, connection.professional_id
            ):
                written = link.written
                if (
                    link.connection_id == connection.id
                    and link.live
                    and link.external_id not in listed
                    and written is not None
                    and written.end > window.start
                    and written.start < window.end
                    and link.updated_at < started
                ):
                    gone.append(link)
        deleted: list[str] = []
        for link in gone:
            if not link.deleted_in_calendar(now):
                continue
            await uow.calendar_links.save(link)
            if await self._cancelled(uow, link):
                continue  # the appointment is cancelled anyway: nothing to decide
            deleted.append(link.appointment_id)
            events.append(
                CalendarEventDeleted(
                    clinic_id=link.clinic_id,
                    occurred_at=now,
                    appointment_id=link.appointment_id,
                    professional_id=link.professional_id,
                )
            )
        return deleted

    @staticmethod
    async def _cancelled(uow: UnitOfWork, link: CalendarLink) -> bool:
        try:
            appointment = await uow.appointments.get(link.clinic_id, link.appointment_id)
        except NotFound:
            return True
        return appointment.status is AppointmentStatus.CANCELLED

    @staticmethod
    async def _backfill(
        uow: UnitOfWork, connection: CalendarConnection, window: SyncWindow, now: datetime
    ) -> int:
        """Schedule the push of the professional's coming appointments that the calendar does
        not show (a new connection's first sync), at most :data:`BACKFILL_LIMIT`."""
        links = {
            link.appointment_id: link
            for link in await uow.calendar_links.list(
                connection.clinic_id, connection.professional_id
            )
        }
        appointments = await uow.appointments.list(
            AppointmentQuery(
                clinic_id=connection.clinic_id,
                professional_id=connection.professional_id,
                starts_from=now,
                starts_before=window.end,
            )
        )
        scheduled = 0
        for appointment in appointments:
            if scheduled >= BACKFILL_LIMIT:
                break
            if appointment.status.final:
                continue
            link = links.get(appointment.id)
            if link is not None and link.connection_id == connection.id:
                continue  # written (or deliberately deleted in the calendar)
            key = f"{PUSH_KIND}:{appointment.id}:{revision(appointment)}:{connection.id}"
            job = push_job(connection.clinic_id, appointment.id, connection.id, key, now)
            if (await schedule_in(uow, job)).id == job.id:
                scheduled += 1
        return scheduled

    async def _failed(self, connection: CalendarConnection, reason: str) -> None:
        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            stored = await uow.calendar_connections.find(
                connection.clinic_id, connection.professional_id
            )
            if stored is None or stored.id != connection.id or not stored.is_active:
                return
            stored.sync_failed(reason)
            await uow.calendar_connections.save(stored)
            await schedule_next_pull(uow, stored, now, self.interval)
            await uow.commit()

        await transact(self.uow_factory, work)

    async def _revoked(self, connection: CalendarConnection) -> None:
        async def work(uow: UnitOfWork) -> None:
            if await revoke_connection(uow, connection, self.clock.now()):
                await uow.commit()

        await transact(self.uow_factory, work)
