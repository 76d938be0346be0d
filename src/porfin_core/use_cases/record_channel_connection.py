"""Record what a provider reports about a channel's link to WhatsApp (state, QR codes)."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.channel import ChannelConnection, Provider
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact

MAX_QR_LENGTH = 4096
"""Longest QR code content kept (Baileys' codes are a few hundred characters)."""


@attrs.frozen(kw_only=True)
class ConnectionReport:
    """A provider's word on a channel's connection: a new state, or a new QR code.

    Attributes:
        channel_id: The channel (from the webhook URL).
        at: The provider's timestamp, else when Porfin received the report.
        state: ``open``, ``connecting``, ``close``, ``refused``; None for a QR code report.
        reason: Why the state changed (Evolution's ``statusReason``, e.g. ``401``).
        qr_code: The QR code's content to pair the number, for a QR code report.
        pairing_code: The pairing code that came with the QR code.
        provider: The provider whose webhook reported it; a channel of another provider is
            treated as unknown.
    """

    channel_id: str
    at: datetime
    state: str | None = None
    reason: str | None = None
    qr_code: str | None = None
    pairing_code: str | None = None
    provider: Provider | None = None


@attrs.define(kw_only=True)
class RecordChannelConnection:
    """Keep the latest connection report on the channel.

    Reports older than the one recorded are ignored, so webhooks may arrive in any order;
    reports for a removed channel are ignored too (its number is gone).
    """

    uow_factory: UnitOfWorkFactory

    async def __call__(self, report: ConnectionReport) -> ChannelConnection | None:
        """Record ``report``; returns the channel's connection afterwards (None if it has
        none, e.g. a removed channel).

        Raises:
            NotFound: unknown channel (or a channel of another provider).
            ValidationError: neither a state nor a QR code, or an over-long QR code.
        """
        if (report.state is None) == (report.qr_code is None):
            raise ValidationError("report either a state or a QR code", field="state")
        if report.qr_code is not None and len(report.qr_code) > MAX_QR_LENGTH:
            raise ValidationError("the QR code is too long", field="qr_code")

        async def work(uow: UnitOfWork) -> ChannelConnection | None:
            channel = await uow.channels.get(report.channel_id)
            if report.provider is not None and channel.provider is not report.provider:
                raise NotFound("channel not found", id=channel.id)
            if channel.archived:
                return channel.connection
            if report.state is not None:
                changed = channel.record_connection(report.state, report.reason, report.at)
            else:
                assert report.qr_code is not None
                changed = channel.record_qr_code(report.qr_code, report.pairing_code, report.at)
            if changed:
                await uow.channels.save(channel)
                await uow.commit()
            return channel.connection

        return await transact(self.uow_factory, work)
