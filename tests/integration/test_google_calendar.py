"""The Google Calendar adapters against a fake Google on 127.0.0.1: connecting a calendar
(consent URL, code, refresh token encrypted at rest), pushing Porfin's events with their ids,
incremental pulls with a sync token, the 410 full resync, external busy time, backoff on rate
limits, access-token refresh and a revoked grant."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import aiohttp
import attrs
import pytest

from porfin_adapters.google_calendar import GoogleCalendarOAuth, GoogleCalendarSync
from porfin_adapters.google_calendar.oauth import EVENTS_SCOPE, FREEBUSY_SCOPE
from porfin_adapters.google_calendar.payloads import google_event_id
from porfin_adapters.google_calendar.transport import Backoff
from porfin_adapters.memory.secrets import MemorySecretStore
from porfin_adapters.security.clinic_keys import ClinicKeys, clinic_key_name
from porfin_core.domain.calendar import (
    BusyInterval,
    CalendarConnection,
    CalendarEvent,
    ConflictAction,
    busy_intervals,
    decide_conflict,
)
from porfin_core.errors import (
    CalendarAccessRevoked,
    CalendarError,
    CalendarEventChanged,
    CalendarResyncRequired,
    ValidationError,
)
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, GoogleCalendarFake
from tests.support import FixedClock, SequentialIds

BRT = timezone(timedelta(hours=-3))
CLINIC = "clinica1"
PROFESSIONAL = "pro1"
REDIRECT = "https://porfin.clinica.com.br/api/v1/calendar/callback"


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BRT)


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
    fake: GoogleCalendarFake
    secrets: MemorySecretStore
    clock: FixedClock
    oauth: GoogleCalendarOAuth
    sync: GoogleCalendarSync
    sleeps: list[float]
    backoff: Backoff


@pytest.fixture
async def world(fake) -> AsyncIterator[World]:
    secrets = MemorySecretStore()
    clock = FixedClock(datetime(2026, 11, 25, 13, 0, tzinfo=UTC))
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    backoff = Backoff(sleep=sleep, random=lambda: 0.0)
    oauth = GoogleCalendarOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        secrets=secrets,
        clock=clock,
        ids=SequentialIds("id"),
        auth_url=f"{fake.url}/o/oauth2/v2/auth",
        token_url=f"{fake.url}/token",
        backoff=backoff,
    )
    sync = GoogleCalendarSync(
        oauth, base_url=f"{fake.url}/calendar/v3", backoff=backoff, page_size=3
    )
    yield World(fake, secrets, clock, oauth, sync, sleeps, backoff)
    await sync.aclose()
    await oauth.aclose()


async def consent(world: World, professional_id: str = PROFESSIONAL) -> tuple[str, str]:
    """Open the consent URL as the professional's browser would: (state, code) Google sends."""
    request = await world.oauth.consent_url(CLINIC, professional_id, REDIRECT)
    async with (
        aiohttp.ClientSession() as session,
        session.get(request.url, allow_redirects=False) as response,
    ):
        assert response.status == 302
        location = response.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == [request.state]
    return query["state"][0], query["code"][0]


async def connect(world: World, professional_id: str = PROFESSIONAL) -> CalendarConnection:
    state, code = await consent(world, professional_id)
    return await world.oauth.complete(state, code)


def appointment(appointment_id: str = "appt1", **changes) -> CalendarEvent:
    fields = {
        "summary": "Consulta — Maria Silva",
        "description": "Limpeza · WhatsApp +55 11 98765-4321",
        "start": at(14),
        "end": at(14, 50),
        "time_zone": "America/Sao_Paulo",
        "appointment_id": appointment_id,
        "clinic_id": CLINIC,
    }
    fields.update(changes)
    return CalendarEvent(**fields)


# -- connecting -----------------------------------------------------------------------


