"""Record what a health check found about a channel's connection, and decide whether it is
degraded and due a reconnect attempt."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.channel import ChannelConnection, HealthRule, ReconnectReason
from porfin_core.errors import ValidationError
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

MAX_ERROR_LENGTH = 500
"""Longest check error kept (the provider's message, made one line)."""


@attrs.frozen(kw_only=True)
class HealthReport:
    """One health check of a channel.

    Attributes:
        channel_id: The channel.
        checked_at: When the provider was asked.
        state: Its live answer (``open``, ``connecting``, ``close``...); None when it did not
            answer.
        error: Why it did not answer (required when ``state`` is None).
        last_activity_at: The last time this process received anything from the bridge for
            the channel (None: nothing since it started).
    """

    channel_id: str
    checked_at: datetime
    state: str | None = None
    error: str | None = None
    last_activity_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChannelHealth:
    """The channel's connection after the check, and what to do about it.

    Attributes:
        connection: The connection as recorded (None: nothing known yet, or the channel is
            off or removed).
        reconnect: Why the channel needs reconnecting (None: it does not).
        reconnect_due: A reconnect attempt should be made now (the backoff has passed).
    """

    connection: ChannelConnection | None
    reconnect: ReconnectReason | None = None
    reconnect_due: bool = False


@attrs.define(kw_only=True)
class RecordChannelHealth:
    """Keep a health check's findings on the channel and apply the :class:`HealthRule`.

    Degraded/recovered transitions are committed as events with the change. A check without a
    live answer records why, and asks for no reconnect. Channels switched off or removed are
    left alone: they are not watched.
    """

    uow_factory: UnitOfWorkFactory
    rule: HealthRule = attrs.field(factory=HealthRule)

    async def __call__(self, report: HealthReport) -> ChannelHealth:
        """Record ``report``; returns the channel's health afterwards.

        Raises:
            NotFound: unknown channel.
            ValidationError: neither a state nor an error.
            TransactionConflict, StorageUnavailable: storage failed.
        """
        if report.state is None and not report.error:
            raise ValidationError("report a state or why there is none", field="state")
        error = " ".join(report.error.split())[:MAX_ERROR_LENGTH] if report.error else None

        async def work(uow: UnitOfWork) -> ChannelHealth:
            channel = await uow.channels.get(report.channel_id)
            if channel.archived or not channel.active:
                return ChannelHealth(connection=channel.connection)
            channel.record_health_check(
                at=report.checked_at,
                rule=self.rule,
                state=report.state,
                error=error,
                activity_at=report.last_activity_at,
            )
            connection = channel.connection
            if connection is None:
                return ChannelHealth(connection=None)
            await uow.channels.save(channel)
            uow.record(channel.pull_events())
            await uow.commit()
            if report.state is None:
                # No live answer: no verdict, and a reconnect call would most likely fail too.
                return ChannelHealth(connection=connection)
            now = report.checked_at
            return ChannelHealth(
                connection=connection,
                reconnect=self.rule.reconnect_reason(connection, now),
                reconnect_due=self.rule.reconnect_due(connection, now),
            )

        return await transact(self.uow_factory, work)
