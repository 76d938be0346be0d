"""Record what came of sending outbound messages."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from porfin_core.domain.message import DeliveryStatus, Message, StatusChange
from porfin_core.domain.outbound import SendOutcome
from porfin_core.errors import NotFound
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class RecordSendOutcomes:
    """Apply send outcomes to their messages and deliveries, all in one transaction.

    - accepted: the message gets its provider id and ``sent`` (plus any status that arrived
      before the id was known); the delivery is done.
    - a retryable failure with attempts left: the delivery is due again after a backoff; the
      message stays ``pending``.
    - any other failure: the message is ``failed`` with the provider's code and reason (shown
      to staff); the delivery is done.

    A message that already has a provider id (a status webhook reconciled it) keeps it: a late
    failure of a duplicate attempt does not undo a delivery. A provider id already held by
    another message (a bridge's echo of this send, stored on its own) stays there; this
    message is marked ``sent`` and notes the echo (``extra["echo_message_id"]``).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, outcomes: Sequence[SendOutcome]) -> list[Message]:
        """Record ``outcomes`` (of distinct messages); returns the messages as stored.

        Raises:
            StorageUnavailable: the store failed.
        """
        if not outcomes:
            return []

        async def work(uow: UnitOfWork) -> list[Message]:
            now = self.clock.now()
            stored = []
            named: set[str] = set()  # provider ids given in this batch
            for outcome in outcomes:
                try:
                    message = await uow.messages.get(outcome.clinic_id, outcome.message_id)
                except NotFound:
                    continue
                stored.append(message)
                delivery = await uow.deliveries.get(outcome.clinic_id, outcome.message_id)
                changed = False
                if message.provider_message_id is not None:
                    pass  # reconciled already; any other attempt's outcome changes nothing
                elif outcome.provider_message_id is not None:
                    echo = await uow.messages.find_by_provider_id(
                        message.clinic_id, message.channel_id, outcome.provider_message_id
                    )
                    key = f"{message.channel_id}|{outcome.provider_message_id}"
                    if echo is None and key in named:
                        # A provider that named two messages alike: the first keeps the id.
                        message.extra["duplicate_provider_id"] = outcome.provider_message_id
                        message.apply_status(StatusChange(DeliveryStatus.SENT, now))
                        changed = True
                    elif echo is not None:
                        # The bridge's echo of this send was stored as a message of its own
                        # (it did not match): the send went out; the id stays with the echo.
                        message.extra["echo_message_id"] = echo.id
                        message.apply_status(StatusChange(DeliveryStatus.SENT, now))
                        changed = True
                    else:
                        named.add(key)
                        message.accepted(outcome.provider_message_id, now)
                        for pending in await uow.pending_statuses.take(
                            message.clinic_id, message.channel_id, outcome.provider_message_id
                        ):
                            message.apply_status(pending.change)
                        changed = True
                elif outcome.error is not None:
                    error = outcome.error
                    if delivery is not None and error.retryable and not delivery.exhausted:
                        delivery.retry_later(now, error)
                        await uow.deliveries.save(delivery)
                        continue
                    changed = message.apply_status(
                        StatusChange(
                            DeliveryStatus.FAILED,
                            now,
                            error_code=str(error.fields.get("provider_code", error.code)),
                            error_detail=error.message,
                        )
                    )
                if changed:
                    await uow.messages.save(message)
                    uow.record(message.pull_events())
                if delivery is not None:
                    await uow.deliveries.remove(delivery)
            await uow.commit()
            return stored

        return await transact(self.uow_factory, work)
