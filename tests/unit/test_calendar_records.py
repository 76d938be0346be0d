"""What Porfin keeps about connected calendars: appointment links through the conflict rule,
busy time applied from pulls, the pull chain's keys, and the calendar text of appointments."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import attrs

from porfin_adapters.memory.storage import MemoryUnitOfWorkFactory
from porfin_core.domain.calendar import (
    BusyEvent,
    BusyInterval,
    CalendarBusyTime,
    CalendarChanges,
    CalendarConnection,
    CalendarEvent,
    CalendarLink,
    ConflictAction,
    decide_conflict,
)
from porfin_core.domain.channel import SecretRef
from porfin_core.use_cases._calendar import (
    appointment_title,
    first_name,
    schedule_next_pull,
    schedule_pull_now,
)
from tests.support import SequentialIds

BRT = timezone(timedelta(hours=-3))
NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BRT)


def event(external_id: str, start: datetime, end: datetime, **fields) -> CalendarEvent:
    return CalendarEvent(external_id=external_id, etag='"1"', start=start, end=end, **fields)


def porfin_event(**changes) -> CalendarEvent:
    fields = {
        "summary": "Limpeza — Maria",
        "description": "Agendado pelo Porfin.",
        "start": at(14),
        "end": at(14, 50),
        "appointment_id": "appt1",
        "clinic_id": "clinic1",
    }
    return CalendarEvent(**{**fields, **changes})


def written_link() -> CalendarLink:
    link = CalendarLink(
        clinic_id="clinic1",
        appointment_id="appt1",
        professional_id="pro1",
        connection_id="conn1",
        updated_at=NOW,
    )
    desired = porfin_event()
    link.wrote(desired, attrs.evolve(desired, external_id="ev1", etag='"10"'), NOW)
    return link


def test_a_link_is_in_step_until_the_appointment_or_the_calendar_changes():
    link = written_link()
    assert link.live and link.in_step_with(porfin_event())
    assert link.written is not None and link.written.etag == '"10"'
    assert not link.in_step_with(porfin_event(start=at(15), end=at(15, 50)))
    # The same instant in another offset is no change.
    assert link.in_step_with(porfin_event(start=at(14).astimezone(UTC)))


def test_accepted_and_rejected_edits_move_the_known_etag():
    link = written_link()
    colour = porfin_event(external_id="ev1", etag='"11"')
    assert decide_conflict(link.written, colour).action is ConflictAction.ACCEPT
    link.accept(colour, NOW)
    assert link.etag == '"11"' and link.in_step_with(porfin_event())

    moved = porfin_event(external_id="ev1", etag='"12"', start=at(16), end=at(16, 50))
    decision = decide_conflict(link.written, moved)
    assert (decision.action, decision.notify_staff) == (ConflictAction.REPUSH, True)
    assert link.reject(moved, NOW) is True
    assert link.reject(moved, NOW) is False  # the same version again: nothing new
    assert link.etag == '"12"' and not link.in_step_with(porfin_event())  # to be written back


def test_a_deletion_in_the_calendar_is_remembered_once_and_forgotten_when_restored():
    link = written_link()
    assert link.deleted_in_calendar(NOW) is True
    assert link.deleted_in_calendar(NOW) is False
    assert not link.live and not link.in_step_with(porfin_event())
    assert link.restored_in_calendar(NOW) is True
    assert link.live


def test_busy_time_follows_full_and_incremental_pulls():
    busy = CalendarBusyTime(
        clinic_id="clinic1", professional_id="pro1", connection_id="conn1", updated_at=NOW
    )
    full = CalendarChanges(
        events=(
            event("a", at(9), at(10)),
            event("b", at(11), at(12), busy=False),  # shown as free
            porfin_event(external_id="mine", etag='"1"'),  # this clinic's own event
            event("c", at(10), at(11), appointment_id="x", clinic_id="other-clinic"),
        ),
        full=True,
    )
    busy.apply(full, NOW, keep_after=NOW)
    assert [e.external_id for e in busy.events] == ["a", "c"]
    assert busy.intervals(at(0), at(23)) == [BusyInterval(at(9), at(11))]  # merged
    busy.apply(
        CalendarChanges(events=(event("a", at(15), at(16)),), deleted=("c",)), NOW, keep_after=NOW
    )
    assert [(e.external_id, e.start) for e in busy.events] == [("a", at(15))]
    busy.apply(CalendarChanges(events=(), full=True), NOW, keep_after=NOW)
    assert busy.events == []
    busy.events = [BusyEvent("old", at(9, day=1) - timedelta(days=30), at(10) - timedelta(days=30))]
    busy.apply(CalendarChanges(), NOW, keep_after=NOW)
    assert busy.events == []  # ended long ago


async def test_the_next_pull_is_one_job_per_interval_boundary():
    factory = MemoryUnitOfWorkFactory(SequentialIds())
    connection = CalendarConnection(
        id="conn1",
        clinic_id="clinic1",
        professional_id="pro1",
        refresh_token=SecretRef("gcal-refresh-1"),
        connected_at=NOW,
    )
    async with factory() as uow:
        first = await schedule_pull_now(uow, connection, NOW)
        a = await schedule_next_pull(uow, connection, NOW, timedelta(minutes=5))
        b = await schedule_next_pull(
            uow, connection, NOW + timedelta(minutes=2), timedelta(minutes=5)
        )
        c = await schedule_next_pull(
            uow, connection, NOW + timedelta(minutes=5), timedelta(minutes=5)
        )
        await uow.commit()
    assert first.run_at == NOW
    assert a.id == b.id and a.run_at == NOW + timedelta(minutes=5)
    assert c.id != a.id and c.run_at == NOW + timedelta(minutes=10)
    assert a.subject == "calendar:conn1"
    assert a.payload == {"professional_id": "pro1", "connection_id": "conn1"}


def test_calendars_show_the_type_and_the_first_name_only():
    assert appointment_title("Limpeza", "Maria da Silva Souza") == "Limpeza — Maria"
    assert appointment_title(None, "  ") == "Consulta — Paciente"
    assert first_name(None) == "Paciente"
