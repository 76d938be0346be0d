"""Give a professional's private calendar feed (ICS) a new token."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.calendar import CalendarFeed
from porfin_core.ports.auth import SecretGenerator
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._sessions import token_hash
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class FeedTokenRequest:
    """Whose feed gets a new token.

    Attributes:
        clinic_id: The clinic.
        professional_id: The professional.
        actor: Who asks, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    professional_id: str
    actor: Actor | None = None


@attrs.frozen
class FeedToken:
    """The new token (shown once: only its hash is kept) and the feed it opens."""

    token: str
    feed: CalendarFeed


@attrs.define(kw_only=True)
class RotateCalendarFeedToken:
    """Make (or replace) the token of a professional's ICS feed. The token is random (256
    bits), kept only as its SHA-256, and the previous one stops working at once. Audit
    record ``calendar.feed_token``."""

    uow_factory: UnitOfWorkFactory
    secrets: SecretGenerator
    clock: Clock

    async def __call__(self, command: FeedTokenRequest) -> FeedToken:
        """Return the new token.

        Raises:
            NotFound: no such professional in the clinic.
        """
        actor = actor_of(command.actor)
        token = self.secrets.new_secret()

        async def work(uow: UnitOfWork) -> FeedToken:
            now = self.clock.now()
            professional = await uow.professionals.get(command.clinic_id, command.professional_id)
            previous = await uow.calendar_feeds.find(professional.clinic_id, professional.id)
            feed = CalendarFeed(
                clinic_id=professional.clinic_id,
                professional_id=professional.id,
                token_hash=token_hash(token),
                created_at=now,
            )
            await uow.calendar_feeds.save(feed)
            await uow.audit.append(
                AuditEntry.of(
                    actor,
                    clinic_id=professional.clinic_id,
                    at=now,
                    action=AuditAction.CALENDAR_FEED_TOKEN,
                    resource_type="professional",
                    resource_id=professional.id,
                    details={"replaced": "true" if previous is not None else "false"},
                )
            )
            await uow.commit()
            return FeedToken(token, feed)

        return await transact(self.uow_factory, work)
