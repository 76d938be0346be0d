"""Free slots: examples of each rule, and properties that hold for any agenda in every
Brazilian time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porfin_core.domain.availability import Availability, check_search, nearest
from porfin_core.domain.clinic import Weekday
from porfin_core.domain.scheduling import (
    DateException,
    DayPeriod,
    Interval,
    Professional,
    ProfessionalKind,
    Slot,
    TimeRange,
    WeeklyHours,
)
from porfin_core.errors import ValidationError
from tests import scheduling_builders as sb

AT = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)  # Wednesday 10:00 in São Paulo
THURSDAY = date(2026, 11, 26)
HALF_HOUR = timedelta(minutes=30)
ZONES = ["America/Sao_Paulo", "America/Manaus", "America/Noronha", "America/Rio_Branco"]


def _starts(slots: list[Slot], zone: ZoneInfo = sb.SAO_PAULO) -> list[str]:
    return [s.start.astimezone(zone).strftime("%d %H:%M") for s in slots]


def _search(availability, people, first=THURSDAY, last=None, **kwargs):
    kwargs.setdefault("duration", HALF_HOUR)
    kwargs.setdefault("not_before", AT)
    return availability.slots(people, first_day=first, last_day=last or first, **kwargs)


def test_slots_fill_working_hours_on_the_step_and_skip_breaks():
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(8), time(14)), breaks=sb.lunch())
    slots = _search(Availability(zone=sb.SAO_PAULO), [ana], limit=50)
    morning = [f"26 {h:02d}:{m:02d}" for h in range(8, 12) for m in (0, 15, 30, 45)][:-1]
    assert _starts(slots) == [*morning, "26 13:00", "26 13:15", "26 13:30"]
    assert all(s.end - s.start == HALF_HOUR for s in slots)
    assert all(s.start.tzinfo == sb.SAO_PAULO for s in slots)


def test_never_in_the_past_and_limited():
    ana = sb.professional(AT)
    today = _search(Availability(zone=sb.SAO_PAULO), [ana], first=date(2026, 11, 25), limit=3)
    assert _starts(today) == ["25 10:00", "25 10:15", "25 10:30"]  # now is 10:00
    late = _search(
        Availability(zone=sb.SAO_PAULO),
        [ana],
        first=date(2026, 11, 25),
        not_before=AT + timedelta(minutes=7),
        limit=1,
    )
    assert _starts(late) == ["25 10:15"]  # the next step, not 10:07


def test_appointments_block_their_time_and_buffers():
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(8), time(11)))
    booked = sb.appointment(
        AT, sb.local(THURSDAY, 9), kind=sb.appointment_type(AT, minutes=30, before=10, after=20)
    )
    availability = Availability(zone=sb.SAO_PAULO, busy={"prof1": [booked.occupied]})
    # 08:50-09:50 is taken; a new 30-minute slot with a 10-minute buffer after it must end
    # its buffer by 08:50, and may start once 09:50 has passed.
    slots = _search(availability, [ana], buffer_after=timedelta(minutes=10), limit=20)
    assert _starts(slots) == ["26 08:00", "26 10:00", "26 10:15", "26 10:30"]


def test_external_busy_time_blocks_like_an_appointment():
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(8), time(10)))
    event = Interval(sb.local(THURSDAY, 8, 20), sb.local(THURSDAY, 9, 10))
    slots = _search(Availability(zone=sb.SAO_PAULO, busy={"prof1": [event]}), [ana], limit=9)
    assert _starts(slots) == ["26 09:15", "26 09:30"]


def test_holidays_and_closures_take_the_day_or_part_of_it_away():
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(8), time(10)))
    closure = Interval(sb.local(date(2026, 11, 27), 8, 30), sb.local(date(2026, 11, 27), 9, 30))
    availability = Availability(zone=sb.SAO_PAULO, holidays={THURSDAY}, closures=[closure])
    slots = _search(availability, [ana], last=date(2026, 11, 27), step=HALF_HOUR, limit=9)
    assert _starts(slots) == ["27 08:00", "27 09:30"]


def test_exceptions_give_other_hours_that_date():
    saturday = date(2026, 11, 28)
    ana = sb.professional(
        AT, exceptions=[DateException(saturday, (TimeRange(time(9), time(10)),), "Mutirão")]
    )
    slots = _search(Availability(zone=sb.SAO_PAULO), [ana], first=saturday, step=HALF_HOUR)
    assert _starts(slots) == ["28 09:00", "28 09:30"]


def test_periods_keep_slots_that_start_in_them():
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(11), time(19)))
    availability = Availability(zone=sb.SAO_PAULO)
    slots = _search(availability, [ana], step=timedelta(hours=1), periods={DayPeriod.MANHA})
    assert _starts(slots) == ["26 11:00"]
    evening = _search(availability, [ana], step=timedelta(hours=1), periods={DayPeriod.NOITE})
    assert _starts(evening) == ["26 18:00"]


def test_several_professionals_are_sorted_by_start_then_id():
    bia = sb.professional(AT, "prof2", hours=sb.weekdays_hours(time(8), time(9)))
    ana = sb.professional(AT, "prof1", hours=sb.weekdays_hours(time(8, 30), time(9)))
    slots = _search(Availability(zone=sb.SAO_PAULO), [bia, ana], step=HALF_HOUR)
    assert [(s.start.strftime("%H:%M"), s.professional_id) for s in slots] == [
        ("08:00", "prof2"),
        ("08:30", "prof1"),
        ("08:30", "prof2"),
    ]


def test_local_hours_are_read_in_the_clinic_zone():
    manaus = ZoneInfo("America/Manaus")
    ana = sb.professional(AT, hours=sb.weekdays_hours(time(8), time(9)))
    slots = _search(Availability(zone=manaus), [ana], step=HALF_HOUR)
    assert [s.start for s in slots] == [
        datetime(2026, 11, 26, 12, tzinfo=UTC),
        datetime(2026, 11, 26, 12, 30, tzinfo=UTC),
    ]
    assert all(s.start.tzinfo == manaus for s in slots)


def test_fits_accepts_any_start_inside_free_working_time():
    ana = sb.professional(AT, breaks=sb.lunch())
    availability = Availability(zone=sb.SAO_PAULO)
    assert availability.fits(ana, sb.local(THURSDAY, 9, 7), sb.local(THURSDAY, 9, 37))
    assert not availability.fits(ana, sb.local(THURSDAY, 11, 45), sb.local(THURSDAY, 12, 15))
    assert not availability.fits(ana, sb.local(THURSDAY, 17, 45), sb.local(THURSDAY, 18, 15))


def test_nearest_picks_the_closest_slots_on_either_side():
    slots = [Slot("p", sb.local(THURSDAY, h), sb.local(THURSDAY, h, 30)) for h in (8, 9, 11, 15)]
    picked = nearest(slots, sb.local(THURSDAY, 10))
    assert [s.start.hour for s in picked] == [8, 9, 11]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"last_day": THURSDAY - timedelta(days=1)}, "last_day"),
        ({"last_day": THURSDAY + timedelta(days=92)}, "last_day"),
        ({"step": timedelta(minutes=4)}, "step_minutes"),
        ({"step": timedelta(minutes=7, seconds=30)}, "step_minutes"),
        ({"limit": 0}, "limit"),
    ],
)
def test_bad_searches_are_refused(kwargs, field):
    kwargs.setdefault("last_day", THURSDAY)
    with pytest.raises(ValidationError) as caught:
        check_search(THURSDAY, **kwargs)
    assert caught.value.fields["field"] == field


# -- properties --------------------------------------------------------------------------------

MINUTES = st.integers(0, 24 * 60 // 5 - 1).map(lambda n: n * 5)


@st.composite
def _ranges(draw, max_ranges: int = 2) -> list[TimeRange]:
    """Non-overlapping local ranges of one day (5-minute grain)."""
    cuts = sorted(draw(st.lists(MINUTES, max_size=2 * max_ranges, unique=True)))
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    return [TimeRange(time(a // 60, a % 60), time(b // 60, b % 60)) for a, b in pairs]


@st.composite
def _professional(draw, professional_id: str, first: date) -> Professional:
    hours, breaks = [], []
    for day in range(1, 8):
        hours += [WeeklyHours(Weekday(day), r.start, r.end) for r in draw(_ranges())]
        breaks += [WeeklyHours(Weekday(day), r.start, r.end) for r in draw(_ranges(1))]
    exception_days = draw(st.sets(st.integers(0, 6), max_size=2))
    exceptions = [
        DateException(first + timedelta(days=n), tuple(draw(_ranges()))) for n in exception_days
    ]
    return Professional.create(
        id=professional_id,
        clinic_id="clinic1",
        name=professional_id,
        kind=ProfessionalKind.DENTISTA,
        hours=hours,
        breaks=breaks,
        exceptions=exceptions,
        at=AT,
    )


@st.composite
def _intervals(draw, zone: ZoneInfo, first: date, max_size: int) -> list[Interval]:
    found = []
    for _ in range(draw(st.integers(0, max_size))):
        day = first + timedelta(days=draw(st.integers(-1, 7)))
        start = datetime.combine(day, time(), tzinfo=zone) + timedelta(minutes=draw(MINUTES))
        found.append(Interval(start, start + timedelta(minutes=draw(st.integers(1, 300)))))
    return found


@st.composite
def _scenario(draw):
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    first = draw(st.dates(date(2020, 1, 1), date(2035, 12, 24)))
    last = first + timedelta(days=draw(st.integers(0, 6)))
    people = [draw(_professional(f"prof{n}", first)) for n in range(draw(st.integers(1, 3)))]
    busy = {p.id: draw(_intervals(zone, first, 8)) for p in people}
    holidays = {first + timedelta(days=n) for n in draw(st.sets(st.integers(0, 6), max_size=2))}
    closures = draw(_intervals(zone, first, 2))
    now = datetime.combine(first, time(), tzinfo=zone) + timedelta(
        minutes=draw(st.integers(0, 3 * 24 * 60))
    )
    search = {
        "first_day": first,
        "last_day": last,
        "duration": timedelta(minutes=draw(st.integers(1, 36)) * 5),
        "buffer_before": timedelta(minutes=draw(st.sampled_from([0, 5, 10, 15, 30]))),
        "buffer_after": timedelta(minutes=draw(st.sampled_from([0, 5, 10, 15, 30]))),
        "not_before": now,
        "periods": draw(st.sets(st.sampled_from(list(DayPeriod)))),
        "step": timedelta(minutes=draw(st.sampled_from([5, 10, 15, 20, 30, 60]))),
        "limit": draw(st.integers(1, 200)),
    }
    availability = Availability(zone=zone, holidays=holidays, closures=closures, busy=busy)
    return availability, people, search


def _inside_working_hours(professional: Professional, slot: Slot, zone: ZoneInfo) -> bool:
    """Checked on local wall-clock times, independently of the search's arithmetic."""
    start, end = slot.start.astimezone(zone), slot.end.astimezone(zone)
    if start.date() != end.date() and end.time() != time():
        return False
    if end.time() == time() and end.date() != start.date():
        return False  # working ranges end before midnight
    return any(
        r.start <= start.time() and end.time() <= r.end
        for r in professional.working_ranges(start.date())
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_no_slot_overlaps_anything_busy_or_leaves_working_hours(scenario):
    availability, people, search = scenario
    slots = availability.slots(people, **search)
    zone = availability.zone
    by_id = {p.id: p for p in people}
    assert len(slots) <= search["limit"]
    assert slots == sorted(slots, key=lambda s: (s.start, s.professional_id))
    assert len(set(slots)) == len(slots)
    for slot in slots:
        professional = by_id[slot.professional_id]
        local_start = slot.start.astimezone(zone)
        assert slot.start.tzinfo == zone
        assert slot.start >= search["not_before"]
        assert slot.end - slot.start == search["duration"]
        assert search["first_day"] <= local_start.date() <= search["last_day"]
        assert local_start.date() not in availability.holidays
        assert _inside_working_hours(professional, slot, zone)
        core = Interval(slot.start, slot.end)
        assert not any(core.overlaps(c) for c in availability.closures)
        occupied = Interval(slot.start - search["buffer_before"], slot.end + search["buffer_after"])
        assert not any(occupied.overlaps(b) for b in availability.busy[professional.id])
        if search["periods"]:
            assert DayPeriod.of(local_start.time()) in search["periods"]
        assert availability.fits(
            professional,
            slot.start,
            slot.end,
            buffer_before=search["buffer_before"],
            buffer_after=search["buffer_after"],
        )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_scenario())
def test_a_longer_limit_only_adds_later_slots(scenario):
    availability, people, search = scenario
    fewer = availability.slots(people, **{**search, "limit": 3})
    more = availability.slots(people, **{**search, "limit": 200})
    assert more[: len(fewer)] == fewer