async def test_connecting_stores_the_refresh_token_encrypted_with_the_clinic_key(world, fake):
    request = await world.oauth.consent_url(CLINIC, PROFESSIONAL, REDIRECT)
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
    assert request.url.startswith(f"{fake.url}/o/oauth2/v2/auth?")
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == REDIRECT
    assert query["response_type"] == "code"
    assert query["scope"].split() == [EVENTS_SCOPE, FREEBUSY_SCOPE]
    assert query["access_type"] == "offline" and query["prompt"] == "consent"
    assert query["include_granted_scopes"] == "true"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["state"] == request.state
    assert CLINIC not in request.state and PROFESSIONAL not in request.state  # sealed
    assert request.expires_at == world.clock.now() + timedelta(minutes=15)

    connection = await connect(world)

    assert (connection.clinic_id, connection.professional_id) == (CLINIC, PROFESSIONAL)
    assert connection.calendar_id == "primary" and connection.is_active
    assert connection.scopes == (EVENTS_SCOPE, FREEBUSY_SCOPE)
    assert connection.connected_at == world.clock.now() and connection.sync_token is None
    [exchange] = fake.calls("POST", "/token")
    assert exchange.form["grant_type"] == "authorization_code"
    assert exchange.form["redirect_uri"] == REDIRECT and exchange.form["code_verifier"]
    [refresh_token] = fake.refresh_tokens
    stored = await world.secrets.get(connection.refresh_token)
    assert refresh_token not in stored and connection.refresh_token.hint is None
    assert clinic_key_name(CLINIC) in world.secrets.values
    opened = json.loads(await ClinicKeys(world.secrets).decrypt(CLINIC, stored))
    assert opened == {"refresh_token": refresh_token, "professional_id": PROFESSIONAL}


async def test_a_state_altered_expired_or_used_twice_is_refused(world, fake):
    state, code = await consent(world)
    with pytest.raises(ValidationError) as altered:
        await world.oauth.complete(state[:-6] + "AAAAAA", code)
    assert altered.value.fields["field"] == "state"

    world.clock.advance(minutes=16)
    with pytest.raises(ValidationError):
        await world.oauth.complete(state, code)
    world.clock.advance(minutes=-16)

    await world.oauth.complete(state, code)
    with pytest.raises(CalendarError) as reused:
        await world.oauth.complete(state, code)
    assert reused.value.fields["provider_code"] == "invalid_grant"
    assert not reused.value.retryable and not isinstance(reused.value, CalendarAccessRevoked)


async def test_a_consent_without_the_events_permission_connects_nothing(world, fake):
    fake.granted_scopes = (FREEBUSY_SCOPE,)
    state, code = await consent(world)
    with pytest.raises(CalendarError) as refused:
        await world.oauth.complete(state, code)
    assert refused.value.fields["provider_code"] == "missing_scope"
    assert not [k for k in world.secrets.values if k.startswith("gcal-refresh-")]


async def test_without_an_oauth_client_nothing_can_be_connected(world):
    oauth = GoogleCalendarOAuth(
        client_id=None,
        client_secret=None,
        secrets=world.secrets,
        clock=world.clock,
        ids=SequentialIds(),
    )
    with pytest.raises(CalendarError) as missing:
        await oauth.consent_url(CLINIC, PROFESSIONAL, REDIRECT)
    assert missing.value.fields["provider_code"] == "not_configured"
    with pytest.raises(ValidationError):
        await world.oauth.consent_url(CLINIC, PROFESSIONAL, "javascript:alert(1)")


# -- pushing ----------------------------------------------------------------------------


async def test_appointments_become_events_updated_and_deleted_with_them(world, fake):
    connection = await connect(world)

    created = await world.sync.push(connection, appointment())

    assert created.external_id == google_event_id("appt1")
    stored = fake.event(created.external_id)
    assert stored["extendedProperties"]["private"] == {
        "porfin_appointment_id": "appt1",
        "porfin_clinic_id": CLINIC,
    }
    assert stored["start"] == {
        "dateTime": "2026-12-01T14:00:00-03:00",
        "timeZone": "America/Sao_Paulo",
    }
    assert stored["summary"] == "Consulta — Maria Silva"
    assert created.etag == stored["etag"] and created.updated is not None
    assert created.start == at(14) and created.is_porfin_event(CLINIC)
    assert all(r.query["sendUpdates"] == "none" for r in fake.calls("POST", "/events"))

    # The owner adds a private note of her own; Porfin's update keeps it.
    fake.edit_event(created.external_id, extendedProperties={"private": {"cor": "verde"}})
    moved = attrs.evolve(created, start=at(16), end=at(16, 50))
    updated = await world.sync.push(connection, moved)

    stored = fake.event(created.external_id)
    assert stored["start"]["dateTime"] == "2026-12-01T16:00:00-03:00"
    assert stored["extendedProperties"]["private"]["cor"] == "verde"
    assert updated.etag == stored["etag"] != created.etag
    [patched] = fake.calls("PATCH")
    assert "if-match" not in patched.headers

    await world.sync.delete(connection, created.external_id)
    assert fake.event(created.external_id)["status"] == "cancelled"
    await world.sync.delete(connection, created.external_id)  # already gone: fine
    await world.sync.delete(connection, "nosuchevent")
    assert fake.live_events() == []


