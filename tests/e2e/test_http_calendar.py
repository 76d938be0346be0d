"""Calendars through the API: connecting a professional's Google Calendar (consent URL, the
public OAuth callback), its status, disconnecting, and the private ICS feed (parsed back with
``icalendar``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from dependency_injector import providers
from icalendar import Calendar
from litestar.testing import TestClient

from porfin_adapters.container import Container, create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, FAST_HASHER, HIGH_LIMITS, TOKEN, simulate
from tests.e2e.test_http_agenda import WEEKDAYS, login, ok
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, GoogleCalendarFake

REDIRECT = "https://porfin.clinica.com.br/api/v1/calendar/oauth/callback"
CALLBACK = "/api/v1/calendar/oauth/callback"
SAO_PAULO = ZoneInfo("America/Sao_Paulo")


@pytest.fixture(scope="module")
def google_server() -> Iterator[GoogleCalendarFake]:
    with GoogleCalendarFake.serving() as fake:
        yield fake


@pytest.fixture
def google(google_server) -> GoogleCalendarFake:
    google_server.reset()
    return google_server


@pytest.fixture
def container(tmp_path, clock, google) -> Container:
    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        inbound_media_downloads=0,
        google_client_id=CLIENT_ID,
        google_client_secret=CLIENT_SECRET,
        google_oauth_url=f"{google.url}/o/oauth2/v2/auth",
        google_token_url=f"{google.url}/token",
        google_calendar_url=f"{google.url}/calendar/v3",
        google_redirect_uri=REDIRECT,
        **HIGH_LIMITS,
    )
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    return container


@pytest.fixture
def agenda(http) -> dict[str, str]:
    manager = login(http, "manager")
    professional = ok(
        http.post(
            "/api/v1/professionals",
            json={
                "name": "Dra. Ana Souza",
                "kind": "dentista",
                "hours": [{"weekday": d, "start": "08:00", "end": "18:00"} for d in WEEKDAYS],
            },
            headers=manager,
        ),
        201,
    )
    kind = ok(
        http.post(
            "/api/v1/appointment-types",
            json={"name": "Limpeza", "duration_minutes": 30, "price_cents": 15000},
            headers=manager,
        ),
        201,
    )
    channel_id = ok(http.get("/api/v1/channels", headers=AUTH))[0]["id"]
    received = simulate(http, channel_id, text="Oi", name="Maria Silva")
    return {
        "professional_id": professional["id"],
        "type_id": kind["id"],
        "maria": ok(received)["customer_id"],
    }


def _consent(url: str) -> dict[str, str]:
    """What Google sends the browser back with, after the consent."""
    answer = httpx.get(url, follow_redirects=False)
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_manager_connects_a_calendar_through_the_callback(http, agenda):
    pro = agenda["professional_id"]
    connect = f"/api/v1/professionals/{pro}/calendar/connect"
    assert http.post(connect, headers=login(http, "secretary")).status_code == 403
    consent = ok(http.post(connect, headers=login(http, "manager")))
    assert consent["redirect_uri"] == REDIRECT
    assert parse_qs(urlsplit(consent["url"]).query)["access_type"] == ["offline"]
    sent_back = _consent(consent["url"])

    page = http.get(CALLBACK, params=sent_back)  # no bearer token: the state is the credential
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Agenda conectada" in page.text

    status = ok(http.get(f"/api/v1/professionals/{pro}/calendar", headers=login(http, "secretary")))
    assert (status["status"], status["provider"], status["calendar_id"]) == (
        "active",
        "google",
        "primary",
    )
    [listed] = ok(http.get("/api/v1/calendar/connections", headers=AUTH))
    assert listed["connection_id"] == status["connection_id"]

    # The same code again (a reloaded page): Google refuses it, the page says what to do.
    again = http.get(CALLBACK, params=sent_back)
    assert again.status_code >= 400 and "Agenda não conectada" in again.text
    # An altered state: refused.
    tampered = http.get(CALLBACK, params={"state": sent_back["state"][:-4] + "AAAA", "code": "x"})
    assert tampered.status_code == 400 and "inválido ou expirou" in tampered.text
    refused = http.get(CALLBACK, params={"error": "access_denied", "state": sent_back["state"]})
    assert refused.status_code == 400 and "recusada" in refused.text

    gone = http.delete(f"/api/v1/professionals/{pro}/calendar", headers=login(http, "manager"))
    assert gone.status_code == 204
    assert http.get(f"/api/v1/professionals/{pro}/calendar", headers=AUTH).status_code == 404


def test_connecting_without_google_configured_is_refused(container, users):
    container.google_calendar.override(providers.Object(None))
    with TestClient(create_app(container)) as http:
        professional = ok(
            http.post("/api/v1/professionals", json={"name": "Dr. Beto"}, headers=AUTH), 201
        )
        answer = http.post(
            f"/api/v1/professionals/{professional['id']}/calendar/connect", headers=AUTH
        )
    assert answer.status_code == 409
    assert answer.json()["code"] == "calendar_not_configured"


def test_the_private_feed_lists_the_professionals_appointments(http, agenda):
    pro = agenda["professional_id"]
    secretary = login(http, "secretary")
    booked = []
    for start in ("2026-11-26T09:00:00-03:00", "2026-11-26T10:00:00-03:00"):
        body = {
            "customer_id": agenda["maria"],
            "type_id": agenda["type_id"],
            "professional_id": pro,
            "start": start,
        }
        booked.append(ok(http.post("/api/v1/appointments", json=body, headers=secretary), 201))
    cancel = http.post(
        f"/api/v1/appointments/{booked[1]['id']}/cancel",
        json={"reason": "viagem"},
        headers=secretary,
    )
    assert cancel.status_code in (200, 201), cancel.text

    rotate = f"/api/v1/professionals/{pro}/calendar/feed-token"
    assert http.post(rotate, headers=secretary).status_code == 403
    made = ok(http.post(rotate, headers=login(http, "manager")), 201)
    path = f"/api/v1/professionals/{pro}/calendar.ics"
    assert f"{path}?token=" in made["url"]

    feed = http.get(path, params={"token": made["token"]})  # no bearer token
    assert feed.status_code == 200, feed.text
    assert feed.headers["content-type"].startswith("text/calendar")
    calendar = Calendar.from_ical(feed.content)
    events = list(calendar.walk("VEVENT"))
    assert [str(e["UID"]) for e in events] == [booked[0]["id"]]  # the cancelled one is left out
    [event] = events
    assert str(event["SUMMARY"]) == "Limpeza — Maria"  # the type and the first name only
    assert str(event["STATUS"]) == "TENTATIVE"
    start = event.decoded("DTSTART")
    assert start == datetime(2026, 11, 26, 9, tzinfo=SAO_PAULO)
    assert event["DTSTART"].params["TZID"] == "America/Sao_Paulo"
    assert event.decoded("DTEND") - start == timedelta(minutes=30)
    [zone] = calendar.walk("VTIMEZONE")
    assert str(zone["TZID"]) == "America/Sao_Paulo"
    assert [s.decoded("TZOFFSETTO") for s in zone.walk("STANDARD")] == [timedelta(hours=-3)]
    assert "Dra. Ana Souza" in str(calendar["X-WR-CALNAME"])
    assert "98765" not in feed.text  # no phone numbers

    wrong = http.get(path, params={"token": "not-the-token"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"].startswith("application/problem+json")
    other = http.get(
        "/api/v1/professionals/someone-else/calendar.ics", params={"token": made["token"]}
    )
    assert other.status_code == 404

    renewed = ok(http.post(rotate, headers=AUTH), 201)
    assert http.get(path, params={"token": made["token"]}).status_code == 404  # the old one
    assert http.get(path, params={"token": renewed["token"]}).status_code == 200
