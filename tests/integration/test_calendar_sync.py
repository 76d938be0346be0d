"""Google Calendar two-way sync through the container, against the fake Google: connecting
(consent URL, code), appointments pushed by jobs as they are booked, moved and cancelled,
external events pulled into the slot search, the conflict rule for edits made in Google, the
410 full resync, rate-limit backoff and a withdrawn grant. Runs on SQLite with the real
dispatcher and job worker (drained by the test)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from urllib.parse import parse_qs, urlsplit

import aiohttp
import attrs
import pytest
from dependency_injector import providers

import porfin_adapters.container as composition
from porfin_adapters.google_calendar import GoogleCalendarOAuth, GoogleCalendarSync
from porfin_adapters.google_calendar.busy import CalendarBusyTimes
from porfin_adapters.google_calendar.payloads import google_event_id
from porfin_adapters.google_calendar.transport import Backoff
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.audit import AuditAction
from porfin_core.domain.calendar import APPOINTMENT_ID_KEY, CLINIC_ID_KEY, ConnectionStatus
from porfin_core.domain.customer import Identity
from porfin_core.domain.events import (
    CalendarChangeUndone,
    CalendarConnectionRevoked,
    CalendarEventDeleted,
    DomainEvent,
)
from porfin_core.domain.jobs import JobStatus
from porfin_core.domain.scheduling import Appointment, Interval
from porfin_core.errors import SlotTaken
from porfin_core.ports.audit import AuditQuery
from porfin_core.use_cases._calendar import PUSH_KIND
from porfin_core.use_cases._scheduling import WorkingInterval
from porfin_core.use_cases.book_appointment import NewAppointment
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.complete_calendar_connection import ConsentGiven
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.disconnect_calendar import Disconnection
from porfin_core.use_cases.find_free_slots import SlotRequest
from porfin_core.use_cases.push_appointment_to_calendar import PushRequest
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.reschedule_appointment import NewTime
from porfin_core.use_cases.start_calendar_connection import ConnectionRequest
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, GoogleCalendarFake
from tests.scheduling_builders import local
from tests.support import FixedClock

TUESDAY = date(2026, 12, 1)
WEDNESDAY = date(2026, 12, 2)
REDIRECT = "https://porfin.clinica.com.br/api/v1/calendar/oauth/callback"


@pytest.fixture(scope="module")
def google_server() -> Iterator[GoogleCalendarFake]:
    with GoogleCalendarFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(google_server) -> GoogleCalendarFake:
    google_server.reset()
    return google_server


@attrs.define
class World:
    container: composition.Container
    fake: GoogleCalendarFake
    clock: FixedClock
    sleeps: list[float]
    events: list[DomainEvent]
    clinic_id: str = ""
    professional_id: str = ""
    type_id: str = ""
    customer_id: str = ""

    async def drain(self) -> int:
        """Run the jobs due now, then let the dispatcher deliver the events committed."""
        ran = await self.container.job_worker().drain()
        await self.container.dispatcher().settled()
        return ran

    async def book(self, start: datetime) -> Appointment:
        return await self.container.book_appointment()(
            NewAppointment(
                clinic_id=self.clinic_id,
                customer_id=self.customer_id,
                professional_id=self.professional_id,
                type_id=self.type_id,
                start=start,
            )
        )

    def link_event(self, appointment_id: str) -> dict:
        return self.fake.event(google_event_id(appointment_id))

    async def connection(self):
        async with self.container.uow_factory()(read_only=True) as uow:
            return await uow.calendar_connections.find(self.clinic_id, self.professional_id)

    async def link(self, appointment_id: str):
        async with self.container.uow_factory()(read_only=True) as uow:
            return await uow.calendar_links.get(self.clinic_id, appointment_id)

    async def pull_later(self, minutes: int = 5) -> int:
        """Let the pull interval pass and run what is due (the next pull)."""
        self.clock.advance(minutes=minutes)
        return await self.drain()


@pytest.fixture
async def world(fake, tmp_path) -> AsyncIterator[World]:
    clock = FixedClock(datetime(2026, 11, 25, 13, 0, tzinfo=UTC))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        inbound_media_downloads=0,
        evolution_health_interval_seconds=0,
        job_worker_concurrency=0,  # the test drains the jobs itself
        google_client_id=CLIENT_ID,
        google_client_secret=CLIENT_SECRET,
        google_oauth_url=f"{fake.url}/o/oauth2/v2/auth",
        google_token_url=f"{fake.url}/token",
        google_calendar_url=f"{fake.url}/calendar/v3",
        google_redirect_uri=REDIRECT,
    )
    container = composition.create_container(settings)
    container.clock.override(providers.Object(clock))
    backoff = Backoff(sleep=sleep, random=lambda: 0.0)
    oauth = GoogleCalendarOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        secrets=container.secret_store(),
        clock=clock,
        ids=container.ids(),
        auth_url=settings.google_oauth_url,
        token_url=settings.google_token_url,
        backoff=backoff,
    )
    sync = GoogleCalendarSync(oauth, base_url=settings.google_calendar_url, backoff=backoff)
    container.google_calendar.override(providers.Object((oauth, sync)))
    events: list[DomainEvent] = []

    async def remember(event: DomainEvent) -> None:
        events.append(event)

    for kind in (CalendarChangeUndone, CalendarEventDeleted, CalendarConnectionRevoked):
        container.dispatcher().subscribe(kind, remember)
    await composition.start(container)
    world = World(container, fake, clock, sleeps, events)
    try:
        await _seed(world)
        yield world
    finally:
        await composition.stop(container)


async def _seed(world: World) -> None:
    container = world.container
    installation = await container.set_up_installation()()
    world.clinic_id = installation.clinic.id
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="sim-1",
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria Silva",
            body="Quero marcar uma limpeza",
        )
    )
    world.customer_id = received.customer_id
    week = [WorkingInterval(day, "08:00", "18:00") for day in range(1, 6)]
    ana = await container.create_professional()(
        NewProfessional(clinic_id=world.clinic_id, name="Dra. Ana Souza", hours=week)
    )
    world.professional_id = ana.id
    cleaning = await container.create_appointment_type()(
        NewAppointmentType(clinic_id=world.clinic_id, name="Limpeza", duration_minutes=50)
    )
    world.type_id = cleaning.id


async def _consent(url: str) -> tuple[str, str]:
    """Open the consent URL as the professional's browser: (state, code) sent back."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, allow_redirects=False) as response,
    ):
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    return query["state"][0], query["code"][0]


