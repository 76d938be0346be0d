"""A professional's private calendar feed as an iCalendar file (RFC 5545), with the
``icalendar`` package.

One ``VEVENT`` per appointment: ``UID`` the appointment id, ``DTSTART`` /
``DTEND`` in the clinic's zone (``TZID``, with its ``VTIMEZONE``), ``SUMMARY`` the type and
the patient's first name, ``STATUS`` ``TENTATIVE`` until the patient confirms, then
``CONFIRMED``; ``SEQUENCE`` grows with each change, ``DTSTAMP`` / ``LAST-MODIFIED`` say when
it was made and last changed. Nothing else about the patient (no phone, no notes).
"""

from __future__ import annotations

from datetime import date, timedelta
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone

from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.use_cases.get_calendar_feed import CalendarFeedContent

FEED_PATH = "/api/v1/professionals/{professional_id}/calendar.ics"
"""Where the API serves a professional's feed."""
PRODID = "-//Porfin//Agenda//PT-BR"
REFRESH = timedelta(minutes=15)
"""How often calendar apps are asked to fetch the feed again."""


def feed_url(base_url: str, professional_id: str, token: str) -> str:
    """The URL a calendar app subscribes to (``base_url``: Porfin's public address)."""
    path = FEED_PATH.format(professional_id=quote(professional_id, safe=""))
    return f"{base_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def render_feed(feed: CalendarFeedContent) -> bytes:
    """The feed as an ``.ics`` file (UTF-8, CRLF line ends, lines folded at 75 octets)."""
    zone = ZoneInfo(feed.clinic.timezone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{feed.professional.name} — {feed.clinic.name}")
    calendar.add("x-wr-timezone", feed.clinic.timezone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT15M")
    if feed.entries:
        first = min(e.appointment.start for e in feed.entries)
        last = max(e.appointment.end for e in feed.entries)
        calendar.add_component(
            Timezone.from_tzinfo(
                zone,
                tzid=feed.clinic.timezone,
                # Whole years: the component then holds at least one STANDARD rule, also for
                # zones without transitions in the feed's window (Brazil has no DST).
                first_date=date(first.astimezone(zone).year, 1, 1),
                last_date=date(last.astimezone(zone).year + 1, 1, 1),
            )
        )
    for entry in feed.entries:
        appointment = entry.appointment
        event = Event()
        event.add("uid", appointment.id)
        event.add("dtstamp", feed.generated_at)
        event.add("created", appointment.created_at)
        event.add("last-modified", appointment.updated_at)
        event.add("dtstart", appointment.start.astimezone(zone))
        event.add("dtend", appointment.end.astimezone(zone))
        event.add("summary", entry.title)
        event.add("sequence", len(appointment.history) - 1)
        event.add(
            "status",
            "TENTATIVE" if appointment.status is AppointmentStatus.REQUESTED else "CONFIRMED",
        )
        event.add("transp", "OPAQUE")
        calendar.add_component(event)
    return calendar.to_ical()
