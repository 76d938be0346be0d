"""Today's figures for the front desk: the agenda, the inbox's queue, new leads and how fast
patients are answered, for one day of the clinic."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta

import attrs

from porfin_core.domain.availability import day_bounds
from porfin_core.domain.message import Author, Direction, Message, MessageKind
from porfin_core.domain.scheduling import AppointmentStatus
from porfin_core.pagination import MAX_PAGE_SIZE
from porfin_core.permissions import sees_all_chats
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import ChatQuery, UnitOfWork, UnitOfWorkFactory

REPLY_HORIZON = timedelta(days=1)
"""How long after the day's end a first reply is still looked for (a message at 23:50
answered the next morning counts)."""
MAX_MESSAGES = 100_000
"""Messages read for one dashboard at most (the figures of a busier day are partial)."""
MAX_WAITING = 10_000
"""Waiting chats counted at most."""

_ANSWERS = frozenset({Author.AI, Author.STAFF, Author.CLINIC_PHONE})
_PEOPLE = frozenset({Author.STAFF, Author.CLINIC_PHONE})


@attrs.frozen(kw_only=True)
class DashboardQuery:
    """Which day to show, to whom.

    Attributes:
        clinic_id: The clinic.
        day: The local date in the clinic's time zone (default: today there).
        viewer: Who asks; a secretary's waiting chats are those she may see (hers and the
            unassigned ones), as in her inbox. None: the whole clinic.
    """

    clinic_id: str
    day: date | None = None
    viewer: Principal | None = None


@attrs.frozen(kw_only=True)
class Dashboard:
    """One day of the clinic in figures (times in seconds).

    Attributes:
        day: The local date.
        timezone: The clinic's IANA time zone the day is read in.
        appointments_total: Appointments starting that day, whatever their status.
        appointments_by_status: Those appointments per status (every status, zeros too).
        chats_waiting: Chats waiting for a person to answer now (whatever the day).
        longest_wait_seconds: How long the oldest of them has been waiting now; None when
            none waits.
        new_leads: Customers Porfin first saw that day.
        first_response_median_seconds: Median time from the first patient message of the day
            in each chat to the first answer after it (the AI, staff or the clinic's phone;
            up to a day later); None when none was answered.
        first_response_count: How many of those first messages were answered.
        chats_handled_ai: Chats answered that day by the AI only.
        chats_handled_human: Chats answered that day by a person (a message of staff or of
            the clinic's phone), with or without the AI.
        patient_messages_by_hour: Patient messages received in each local hour, 0 to 23.
    """

    day: date
    timezone: str
    appointments_total: int
    appointments_by_status: dict[str, int]
    chats_waiting: int
    longest_wait_seconds: int | None
    new_leads: int
    first_response_median_seconds: int | None
    first_response_count: int
    chats_handled_ai: int
    chats_handled_human: int
    patient_messages_by_hour: list[int]


@attrs.define(kw_only=True)
class GetDashboard:
    """The figures of one clinic day, computed from the records in one read: the day's
    appointments, the clinic's messages of the day (and of the next for late first
    answers), the customers created that day and the chats waiting now. Aggregates only:
    no patient's data is returned, and reading it is not audited."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, query: DashboardQuery) -> Dashboard:
        """Return the day's figures.

        Raises:
            NotFound: no such clinic.
        """
        now = self.clock.now()
        async with self.uow_factory(read_only=True) as uow:
            clinic = await uow.clinics.get(query.clinic_id)
            day = query.day or now.astimezone(clinic.zone).date()
            bounds = day_bounds(day, clinic.zone)
            appointments = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=clinic.id, starts_from=bounds.start, starts_before=bounds.end
                )
            )
            new_leads = await uow.customers.count_created(clinic.id, bounds.start, bounds.end)
            waits = await _waiting_since(uow, query)
            messages = [
                m async for m in _messages(uow, clinic.id, bounds.start, bounds.end + REPLY_HORIZON)
            ]
        by_status = Counter(a.status.value for a in appointments)
        of_day = [m for m in messages if m.created_at < bounds.end]
        responses = _first_responses(of_day, messages)
        ai, human = _chats_handled(of_day)
        hours = [0] * 24
        for message in of_day:
            if message.author is Author.PATIENT:
                hours[message.created_at.astimezone(clinic.zone).hour] += 1
        return Dashboard(
            day=day,
            timezone=clinic.timezone,
            appointments_total=len(appointments),
            appointments_by_status={s.value: by_status[s.value] for s in AppointmentStatus},
            chats_waiting=len(waits),
            longest_wait_seconds=max(0, int((now - min(waits)).total_seconds())) if waits else None,
            new_leads=new_leads,
            first_response_median_seconds=round(statistics.median(responses))
            if responses
            else None,
            first_response_count=len(responses),
            chats_handled_ai=ai,
            chats_handled_human=human,
            patient_messages_by_hour=hours,
        )


async def _waiting_since(uow: UnitOfWork, query: DashboardQuery) -> list[datetime]:
    """When each chat waiting now (that the viewer may see) began to wait."""
    viewer = query.viewer
    visible_to = None if viewer is None or sees_all_chats(viewer.role) else viewer.user_id
    found: list[datetime] = []
    cursor: str | None = None
    while len(found) < MAX_WAITING:
        page = await uow.chats.list(
            ChatQuery(
                clinic_id=query.clinic_id,
                waiting=True,
                visible_to=visible_to,
                limit=MAX_PAGE_SIZE,
                cursor=cursor,
            )
        )
        found += [c.waiting_since for c in page.items if c.waiting_since is not None]
        cursor = page.next_cursor
        if cursor is None:
            break
    return found


async def _messages(
    uow: UnitOfWork, clinic_id: str, since: datetime, until: datetime
) -> AsyncIterator[Message]:
    """The clinic's messages recorded in [since, until), oldest first."""
    cursor: str | None = None
    read = 0
    while read < MAX_MESSAGES:
        page = await uow.messages.list_for_clinic(
            clinic_id, since=since, until=until, limit=MAX_PAGE_SIZE, cursor=cursor
        )
        for message in page.items:
            yield message
        read += len(page.items)
        cursor = page.next_cursor
        if cursor is None:
            return


def _first_responses(of_day: list[Message], messages: list[Message]) -> list[float]:
    """Seconds from each chat's first patient message of the day to the first answer after
    it (``messages`` runs past the day's end, for late answers)."""
    openers: dict[str, Message] = {}
    for message in of_day:
        if (
            message.author is Author.PATIENT
            and message.kind is not MessageKind.REACTION
            and message.chat_id not in openers
        ):
            openers[message.chat_id] = message
    seconds: list[float] = []
    answered: set[str] = set()
    for message in messages:  # oldest first
        opener = openers.get(message.chat_id)
        if (
            opener is None
            or message.chat_id in answered
            or message.direction is not Direction.OUTBOUND
            or message.author not in _ANSWERS
            or (message.created_at, message.id) <= (opener.created_at, opener.id)
        ):
            continue
        answered.add(message.chat_id)
        seconds.append((message.created_at - opener.created_at).total_seconds())
    return seconds


def _chats_handled(of_day: list[Message]) -> tuple[int, int]:
    """Chats answered that day by the AI only, and by a person."""
    answered: set[str] = set()
    by_people: set[str] = set()
    for message in of_day:
        if message.direction is Direction.OUTBOUND and message.author in _ANSWERS:
            answered.add(message.chat_id)
            if message.author in _PEOPLE:
                by_people.add(message.chat_id)
    return len(answered - by_people), len(by_people)