async def _connect(world: World):
    consent = await world.container.start_calendar_connection()(
        ConnectionRequest(clinic_id=world.clinic_id, professional_id=world.professional_id)
    )
    assert consent.url.startswith(world.fake.url)
    assert parse_qs(urlsplit(consent.url).query)["redirect_uri"] == [REDIRECT]
    state, code = await _consent(consent.url)
    connection = await world.container.complete_calendar_connection()(
        ConsentGiven(state=state, code=code)
    )
    await world.drain()  # the first pull: a full sync, then the next one is scheduled
    return connection


async def test_connect_book_reschedule_cancel_round_trip(world):
    connection = await _connect(world)
    assert connection.professional_id == world.professional_id
    stored = await world.connection()
    assert stored is not None and stored.status is ConnectionStatus.ACTIVE
    assert stored.sync_token is not None and stored.full_synced_at == world.clock.now()
    page = await world.container.list_audit_records()(
        AuditQuery(clinic_id=world.clinic_id, action=AuditAction.CALENDAR_CONNECT)
    )
    assert [r.resource_id for r in page.items] == [world.professional_id]

    # Booked: the job writes the event, with Porfin's ids in its private properties.
    appointment = await world.book(local(TUESDAY, 14))
    assert await world.drain() >= 1
    event = world.link_event(appointment.id)
    assert event["status"] == "confirmed"
    assert event["summary"] == "Limpeza — Maria"
    assert event["extendedProperties"]["private"] == {
        APPOINTMENT_ID_KEY: appointment.id,
        CLINIC_ID_KEY: world.clinic_id,
    }
    assert event["start"] == {
        "dateTime": "2026-12-01T14:00:00-03:00",
        "timeZone": "America/Sao_Paulo",
    }
    link = await world.link(appointment.id)
    assert link is not None and link.etag == event["etag"]

    # Idempotent: running the push again writes nothing.
    before = len(world.fake.requests)
    pushed = await world.container.push_appointment_to_calendar()(
        PushRequest(clinic_id=world.clinic_id, appointment_id=appointment.id)
    )
    assert pushed.value == "unchanged"
    assert len(world.fake.requests) == before

    # Rescheduled: the event is patched (same id), conditional on Porfin's etag.
    await world.container.reschedule_appointment()(
        NewTime(clinic_id=world.clinic_id, appointment_id=appointment.id, start=local(TUESDAY, 16))
    )
    await world.drain()
    moved = world.link_event(appointment.id)
    assert moved["start"]["dateTime"] == "2026-12-01T16:00:00-03:00"
    patch = world.fake.calls("PATCH")[-1]
    assert patch.headers.get("if-match") == event["etag"]

    # Cancelled: the event is deleted.
    await world.container.cancel_appointment()(
        Cancellation(clinic_id=world.clinic_id, appointment_id=appointment.id, reason="viagem")
    )
    await world.drain()
    assert world.link_event(appointment.id)["status"] == "cancelled"
    link = await world.link(appointment.id)
    assert link is not None and link.external_id is None

    # The pull that follows sees Porfin's own deletion: nothing is reported.
    await world.pull_later()
    assert not [e for e in world.events if isinstance(e, CalendarEventDeleted)]


