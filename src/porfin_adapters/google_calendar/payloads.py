"""Porfin's calendar value objects as Google Calendar v3 JSON, and back.

Shapes from the ``Event`` and ``FreeBusyResponse`` schemas (reference §2.2, §2.4) and the
fixtures in ``../shared/fixtures/gcal``. Porfin's ids travel in
``extendedProperties.private`` (only this calendar's copy of the event carries them).
"""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from porfin_core.domain.calendar import (
    APPOINTMENT_ID_KEY,
    CLINIC_ID_KEY,
    BusyInterval,
    CalendarEvent,
    EventStatus,
)
from porfin_core.errors import ValidationError

EVENT_ID = re.compile(r"[a-v0-9]{5,1024}")
"""What Google accepts as a client-supplied event id (base32hex, lower case)."""


def google_event_id(appointment_id: str) -> str:
    """The event id Porfin gives the event of an appointment: the appointment id in base32hex
    (lower case, no padding), so a retried insert finds the first attempt's event."""
    encoded = base64.b32hexencode(appointment_id.encode("utf-8")).decode("ascii")
    return encoded.rstrip("=").lower()


def rfc3339(moment: datetime) -> str:
    """``moment`` in UTC as RFC 3339 (``2026-12-01T17:00:00Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _local(moment: datetime, zone: str) -> dict[str, str]:
    return {"dateTime": moment.astimezone(ZoneInfo(zone)).isoformat(), "timeZone": zone}


def event_body(event: CalendarEvent) -> dict[str, Any]:
    """The fields Porfin owns, as an ``events.insert``/``events.patch`` body (no id).

    The status is always sent, so a write also undoes a cancellation. Only Porfin's keys of
    the private properties are sent: a patch leaves any other key alone.
    """
    private: dict[str, str] = {}
    if event.appointment_id is not None:
        private[APPOINTMENT_ID_KEY] = event.appointment_id
    if event.clinic_id is not None:
        private[CLINIC_ID_KEY] = event.clinic_id
    body: dict[str, Any] = {
        "summary": event.summary,
        "description": event.description,
        "start": _local(event.start, event.time_zone),
        "end": _local(event.end, event.time_zone),
        "status": event.status.value,
    }
    if private:
        body["extendedProperties"] = {"private": private}
    return body


def _zone_name(*candidates: object) -> str:
    for candidate in candidates:
        if isinstance(candidate, str) and candidate:
            try:
                ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return candidate
    return "UTC"


def _moment(value: Any, zone: str, field: str) -> tuple[datetime, bool]:
    """An ``EventDateTime`` as an aware datetime, and whether it is a whole day."""
    if not isinstance(value, dict):
        raise ValidationError(f"event {field} is missing", field=field)
    if isinstance(value.get("dateTime"), str):
        moment = datetime.fromisoformat(value["dateTime"])
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(zone))
        return moment, False
    if isinstance(value.get("date"), str):
        day = date.fromisoformat(value["date"])
        return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone)), True
    raise ValidationError(f"event {field} has neither dateTime nor date", field=field)


def _timestamp(raw: Any) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def parse_event(item: dict[str, Any], calendar_zone: str | None = None) -> CalendarEvent:
    """A Google ``Event`` (not a bare cancelled one) as a :class:`CalendarEvent`.

    Times keep the offset Google gave; whole-day dates become midnights in the event's zone
    (else the calendar's, else UTC).

    Raises:
        ValidationError: the item has no usable start or end, or an unknown status.
        ValueError: a date or time Google wrote is not ISO 8601.
    """
    start_raw = item.get("start") or {}
    zone = _zone_name(
        start_raw.get("timeZone") if isinstance(start_raw, dict) else None, calendar_zone
    )
    start, all_day = _moment(item.get("start"), zone, "start")
    end, _ = _moment(item.get("end"), zone, "end")
    extended = item.get("extendedProperties")
    private = extended.get("private") if isinstance(extended, dict) else None
    private = private if isinstance(private, dict) else {}
    try:
        status = EventStatus(item.get("status") or EventStatus.CONFIRMED.value)
    except ValueError as exc:
        raise ValidationError(f"unknown event status {item.get('status')!r}") from exc
    return CalendarEvent(
        external_id=str(item["id"]) if item.get("id") else None,
        etag=str(item["etag"]) if item.get("etag") else None,
        summary=str(item.get("summary") or ""),
        description=str(item.get("description") or ""),
        start=start,
        end=end,
        time_zone=zone,
        status=status,
        appointment_id=_text_or_none(private.get(APPOINTMENT_ID_KEY)),
        clinic_id=_text_or_none(private.get(CLINIC_ID_KEY)),
        busy=item.get("transparency", "opaque") != "transparent",
        all_day=all_day,
        updated=_timestamp(item.get("updated")),
    )


def _text_or_none(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def parse_busy(periods: Any) -> list[BusyInterval]:
    """A ``freeBusy`` calendar's ``busy`` list as intervals (empty ones dropped).

    Raises:
        ValueError: a period is not a pair of RFC 3339 times.
    """
    intervals: list[BusyInterval] = []
    for period in periods if isinstance(periods, list) else []:
        start = _timestamp(period.get("start")) if isinstance(period, dict) else None
        end = _timestamp(period.get("end")) if isinstance(period, dict) else None
        if start is None or end is None:
            raise ValueError(f"not a busy period: {period!r}")
        if end > start:
            intervals.append(BusyInterval(start, end))
    return intervals
