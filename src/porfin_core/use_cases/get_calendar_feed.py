"""A professional's private calendar feed: what the ICS file lists."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from porfin_core.domain.clinic import Clinic
from porfin_core.domain.scheduling import Appointment, AppointmentStatus, Professional
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases._calendar import appointment_title
from porfin_core.use_cases._sessions import token_hash

FEED_PAST = timedelta(days=30)
"""The feed lists appointments starting from this long ago..."""
FEED_AHEAD = timedelta(days=180)
"""...up to this far ahead."""


@attrs.frozen(kw_only=True)
class FeedRequest:
    """A feed URL's parts.

    Attributes:
        professional_id: The professional in the URL.
        token: The token in the URL (the credential: calendar apps send no other).
    """

    professional_id: str
    token: str


@attrs.frozen(kw_only=True)
class FeedEntry:
    """One appointment as the feed shows it.

    Attributes:
        appointment: The appointment (not cancelled).
        title: Its type and the patient's first name only.
    """

    appointment: Appointment
    title: str


@attrs.frozen(kw_only=True)
class CalendarFeedContent:
    """What a feed lists.

    Attributes:
        clinic: The clinic (its name and time zone).
        professional: Whose appointments.
        entries: The appointments in the window, by start.
        generated_at: When the feed was made.
    """

    clinic: Clinic
    professional: Professional
    entries: tuple[FeedEntry, ...]
    generated_at: datetime


@attrs.define(kw_only=True)
class GetCalendarFeed:
    """The professional's appointments that are not cancelled, from :data:`FEED_PAST` ago to
    :data:`FEED_AHEAD` ahead, for a calendar app subscribed to the feed. The token is checked
    against the stored hash; a wrong token or professional is ``not_found`` (nothing tells
    which). Titles carry the appointment type and the patient's first name only; no notes,
    no phone numbers."""

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: FeedRequest) -> CalendarFeedContent:
        """Return the feed's content.

        Raises:
            NotFound: no feed with this token for this professional.
        """
        now = self.clock.now()
        async with self.uow_factory(read_only=True) as uow:
            feed = await uow.calendar_feeds.find_by_hash(token_hash(command.token))
            if feed is None or feed.professional_id != command.professional_id:
                raise NotFound("calendar feed not found", id=command.professional_id)
            clinic = await uow.clinics.get(feed.clinic_id)
            professional = await uow.professionals.get(feed.clinic_id, feed.professional_id)
            appointments = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=feed.clinic_id,
                    professional_id=feed.professional_id,
                    starts_from=now - FEED_PAST,
                    starts_before=now + FEED_AHEAD,
                )
            )
            kept = [a for a in appointments if a.status is not AppointmentStatus.CANCELLED]
            types = {t.id: t.name for t in await uow.appointment_types.list(feed.clinic_id)}
            names: dict[str, str | None] = {}
            for appointment in kept:
                if appointment.customer_id not in names:
                    try:
                        customer = await uow.customers.get(feed.clinic_id, appointment.customer_id)
                        names[appointment.customer_id] = customer.name
                    except NotFound:
                        names[appointment.customer_id] = None
        entries = tuple(
            FeedEntry(
                appointment=a,
                title=appointment_title(types.get(a.type_id), names[a.customer_id]),
            )
            for a in kept
        )
        return CalendarFeedContent(
            clinic=clinic, professional=professional, entries=entries, generated_at=now
        )