async def test_a_create_retried_after_a_lost_answer_makes_no_second_event(world, fake):
    connection = await connect(world)
    first = await world.sync.push(connection, appointment())
    again = await world.sync.push(connection, appointment(summary="Consulta — Maria S."))

    assert again.external_id == first.external_id
    assert [e["summary"] for e in fake.live_events()] == ["Consulta — Maria S."]

    # Deleted in Google, its id stays taken: putting it back makes a new event.
    fake.delete_event(first.external_id)
    restored = await world.sync.push(connection, appointment())
    assert restored.external_id != first.external_id
    assert [e["id"] for e in fake.live_events()] == [restored.external_id]


async def test_if_match_refuses_to_overwrite_an_edit_made_in_google(world, fake):
    connection = await connect(world)
    written = await world.sync.push(connection, appointment())
    fake.edit_event(written.external_id, start=at(15), end=at(15, 50))

    with pytest.raises(CalendarEventChanged):
        await world.sync.push(connection, written, if_match=written.etag)
    with pytest.raises(CalendarEventChanged):
        await world.sync.delete(connection, written.external_id, if_match=written.etag)
    assert fake.event(written.external_id)["start"]["dateTime"].startswith("2026-12-01T15:00")


# -- pulling ----------------------------------------------------------------------------


async def test_an_incremental_pull_brings_only_the_changes_and_the_rule_undoes_a_move(world, fake):
    connection = await connect(world)
    kept = await world.sync.push(connection, appointment("appt1"))
    other = await world.sync.push(connection, appointment("appt2", start=at(9), end=at(9, 30)))

    full = await world.sync.pull(connection, time_min=at(0), time_max=at(0, day=30))
    assert full.full and full.deleted == ()
    assert {e.appointment_id for e in full.events} == {"appt1", "appt2"}
    connection.record_sync(full, world.clock.now())
    assert connection.sync_token == full.next_sync_token is not None

    # In Google: a new personal event, the 14:00 appointment dragged to 17:00, one deleted.
    personal = fake.add_event("Dentista das crianças", at(11), at(12))
    fake.edit_event(kept.external_id, start=at(17), end=at(17, 50))
    fake.delete_event(other.external_id)

    changes = await world.sync.pull(connection, time_min=at(0))

    assert not changes.full
    assert {e.external_id for e in changes.events} == {personal["id"], kept.external_id}
    assert changes.deleted == (other.external_id,)
    incremental = fake.calls("GET", "/events")[-1].query
    assert incremental["syncToken"] == connection.sync_token
    assert incremental["showDeleted"] == "true" and incremental["singleEvents"] == "true"
    assert "timeMin" not in incremental and "timeMax" not in incremental
    connection.record_sync(changes, world.clock.now())

    remote = next(e for e in changes.events if e.external_id == kept.external_id)
    decision = decide_conflict(kept, remote)
    assert decision.action is ConflictAction.REPUSH and decision.notify_staff
    assert decide_conflict(other, None).action is ConflictAction.REPORT_DELETION
    external = next(e for e in changes.events if e.external_id == personal["id"])
    assert not external.is_porfin_event(CLINIC)

    rewritten = await world.sync.push(connection, kept, if_match=remote.etag)
    assert fake.event(kept.external_id)["start"]["dateTime"] == "2026-12-01T14:00:00-03:00"

    # Porfin's own write comes back with the etag it was answered: nothing to do.
    echo = await world.sync.pull(connection, time_min=at(0))
    [mine] = echo.events
    assert decide_conflict(rewritten, mine).action is ConflictAction.NONE