async def test_an_external_event_blocks_the_slot_search_and_bookings(world):
    await _connect(world)
    world.fake.add_event("Congresso", local(WEDNESDAY, 9), local(WEDNESDAY, 12))
    world.fake.add_event(
        "Livre", local(WEDNESDAY, 14), local(WEDNESDAY, 15), transparency="transparent"
    )
    await world.pull_later()

    slots = await world.container.find_free_slots()(
        SlotRequest(
            clinic_id=world.clinic_id,
            type_id=world.type_id,
            professional_id=world.professional_id,
            first_day=WEDNESDAY,
            last_day=WEDNESDAY,
            limit=50,
            step_minutes=30,
        )
    )
    starts = [s.start.astimezone(local(WEDNESDAY, 0).tzinfo).strftime("%H:%M") for s in slots]
    assert starts[0] == "08:00"  # 08:00-08:50 ends before the congress
    assert not [s for s in slots if s.start < local(WEDNESDAY, 12) and s.end > local(WEDNESDAY, 9)]
    assert "14:00" in starts  # an event shown as free blocks nothing
    with pytest.raises(SlotTaken):
        await world.book(local(WEDNESDAY, 10))

    # Deleted in Google: the time is free again after the next pull.
    world.fake.delete_event(world.fake.live_events()[0]["id"])
    await world.pull_later()
    booked = await world.book(local(WEDNESDAY, 10))
    assert booked.start == local(WEDNESDAY, 10)


async def test_a_rejected_sync_token_makes_a_full_resync(world):
    await _connect(world)
    world.fake.add_event("Dentista do filho", local(WEDNESDAY, 9), local(WEDNESDAY, 10))
    await world.pull_later()
    world.fake.invalidate_sync_tokens()
    world.fake.add_event("Reunião", local(WEDNESDAY, 16), local(WEDNESDAY, 17))
    lists_before = len(world.fake.calls("GET", "/events"))
    await world.pull_later()
    lists = world.fake.calls("GET", "/events")[lists_before:]
    assert "syncToken" in lists[0].query  # refused with 410...
    assert "syncToken" not in lists[-1].query and "timeMin" in lists[-1].query  # ...full sync
    async with world.container.uow_factory()(read_only=True) as uow:
        busy = await uow.calendar_busy.get(world.clinic_id, world.professional_id)
    assert busy is not None
    assert [(e.start, e.end) for e in busy.events] == [
        (local(WEDNESDAY, 9), local(WEDNESDAY, 10)),
        (local(WEDNESDAY, 16), local(WEDNESDAY, 17)),
    ]
    connection = await world.connection()
    assert connection.full_synced_at == world.clock.now() and connection.last_error is None


async def test_pushes_back_off_on_rate_limits(world):
    await _connect(world)
    world.fake.fail_next("403_userRateLimitExceeded", 2)
    appointment = await world.book(local(TUESDAY, 9))
    await world.drain()
    assert world.link_event(appointment.id)["status"] == "confirmed"
    assert world.sleeps == [0.5, 1.0]  # half of 1 s, 2 s: the jitter drawn as 0 in the test
    # Beyond what the adapter retries, the job is retried later (the push is idempotent).
    world.fake.fail_next("429", 5)
    other = await world.book(local(TUESDAY, 11))
    await world.drain()
    subject = f"calendar:{(await world.connection()).id}"
    async with world.container.uow_factory()(read_only=True) as uow:
        jobs = await uow.jobs.for_subject(world.clinic_id, subject)
    pushes = [j for j in jobs if j.kind == PUSH_KIND and j.payload["appointment_id"] == other.id]
    assert [j.status for j in pushes] == [JobStatus.SCHEDULED]  # retried after its backoff
    world.clock.advance(seconds=15)
    await world.drain()
    assert world.link_event(other.id)["status"] == "confirmed"


