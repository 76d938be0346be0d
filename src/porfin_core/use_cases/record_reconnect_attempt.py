"""Take a channel's due reconnect attempt, so that one process makes it."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.channel import HealthRule
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ReconnectAttempt:
    """An attempt to reconnect a channel, about to be made.

    Attributes:
        channel_id: The channel.
        at: When it is made.
    """

    channel_id: str
    at: datetime


@attrs.define(kw_only=True)
class RecordReconnectAttempt:
    """Count a reconnect attempt and set the earliest time of the next one.

    Committed before the attempt is made: of several processes watching the same channel, the
    one whose commit wins makes the attempt; the others find the backoff not passed and skip.
    """

    uow_factory: UnitOfWorkFactory
    rule: HealthRule = attrs.field(factory=HealthRule)

    async def __call__(self, attempt: ReconnectAttempt) -> int | None:
        """Record ``attempt``; returns its number (1, 2...), or None when no attempt is due
        (healthy again, backoff not passed, channel switched off or removed).

        Raises:
            NotFound: unknown channel.
            TransactionConflict, StorageUnavailable: storage failed.
        """

        async def work(uow: UnitOfWork) -> int | None:
            channel = await uow.channels.get(attempt.channel_id)
            if channel.archived or not channel.active:
                return None
            number = channel.start_reconnect(attempt.at, self.rule)
            if number is not None:
                await uow.channels.save(channel)
                await uow.commit()
            return number

        return await transact(self.uow_factory, work)
