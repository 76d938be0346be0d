"""The calendar repositories' contract: connections, appointment links, busy time and feeds
kept alike by every storage adapter (memory, SQLite, Firestore)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from porfin_core.domain.calendar import (
    BusyEvent,
    CalendarBusyTime,
    CalendarChanges,
    CalendarConnection,
    CalendarEvent,
    CalendarFeed,
    CalendarLink,
    ConnectionStatus,
)
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import Conflict, NotFound, TransactionConflict

BRT = timezone(timedelta(hours=-3))


def _connection(at: datetime, professional_id: str = "pro1", clinic_id: str = "clinic1"):
    return CalendarConnection(
        id=f"conn-{professional_id}",
        clinic_id=clinic_id,
        professional_id=professional_id,
        refresh_token=SecretRef("gcal-refresh-1"),
        scopes=("https://www.googleapis.com/auth/calendar.events",),
        connected_at=at,
    )


def _event(appointment_id: str = "appt1", hour: int = 14) -> CalendarEvent:
    return CalendarEvent(
        summary="Limpeza — Maria",
        description="Marcada pelo Porfin",
        start=datetime(2026, 12, 1, hour, tzinfo=BRT),
        end=datetime(2026, 12, 1, hour, 50, tzinfo=BRT),
        appointment_id=appointment_id,
        clinic_id="clinic1",
    )


def _link(at: datetime, appointment_id: str, professional_id: str = "pro1") -> CalendarLink:
    link = CalendarLink(
        clinic_id="clinic1",
        appointment_id=appointment_id,
        professional_id=professional_id,
        connection_id=f"conn-{professional_id}",
        updated_at=at,
    )
    desired = _event(appointment_id)
    stored = CalendarEvent(
        external_id=f"ev{appointment_id}",
        etag='"1"',
        start=desired.start,
        end=desired.end,
        updated=at,
    )
    link.wrote(desired, stored, at)
    return link


async def test_a_connection_round_trips_changes_and_is_removed(backend, clock):
    now = clock.now()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.calendar_connections.find("clinic1", "pro1") is None
        with pytest.raises(NotFound):
            await uow.calendar_connections.get("clinic1", "pro1")
    async with backend.uow_factory() as uow:
        await uow.calendar_connections.save(_connection(now, "pro2"))
        await uow.calendar_connections.save(_connection(now, "pro1"))
        await uow.calendar_connections.save(_connection(now, "pro1", clinic_id="clinic2"))
        await uow.commit()
    async with backend.uow_factory() as uow:
        connection = await uow.calendar_connections.get("clinic1", "pro1")
        assert connection == _connection(now, "pro1")
        connection.record_sync(CalendarChanges(next_sync_token="tok1", full=True), now)
        await uow.calendar_connections.save(connection)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.calendar_connections.find("clinic1", "pro1")
        assert found is not None
        assert (found.sync_token, found.full_synced_at) == ("tok1", now)
        listed = await uow.calendar_connections.list("clinic1")
        assert [c.professional_id for c in listed] == ["pro1", "pro2"]
        assert await uow.calendar_connections.find("clinic3", "pro1") is None
    async with backend.uow_factory() as uow:
        connection = await uow.calendar_connections.get("clinic1", "pro2")
        connection.revoke(now)
        await uow.calendar_connections.save(connection)
        await uow.calendar_connections.remove(await uow.calendar_connections.get("clinic1", "pro1"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.calendar_connections.find("clinic1", "pro1") is None
        revoked = await uow.calendar_connections.get("clinic1", "pro2")
        assert revoked.status is ConnectionStatus.REVOKED
        assert await uow.calendar_connections.find("clinic2", "pro1") is not None


async def test_links_are_found_by_appointment_event_and_professional(backend, clock):
    now = clock.now()
    async with backend.uow_factory() as uow:
        await uow.calendar_links.save(_link(now, "appt2"))
        await uow.calendar_links.save(_link(now, "appt1"))
        await uow.calendar_links.save(_link(now, "appt3", professional_id="pro2"))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        link = await uow.calendar_links.get("clinic1", "appt1")
        assert link == _link(now, "appt1")
        assert link.written is not None and link.written.etag == '"1"'
        assert await uow.calendar_links.get("clinic2", "appt1") is None
        by_event = await uow.calendar_links.find_by_event("clinic1", "evappt2")
        assert by_event is not None and by_event.appointment_id == "appt2"
        assert await uow.calendar_links.find_by_event("clinic1", "nope") is None
        listed = await uow.calendar_links.list("clinic1", "pro1")
        assert [x.appointment_id for x in listed] == ["appt1", "appt2"]
    async with backend.uow_factory() as uow:
        link = await uow.calendar_links.get("clinic1", "appt1")
        assert link is not None
        link.forget_event(clock.advance(minutes=1))
        await uow.calendar_links.save(link)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.calendar_links.find_by_event("clinic1", "evappt1") is None
        gone = await uow.calendar_links.get("clinic1", "appt1")
        assert gone is not None and gone.external_id is None


async def test_busy_time_round_trips_and_is_removed(backend, clock):
    now = clock.now()
    busy = CalendarBusyTime(
        clinic_id="clinic1",
        professional_id="pro1",
        connection_id="conn-pro1",
        events=[
            BusyEvent(
                "g1", datetime(2026, 12, 1, 9, tzinfo=BRT), datetime(2026, 12, 1, 10, tzinfo=BRT)
            ),
            BusyEvent(
                "g2", datetime(2026, 12, 2, 9, tzinfo=UTC), datetime(2026, 12, 2, 11, tzinfo=UTC)
            ),
        ],
        updated_at=now,
    )
    async with backend.uow_factory() as uow:
        assert await uow.calendar_busy.get("clinic1", "pro1") is None
        await uow.calendar_busy.save(busy)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.calendar_busy.get("clinic1", "pro1")
        assert stored is not None
        assert [(e.external_id, e.start, e.end) for e in stored.events] == [
            (e.external_id, e.start, e.end) for e in busy.events
        ]
        assert await uow.calendar_busy.get("clinic2", "pro1") is None
    async with backend.uow_factory() as uow:
        await uow.calendar_busy.remove("clinic1", "pro1")
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.calendar_busy.get("clinic1", "pro1") is None


async def test_a_feed_is_found_by_its_token_hash_until_replaced(backend, clock):
    now = clock.now()
    async with backend.uow_factory() as uow:
        assert await uow.calendar_feeds.find("clinic1", "pro1") is None
        await uow.calendar_feeds.save(
            CalendarFeed(
                clinic_id="clinic1", professional_id="pro1", token_hash="a" * 64, created_at=now
            )
        )
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        found = await uow.calendar_feeds.find_by_hash("a" * 64)
        assert found is not None and (found.clinic_id, found.professional_id) == ("clinic1", "pro1")
        assert await uow.calendar_feeds.find_by_hash("b" * 64) is None
    async with backend.uow_factory() as uow:
        await uow.calendar_feeds.save(
            CalendarFeed(
                clinic_id="clinic1", professional_id="pro1", token_hash="b" * 64, created_at=now
            )
        )
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.calendar_feeds.find_by_hash("a" * 64) is None  # the old token
        renewed = await uow.calendar_feeds.find_by_hash("b" * 64)
        assert renewed is not None and renewed.professional_id == "pro1"
        feed = await uow.calendar_feeds.find("clinic1", "pro1")
        assert feed is not None and feed.token_hash == "b" * 64
    with pytest.raises(Conflict):
        async with backend.uow_factory() as uow:
            await uow.calendar_feeds.save(
                CalendarFeed(
                    clinic_id="clinic1", professional_id="pro2", token_hash="b" * 64, created_at=now
                )
            )
            await uow.commit()


async def test_two_units_of_work_connecting_one_professional_do_not_both_commit(backend, clock):
    """Both find no connection and insert one: at most one commits, the other conflicts (and
    its retry sees the first's), so a booking that found none is retried once a connection
    appears."""
    if backend.reopen is None:
        pytest.skip("write units of work of the memory store run one at a time")
    now = clock.now()
    other, _ = await backend.reopen()
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(backend.uow_factory())
        second = await stack.enter_async_context(other())
        for uow in (first, second):
            assert await uow.calendar_connections.find("clinic1", "pro1") is None
            await uow.calendar_connections.save(_connection(now))
        outcomes = await asyncio.gather(first.commit(), second.commit(), return_exceptions=True)
    committed = [o for o in outcomes if o is None]
    assert all(o is None or isinstance(o, TransactionConflict) for o in outcomes), outcomes
    assert len(committed) <= 1
    if backend.name == "sqlite":
        assert len(committed) == 1
