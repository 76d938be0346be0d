"""Busy time of professionals' connected calendars for the slot search (the scheduling
core's :class:`~porfin_core.ports.scheduling.ExternalBusyTimes`).

By default the answer comes from storage: the blocking events the ``calendar.pull`` job keeps
per professional (``uow.calendar_busy``), so a slot search makes no network call and works
while Google is slow or down (the busy time is as fresh as the last pull, a few minutes).
With ``free_busy`` on (setting ``google_calendar_free_busy``), Google's ``freeBusy`` is asked
first: fresher, but a network call per professional per search. freeBusy cannot tell Porfin's
own events apart, so the professional's own appointments are cut out of its answer (otherwise
moving an appointment a little would collide with itself); when freeBusy fails, the stored
busy time answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import structlog

from porfin_core.domain.calendar import BusyInterval, CalendarConnection
from porfin_core.domain.scheduling import MAX_SPAN, AppointmentStatus, Interval, subtract
from porfin_core.errors import CalendarError
from porfin_core.ports.calendar import CalendarSync
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWorkFactory

log = structlog.get_logger(__name__)


class CalendarBusyTimes:
    """Professionals' busy time in their connected calendars (implements
    :class:`~porfin_core.ports.scheduling.ExternalBusyTimes`).

    Args:
        uow_factory: Storage (connections and the pulled busy time).
        sync: The calendar client, for ``freeBusy``.
        free_busy: Ask the calendar (``freeBusy``) instead of the stored busy time.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sync: CalendarSync | None = None,
        *,
        free_busy: bool = False,
    ) -> None:
        self._uow_factory = uow_factory
        self._sync = sync
        self._free_busy = free_busy and sync is not None

    async def busy(
        self, clinic_id: str, professional_ids: Sequence[str], start: datetime, end: datetime
    ) -> dict[str, list[Interval]]:
        """Busy intervals overlapping ``[start, end)`` by professional (only professionals
        with an active connected calendar)."""
        found: dict[str, list[Interval]] = {}
        live: list[CalendarConnection] = []
        async with self._uow_factory(read_only=True) as uow:
            for professional_id in dict.fromkeys(professional_ids):
                connection = await uow.calendar_connections.find(clinic_id, professional_id)
                if connection is None or not connection.is_active:
                    continue
                live.append(connection)
                stored = await uow.calendar_busy.get(clinic_id, professional_id)
                if stored is not None and stored.connection_id == connection.id:
                    found[professional_id] = _intervals(stored.intervals(start, end))
                else:
                    found[professional_id] = []
        if self._free_busy:
            for connection in live:
                asked = await self._ask(connection, start, end)
                if asked is not None:
                    found[connection.professional_id] = asked
        return found

    async def _ask(
        self, connection: CalendarConnection, start: datetime, end: datetime
    ) -> list[Interval] | None:
        assert self._sync is not None
        try:
            busy = await self._sync.free_busy(connection, start, end)
        except CalendarError as exc:
            log.warning(
                "calendar.free_busy_failed",
                professional_id=connection.professional_id,
                code=exc.fields.get("provider_code"),
            )
            return None
        async with self._uow_factory(read_only=True) as uow:
            appointments = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=connection.clinic_id,
                    professional_id=connection.professional_id,
                    starts_from=start - MAX_SPAN,
                    starts_before=end,
                )
            )
        own = [
            (a.start, a.end) for a in appointments if a.status is not AppointmentStatus.CANCELLED
        ]
        spans = subtract([(b.start, b.end) for b in busy], own)
        return [Interval(s, e) for s, e in spans if e > s]


def _intervals(busy: list[BusyInterval]) -> list[Interval]:
    return [Interval(b.start, b.end) for b in busy]
