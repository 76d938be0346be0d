"""Record a delivery status reported by a provider."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.channel import Provider
from porfin_core.domain.message import DeliveryStatus, Direction, Message, StatusChange
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import PendingStatus, UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

_REPORTABLE = frozenset(
    {
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.READ,
        DeliveryStatus.PLAYED,
        DeliveryStatus.FAILED,
    }
)


@attrs.frozen(kw_only=True)
class DeliveryReport:
    """A provider's word on an outbound message.

    Attributes:
        channel_id: The channel the message left from.
        provider_message_id: The provider's id of the message.
        status: ``sent``, ``delivered``, ``read``, ``played`` or ``failed``.
        at: The provider's timestamp.
        error_code: Provider error code, for ``failed``.
        error_detail: Provider error text, for ``failed``.
        provider: The provider whose webhook reported it; a channel of another provider is
            treated as unknown.
        message_id: Porfin's id of the message, when the provider echoes it (Cloud API
            ``biz_opaque_callback_data``): it reconciles a send whose answer was lost.
    """

    channel_id: str
    provider_message_id: str
    status: str
    at: datetime
    error_code: str | None = None
    error_detail: str | None = None
    provider: Provider | None = None
    message_id: str | None = None


@attrs.frozen
class StatusOutcome:
    """``applied``: the status moved forward. ``pending``: the message is not known yet and
    the status waits for it. Neither: a stale status, ignored."""

    applied: bool
    pending: bool
    message_id: str | None = None


@attrs.define(kw_only=True)
class RecordDeliveryStatus:
    """Apply a delivery status monotonically.

    A late ``delivered`` never downgrades ``read``; ``read`` may come without ``delivered``;
    ``failed`` keeps its error code. A status for a message Porfin does not know yet is kept
    and applied when the message's provider id is recorded; it is not an error.

    A status that names Porfin's message id (``message_id``) for an outbound message whose
    send answer never arrived gives that message its provider id: the message left, and its
    delivery is dropped from the sending outbox instead of being sent again.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, report: DeliveryReport) -> StatusOutcome:
        """Record ``report``.

        Raises:
            NotFound: unknown channel (or a channel of another provider).
            ValidationError: unknown status or empty provider id.
        """
        try:
            status = DeliveryStatus(report.status)
        except ValueError:
            status = None
        if status not in _REPORTABLE:
            raise ValidationError(f"unknown delivery status: {report.status!r}", field="status")
        if not report.provider_message_id.strip():
            raise ValidationError("provider message id is empty", field="provider_message_id")
        change = StatusChange(status, report.at, report.error_code, report.error_detail)

        async def work(uow: UnitOfWork) -> StatusOutcome:
            channel = await uow.channels.get(report.channel_id)
            if report.provider is not None and channel.provider is not report.provider:
                raise NotFound("channel not found", id=channel.id)
            message = await uow.messages.find_by_provider_id(
                channel.clinic_id, channel.id, report.provider_message_id
            )
            reconciled = False
            if message is None and report.message_id is not None:
                message = await _reconcile(uow, channel.clinic_id, channel.id, report)
                reconciled = message is not None
            if message is None:
                await uow.pending_statuses.add(
                    PendingStatus(
                        clinic_id=channel.clinic_id,
                        channel_id=channel.id,
                        provider_message_id=report.provider_message_id,
                        change=change,
                        received_at=self.clock.now(),
                    )
                )
                await uow.commit()
                return StatusOutcome(applied=False, pending=True)
            if not message.apply_status(change) and not reconciled:
                return StatusOutcome(applied=False, pending=False, message_id=message.id)
            await uow.messages.save(message)
            uow.record(message.pull_events())
            await uow.commit()
            return StatusOutcome(applied=True, pending=False, message_id=message.id)

        return await transact(self.uow_factory, work)


async def _reconcile(
    uow: UnitOfWork, clinic_id: str, channel_id: str, report: DeliveryReport
) -> Message | None:
    """The outbound message ``report.message_id`` names, given the reported provider id.

    Only a message of this channel still waiting for its provider id qualifies; anything else
    (another channel's id, a message already named) is not trusted.
    """
    assert report.message_id is not None
    try:
        message = await uow.messages.get(clinic_id, report.message_id)
    except NotFound:
        return None
    if (
        message.direction is not Direction.OUTBOUND
        or message.channel_id != channel_id
        or message.provider_message_id is not None
    ):
        return None
    message.accepted(report.provider_message_id, report.at)
    for pending in await uow.pending_statuses.take(
        clinic_id, channel_id, report.provider_message_id
    ):
        message.apply_status(pending.change)
    delivery = await uow.deliveries.get(clinic_id, message.id)
    if delivery is not None:
        await uow.deliveries.remove(delivery)
    return message