async def test_a_410_asks_for_a_full_resync(world, fake):
    connection = await connect(world)
    await world.sync.push(connection, appointment())
    connection.record_sync(await world.sync.pull(connection, time_min=at(0)), world.clock.now())
    fake.invalidate_sync_tokens()
    lists_before = len(fake.calls("GET", "/events"))

    with pytest.raises(CalendarResyncRequired) as gone:
        await world.sync.pull(connection, time_min=at(0))

    assert gone.value.code == "calendar_resync_required" and not gone.value.retryable
    assert len(fake.calls("GET", "/events")) == lists_before + 1  # not retried
    assert world.sleeps == []
    connection.require_full_sync()
    again = await world.sync.pull(connection, time_min=at(0))
    assert again.full and [e.appointment_id for e in again.events] == ["appt1"]
    connection.record_sync(again, world.clock.now())
    assert (await world.sync.pull(connection, time_min=at(0))).events == ()


async def test_a_full_sync_of_a_real_calendar_follows_every_page(world, fake):
    ids = fake.load_fixture_events()
    connection = await connect(world)

    changes = await world.sync.pull(
        connection, time_min=datetime(2024, 12, 1, tzinfo=UTC), time_max=None
    )

    assert sorted(e.external_id for e in changes.events) == sorted(ids)
    pages = fake.calls("GET", "/events")
    assert len(pages) == 4  # 10 events, 3 a page
    assert [("pageToken" in p.query) for p in pages] == [False, True, True, True]
    assert all(p.query["timeMin"] == "2024-12-01T00:00:00Z" for p in pages)
    assert changes.next_sync_token
    test1 = next(e for e in changes.events if e.summary == "Test1")
    assert test1.start == datetime(2024, 12, 29, 11, 0, tzinfo=UTC)
    assert test1.time_zone == "Europe/Prague" and not test1.is_porfin_event(CLINIC)


# -- busy time --------------------------------------------------------------------------


async def test_an_external_busy_event_blocks_its_time(world, fake):
    connection = await connect(world)
    await world.sync.push(connection, appointment())  # 14:00-14:50, Porfin's own
    fake.add_event("Congresso", at(10), at(11, 30))
    fake.add_event("Almoço (livre)", at(12), at(13), transparency="transparent")
    changes = await world.sync.pull(connection, time_min=at(0))

    assert busy_intervals(changes.events, clinic_id=CLINIC) == [BusyInterval(at(10), at(11, 30))]
    free_busy = await world.sync.free_busy(connection, at(8), at(18))
    assert free_busy == [BusyInterval(at(10), at(11, 30)), BusyInterval(at(14), at(14, 50))]
    [query] = fake.calls("POST", "/freeBusy")
    assert query.json == {
        "timeMin": "2026-12-01T11:00:00Z",
        "timeMax": "2026-12-01T21:00:00Z",
        "items": [{"id": "primary"}],
    }


async def test_an_empty_range_is_refused_and_not_retried(world, fake):
    connection = await connect(world)
    with pytest.raises(CalendarError) as empty:
        await world.sync.free_busy(connection, at(10), at(10))
    assert empty.value.fields["provider_code"] == "timeRangeEmpty"
    assert not empty.value.retryable and world.sleeps == []


# -- backoff, tokens, revocation --------------------------------------------------------


async def test_rate_limits_are_retried_with_backoff_then_succeed(world, fake):
    connection = await connect(world)
    fake.fail_next("403_userRateLimitExceeded", 2)
    fake.fail_next("429")

    written = await world.sync.push(connection, appointment())

    assert written.external_id == google_event_id("appt1")
    assert world.sleeps == [0.5, 1.0, 2.0]
    assert len(fake.calls("POST", "/events")) == 4
    assert len(fake.live_events()) == 1

    world.sleeps.clear()
    fake.fail_next("500")
    fake.fail_next("403_rateLimitExceeded")
    fake.fail_next("429", headers={"Retry-After": "3"})
    await world.sync.pull(connection, time_min=at(0))
    assert world.sleeps == [0.5, 1.0, 3.0]


