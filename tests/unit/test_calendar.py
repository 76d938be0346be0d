"""External calendars: the conflict rule, busy time, connections, Google's JSON, clinic keys
and the backoff arithmetic."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from porfin_adapters.google_calendar.payloads import (
    EVENT_ID,
    event_body,
    google_event_id,
    parse_busy,
    parse_event,
)
from porfin_adapters.google_calendar.transport import Answer, Backoff, classify
from porfin_adapters.memory.secrets import MemorySecretStore
from porfin_adapters.security.clinic_keys import ClinicKeys, clinic_key_name
from porfin_core.domain.calendar import (
    BusyInterval,
    CalendarChanges,
    CalendarConnection,
    CalendarEvent,
    ConflictAction,
    ConnectionStatus,
    EventStatus,
    busy_intervals,
    decide_conflict,
    merge_intervals,
)
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import (
    CalendarError,
    CalendarEventChanged,
    CalendarResyncRequired,
    InvalidStateTransition,
    ValidationError,
)
from tests.fakes.google_calendar import fixture

BRT = timezone(timedelta(hours=-3))
CLINIC = "clinica1"


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=BRT)


def porfin_event(**changes) -> CalendarEvent:
    fields = {
        "external_id": "abc123",
        "etag": '"3470837371875000"',
        "summary": "Consulta — Maria Silva",
        "description": "Limpeza",
        "start": at(14),
        "end": at(14, 50),
        "appointment_id": "appt1",
        "clinic_id": CLINIC,
    }
    fields.update(changes)
    return CalendarEvent(**fields)


# -- the conflict rule ----------------------------------------------------------------


def test_the_etag_porfin_wrote_means_nothing_happened_in_google():
    written = porfin_event()
    decision = decide_conflict(written, porfin_event())
    assert decision.action is ConflictAction.NONE
    assert not decision.notify_staff


def test_a_move_made_in_google_is_rejected_and_reported():
    written = porfin_event()
    remote = porfin_event(etag='"2"', start=at(16), end=at(16, 50))
    decision = decide_conflict(written, remote)
    assert decision.action is ConflictAction.REPUSH
    assert decision.changed == ("start", "end")
    assert decision.notify_staff


def test_a_longer_appointment_in_google_is_a_time_change_too():
    decision = decide_conflict(porfin_event(), porfin_event(etag='"2"', end=at(15, 30)))
    assert decision.action is ConflictAction.REPUSH
    assert decision.changed == ("end",)
    assert decision.notify_staff


def test_the_same_instant_in_another_offset_is_no_move():
    remote = porfin_event(etag='"2"', start=at(14).astimezone(UTC), end=at(14, 50))
    assert decide_conflict(porfin_event(), remote).action is ConflictAction.ACCEPT


def test_a_renamed_event_is_put_back_quietly():
    remote = porfin_event(etag='"2"', summary="Maria (cliente antiga)")
    decision = decide_conflict(porfin_event(), remote)
    assert decision.action is ConflictAction.REPUSH
    assert decision.changed == ("summary",)
    assert not decision.notify_staff


def test_removed_porfin_ids_or_a_tentative_status_are_put_back():
    no_ids = porfin_event(etag='"2"', appointment_id=None, clinic_id=None)
    tentative = porfin_event(etag='"2"', status=EventStatus.TENTATIVE)
    assert decide_conflict(porfin_event(), no_ids).changed == ("porfin_ids",)
    assert decide_conflict(porfin_event(), tentative).changed == ("status",)


def test_the_owners_own_fields_are_accepted():
    # A colour, a reminder or "show as free" changes the etag and nothing Porfin owns.
    remote = porfin_event(etag='"2"', busy=False)
    decision = decide_conflict(porfin_event(), remote)
    assert decision.action is ConflictAction.ACCEPT
    assert decision.changed == ()


def test_a_deletion_in_google_is_reported_for_staff_to_decide():
    cancelled = porfin_event(etag='"2"', status=EventStatus.CANCELLED)
    for remote in (None, cancelled):
        decision = decide_conflict(porfin_event(), remote)
        assert decision.action is ConflictAction.REPORT_DELETION
        assert decision.notify_staff


def test_without_a_known_etag_the_fields_decide():
    written = porfin_event(etag=None)
    assert decide_conflict(written, porfin_event()).action is ConflictAction.ACCEPT
    moved = porfin_event(start=at(15), end=at(15, 50))
    assert decide_conflict(written, moved).action is ConflictAction.REPUSH


# -- events, busy time, connections ---------------------------------------------------


def test_an_event_needs_aware_times_in_order_and_a_real_zone():
    with pytest.raises(ValidationError):
        CalendarEvent(start=datetime(2026, 12, 1, 14), end=at(15))
    with pytest.raises(ValidationError):
        CalendarEvent(start=at(15), end=at(14))
    with pytest.raises(ValidationError):
        CalendarEvent(start=at(14), end=at(15), time_zone="America/Nowhere")
    assert CalendarEvent(start=at(14), end=at(14)).blocks_time() is False


def test_busy_time_counts_external_events_only_merged():
    events = [
        porfin_event(),  # this clinic's appointment: already busy in Porfin
        porfin_event(
            external_id="x1", appointment_id=None, clinic_id=None, start=at(9), end=at(10)
        ),
        porfin_event(
            external_id="x2", appointment_id=None, clinic_id=None, start=at(9, 30), end=at(11)
        ),
        porfin_event(external_id="x3", clinic_id="other", start=at(11), end=at(12)),
        porfin_event(external_id="x4", appointment_id=None, busy=False, start=at(7), end=at(8)),
        porfin_event(
            external_id="x5",
            appointment_id=None,
            status=EventStatus.CANCELLED,
            start=at(13),
            end=at(14),
        ),
        porfin_event(external_id="x6", appointment_id=None, start=at(9, day=2), end=at(10, day=2)),
    ]
    assert busy_intervals(events, clinic_id=CLINIC, start=at(0), end=at(0, day=2)) == [
        BusyInterval(at(9), at(12))
    ]
    assert len(busy_intervals(events, clinic_id=CLINIC)) == 2


def test_merging_keeps_separate_intervals_apart():
    a, b, c = (
        BusyInterval(at(8), at(9)),
        BusyInterval(at(10), at(11)),
        BusyInterval(at(8), at(8, 30)),
    )
    assert merge_intervals([b, c, a]) == [a, b]
    with pytest.raises(ValidationError):
        BusyInterval(at(9), at(9))


def test_a_connection_keeps_the_sync_token_until_revoked():
    connection = CalendarConnection(
        id="c1",
        clinic_id=CLINIC,
        professional_id="pro1",
        refresh_token=SecretRef("store:gcal-refresh-1"),
        scopes=["https://www.googleapis.com/auth/calendar.events"],
        connected_at=at(9),
    )
    connection.record_sync(CalendarChanges(next_sync_token="tok1"), at(10))
    assert (connection.sync_token, connection.last_synced_at) == ("tok1", at(10))
    connection.require_full_sync()
    assert connection.sync_token is None
    connection.record_sync(CalendarChanges(next_sync_token="tok2"), at(11))
    connection.revoke(at(12))
    connection.revoke(at(13))
    assert connection.status is ConnectionStatus.REVOKED
    assert (connection.revoked_at, connection.sync_token) == (at(12), None)
    with pytest.raises(InvalidStateTransition):
        connection.record_sync(CalendarChanges(next_sync_token="tok3"), at(14))


# -- Google's JSON ----------------------------------------------------------------------


def test_an_appointment_becomes_an_event_in_the_clinics_zone_with_porfin_ids():
    event = porfin_event(start=at(14).astimezone(UTC), end=at(14, 50).astimezone(UTC))
    body = event_body(event)
    assert body["start"] == {
        "dateTime": "2026-12-01T14:00:00-03:00",
        "timeZone": "America/Sao_Paulo",
    }
    assert body["end"]["dateTime"] == "2026-12-01T14:50:00-03:00"
    assert body["extendedProperties"] == {
        "private": {"porfin_appointment_id": "appt1", "porfin_clinic_id": CLINIC}
    }
    assert body["status"] == "confirmed"
    assert "id" not in body


def test_event_ids_from_appointment_ids_are_valid_google_ids_and_distinct():
    ids = {google_event_id(a) for a in ("appt1", "0190f3a1b2c3d4e5f60718293a4b5c6d", "Ab_-9")}
    assert len(ids) == 3
    assert all(EVENT_ID.fullmatch(i) for i in ids)


def test_a_recurring_instance_with_a_minus_three_offset_reads_back():
    event = parse_event(fixture("event_resource_recurring_instance_minus0300.json"))
    assert event.external_id == "7sull595rv5apd9mr77a6g0s0h_20220131T170000Z"
    assert event.start == datetime(2022, 1, 31, 17, 0, tzinfo=UTC)
    assert event.end - event.start == timedelta(hours=1)
    assert event.time_zone == "America/Argentina/Buenos_Aires"
    assert event.etag == '"3285116233130000"'
    assert event.appointment_id is None and event.busy and not event.all_day
    assert event.updated == datetime(2022, 1, 19, 2, 8, 36, 565000, tzinfo=UTC)


def test_whole_day_and_free_events_read_back():
    item = {
        "id": "allday1",
        "status": "confirmed",
        "start": {"date": "2026-12-24"},
        "end": {"date": "2026-12-26"},
        "transparency": "transparent",
        "extendedProperties": {"private": {"porfin_appointment_id": "a9", "other": "x"}},
    }
    event = parse_event(item, "America/Sao_Paulo")
    assert event.all_day and not event.busy
    assert event.start == datetime(2026, 12, 24, 3, 0, tzinfo=UTC)
    assert event.end - event.start == timedelta(days=2)
    assert event.appointment_id == "a9" and event.clinic_id is None


def test_free_busy_periods_read_back():
    busy = fixture("freebusy_query_response.json")["calendars"]["primary"]["busy"]
    intervals = parse_busy(busy)
    assert len(intervals) == 6
    assert intervals[0] == BusyInterval(
        datetime(2017, 1, 9, 0, 12, tzinfo=UTC), datetime(2017, 1, 9, 0, 55, tzinfo=UTC)
    )


def test_googles_errors_map_to_porfins():
    rate = classify(
        Answer(403, {}, fixture("error_403_userRateLimitExceeded.json")), operation="push"
    )
    assert rate.retryable and rate.fields["provider_code"] == "userRateLimitExceeded"
    empty = classify(
        Answer(400, {}, fixture("error_400_timeRangeEmpty.json")), operation="free_busy"
    )
    assert not empty.retryable and empty.fields["provider_code"] == "timeRangeEmpty"
    auth = classify(Answer(401, {}, fixture("error_401_authError.json")), operation="pull")
    assert not auth.retryable and auth.fields["provider_code"] == "authError"
    assert isinstance(classify(Answer(410, {}, None), operation="pull"), CalendarResyncRequired)
    assert isinstance(classify(Answer(412, {}, None), operation="push"), CalendarEventChanged)
    gateway = classify(Answer(502, {"retry-after": "3"}, "<html>"), operation="push")
    assert type(gateway) is CalendarError and gateway.retryable
    assert gateway.fields["provider_code"] == "http_502" and gateway.fields["retry_after"] == 3
    quota = Answer(403, {}, {"error": {"errors": [{"reason": "quotaExceeded"}], "code": 403}})
    assert classify(quota, operation="push").retryable and not quota.backs_off()


def test_backoff_grows_with_jitter_and_honours_retry_after():
    low, high = Backoff(random=lambda: 0.0), Backoff(random=lambda: 0.999999)
    assert [low.delay(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, None]
    assert [round(high.delay(n) or 0, 3) for n in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert low.delay(0, retry_after=7) == 7
    assert low.delay(0, retry_after=120) is None  # longer than the cap: give up now


# -- clinic keys --------------------------------------------------------------------------


async def test_a_clinic_key_is_made_once_kept_in_the_secret_store_and_only_opens_its_own():
    secrets = MemorySecretStore()
    keys = ClinicKeys(secrets)
    sealed = await keys.encrypt(CLINIC, json.dumps({"refresh_token": "1//abc"}))
    assert "1//abc" not in sealed
    assert clinic_key_name(CLINIC) in secrets.values
    # Another process (a new ClinicKeys) finds the same key.
    assert json.loads(await ClinicKeys(secrets).decrypt(CLINIC, sealed)) == {
        "refresh_token": "1//abc"
    }
    with pytest.raises(ValidationError):
        await keys.decrypt("clinica2", sealed)
    with pytest.raises(ValidationError):
        await keys.decrypt(CLINIC, sealed[:-4] + "AAAA")
    with pytest.raises(ValidationError):
        clinic_key_name("../etc")
