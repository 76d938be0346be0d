"""What the provider webhooks answer about each event they recorded (every provider alike)."""

from __future__ import annotations

import attrs

from porfin_core.use_cases.receive_inbound_message import Received
from porfin_core.use_cases.record_delivery_status import StatusOutcome


@attrs.frozen
class Outcome:
    """What became of one event: ``stored``, ``duplicate``, ``status``, ``pending_status``,
    ``stale_status``, ``connection``, ``reconciled`` or ``ignored``."""

    outcome: str
    message_id: str | None = None
    detail: str | None = None

    @classmethod
    def of_message(cls, received: Received) -> Outcome:
        """A message recorded now, or one already known (a redelivery)."""
        return cls("duplicate" if received.duplicate else "stored", received.message_id)

    @classmethod
    def of_status(cls, result: StatusOutcome, status: str) -> Outcome:
        """A status applied, kept until its message is known, or older than the one stored."""
        name = "status" if result.applied else "pending_status" if result.pending else None
        return cls(name or "stale_status", result.message_id, status)