async def test_backoff_gives_up_and_quota_errors_are_not_retried_now(world, fake):
    connection = await connect(world)
    fake.fail_next("503", 5)
    with pytest.raises(CalendarError) as exhausted:
        await world.sync.pull(connection, time_min=at(0))
    assert exhausted.value.retryable and exhausted.value.fields["http_status"] == 503
    assert world.sleeps == [0.5, 1.0, 2.0, 4.0]

    world.sleeps.clear()
    fake.fail_next("403_quotaExceeded")
    with pytest.raises(CalendarError) as quota:
        await world.sync.push(connection, appointment())
    assert quota.value.retryable and quota.value.fields["provider_code"] == "quotaExceeded"
    assert world.sleeps == []


async def test_access_tokens_are_cached_refreshed_near_expiry_and_after_a_401(world, fake):
    connection = await connect(world)
    await world.sync.push(connection, appointment())
    await world.sync.pull(connection, time_min=at(0))
    assert fake.token_grants() == ["authorization_code"]

    world.clock.advance(seconds=3920 - 30)  # within a minute of the fixture's expires_in
    await world.sync.pull(connection, time_min=at(0))
    assert fake.token_grants() == ["authorization_code", "refresh_token"]
    refresh = fake.calls("POST", "/token")[-1].form
    assert refresh["refresh_token"] in fake.refresh_tokens
    assert refresh["client_id"] == CLIENT_ID and refresh["client_secret"] == CLIENT_SECRET

    fake.expire_access_tokens()
    await world.sync.free_busy(connection, at(8), at(18))
    assert fake.token_grants()[-1] == "refresh_token" and len(fake.token_grants()) == 3

    # Calls that find the token expired together share one refresh.
    world.clock.advance(seconds=3920)
    await asyncio.gather(*(world.sync.free_busy(connection, at(8), at(18)) for _ in range(3)))
    assert len(fake.token_grants()) == 4

    # A second process (another adapter) refreshes from the stored, encrypted token.
    other = GoogleCalendarOAuth(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        secrets=world.secrets,
        clock=world.clock,
        ids=SequentialIds("other"),
        token_url=f"{fake.url}/token",
    )
    assert await other.access_token(connection) in fake.access_tokens
    await other.aclose()


async def test_a_revoked_grant_revokes_the_connection(world, fake):
    connection = await connect(world)
    await world.sync.push(connection, appointment())
    fake.revoke()  # the professional removed Porfin from her Google account

    with pytest.raises(CalendarAccessRevoked) as revoked:
        await world.sync.pull(connection, time_min=at(0))

    assert revoked.value.code == "calendar_access_revoked"
    assert revoked.value.fields["provider_code"] == "invalid_grant"
    assert revoked.value.fields["connection_id"] == connection.id
    connection.revoke(world.clock.now())
    calls = len(fake.requests)
    with pytest.raises(CalendarAccessRevoked):
        await world.sync.push(connection, appointment("appt2"))
    assert len(fake.requests) == calls  # a revoked connection calls nobody


async def test_a_calendar_that_cannot_be_reached_is_retried_then_retryable(world, fake):
    connection = await connect(world)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    backoff = Backoff(sleep=world.backoff.sleep, random=lambda: 0.0, max_attempts=3)
    sync = GoogleCalendarSync(world.oauth, base_url=closed, backoff=backoff)
    with pytest.raises(CalendarError) as unreachable:
        await sync.pull(connection, time_min=at(0))
    await sync.aclose()
    assert unreachable.value.retryable
    assert unreachable.value.fields["provider_code"] == "unreachable"
    assert world.sleeps == [0.5, 1.0]


async def test_a_clinic_id_that_cannot_name_a_key_is_refused_at_once(world):
    with pytest.raises(ValidationError):
        await world.oauth.consent_url("../clinica", PROFESSIONAL, REDIRECT)


async def test_disconnecting_forgets_the_stored_token(world, fake):
    connection = await connect(world)
    await world.oauth.disconnect(connection)
    assert not [k for k in world.secrets.values if k.startswith("gcal-refresh-")]
    with pytest.raises(CalendarAccessRevoked):
        await world.sync.pull(connection, time_min=at(0))