async def test_edits_in_google_follow_the_conflict_rule(world):
    await _connect(world)
    appointment = await world.book(local(TUESDAY, 14))
    await world.drain()
    event_id = google_event_id(appointment.id)

    # The owner's own fields (a colour): accepted, nothing written back.
    world.fake.edit_event(event_id, colorId="5")
    patches = len(world.fake.calls("PATCH"))
    await world.pull_later()
    assert len(world.fake.calls("PATCH")) == patches
    assert (await world.link(appointment.id)).etag == world.fake.event(event_id)["etag"]

    # Dragged to another time: undone (Porfin's times written back), staff told.
    world.fake.edit_event(event_id, start=local(TUESDAY, 17), end=local(TUESDAY, 17, 50))
    await world.pull_later()
    restored = world.fake.event(event_id)
    assert restored["start"]["dateTime"] == "2026-12-01T14:00:00-03:00"
    assert restored["colorId"] == "5"  # the owner's colour stays
    undone = [e for e in world.events if isinstance(e, CalendarChangeUndone)]
    assert [(e.appointment_id, e.changed) for e in undone] == [(appointment.id, ("start", "end"))]
    await world.pull_later()  # Porfin's own write coming back: nothing more
    assert len([e for e in world.events if isinstance(e, CalendarChangeUndone)]) == 1

    # Deleted in Google: reported, nothing written; the appointment keeps its slot.
    world.fake.delete_event(event_id)
    await world.pull_later()
    assert world.fake.event(event_id)["status"] == "cancelled"
    deleted = [e for e in world.events if isinstance(e, CalendarEventDeleted)]
    assert [e.appointment_id for e in deleted] == [appointment.id]
    link = await world.link(appointment.id)
    assert link.deleted_remotely_at is not None

    # A later change in Porfin writes the event again (a new one).
    await world.container.reschedule_appointment()(
        NewTime(clinic_id=world.clinic_id, appointment_id=appointment.id, start=local(TUESDAY, 15))
    )
    await world.drain()
    link = await world.link(appointment.id)
    assert link.live and link.external_id != event_id
    again = world.fake.event(link.external_id)
    assert again["start"]["dateTime"] == "2026-12-01T15:00:00-03:00"


async def test_connecting_fills_the_calendar_and_a_withdrawn_grant_revokes(world):
    booked = await world.book(local(TUESDAY, 10))  # before the calendar was connected
    await world.drain()
    await _connect(world)  # the first full sync schedules the missing pushes
    await world.drain()
    assert world.link_event(booked.id)["status"] == "confirmed"

    world.fake.revoke()
    await world.pull_later()
    connection = await world.connection()
    assert connection.status is ConnectionStatus.REVOKED
    assert [type(e) for e in world.events] == [CalendarConnectionRevoked]
    # Nothing runs for a revoked connection; bookings still work.
    await world.pull_later()
    later = await world.book(local(TUESDAY, 16))
    await world.drain()
    assert (await world.link(later.id)) is None

    # Connecting again replaces it; disconnecting removes it.
    await _connect(world)
    assert (await world.connection()).status is ConnectionStatus.ACTIVE
    await world.drain()
    assert world.link_event(later.id)["status"] == "confirmed"
    await world.container.disconnect_calendar()(
        Disconnection(clinic_id=world.clinic_id, professional_id=world.professional_id)
    )
    assert await world.connection() is None


async def test_free_busy_answers_fresh_busy_time_without_porfins_own_appointments(world):
    await _connect(world)
    appointment = await world.book(local(WEDNESDAY, 14))
    await world.drain()
    world.fake.add_event("Congresso", local(WEDNESDAY, 9), local(WEDNESDAY, 12))  # not pulled yet
    container = world.container
    stored = CalendarBusyTimes(container.uow_factory(), container.calendar_sync())
    fresh = CalendarBusyTimes(container.uow_factory(), container.calendar_sync(), free_busy=True)
    day = (local(WEDNESDAY, 0), local(WEDNESDAY, 23))
    pro = world.professional_id
    assert await stored.busy(world.clinic_id, [pro, "nobody"], *day) == {pro: []}
    answer = await fresh.busy(world.clinic_id, [pro], *day)
    # Google's freeBusy holds the congress and Porfin's own event; the latter is cut out.
    assert answer == {pro: [Interval(local(WEDNESDAY, 9), local(WEDNESDAY, 12))]}
    assert world.link_event(appointment.id)["status"] == "confirmed"
    world.fake.fail_next("403_quotaExceeded")  # freeBusy failing: the stored busy time answers
    assert await fresh.busy(world.clinic_id, [pro], *day) == {pro: []}
