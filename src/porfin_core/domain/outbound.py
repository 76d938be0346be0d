"""The sending outbox: outbound messages on their way to the provider.

Every outbound message is committed together with a :class:`Delivery` before any network
call. A sender takes (claims) due deliveries, hands each message to its channel's gateway and
records the outcome: the provider's id (done), a retryable failure (due again after a backoff),
or a final failure (the message is ``failed`` with the provider's reason).

Claiming moves the delivery's due time one :data:`LEASE` ahead and counts the attempt, in a
committed transaction, before the call. If the process dies during the call, the delivery
becomes due again when the lease runs out. The lease is also the reconciliation window: the
message's Porfin id travels with the request (Cloud API ``biz_opaque_callback_data``) and
comes back in the provider's status webhooks, so a message the provider did accept gets its
provider id from the first status webhook, and the next claim finds it already sent and drops
the delivery instead of sending it again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from porfin_core.errors import GatewayError

LEASE = timedelta(minutes=2)
"""How long a claimed attempt is left alone before it is taken for lost."""

MAX_ATTEMPTS = 8
"""Calls in all for one message (the first one included) before it is marked failed."""

FIRST_RETRY = timedelta(seconds=2)
LONGEST_RETRY = timedelta(minutes=10)


@attrs.define(kw_only=True)
class Delivery:
    """An outbound message waiting to leave, or between two attempts.

    Attributes:
        message_id: The message (Porfin's id; also the delivery's id).
        clinic_id: The message's clinic.
        channel_id: The channel it leaves from.
        recipient: The address for the provider (E.164 phone, BSUID, JID).
        due_at: When the next attempt may start (for a claimed delivery: when its lease ends).
        attempts: Calls started so far.
        last_error: The last retryable failure, for staff and logs.
        created_at: When the message was committed.
    """

    message_id: str
    clinic_id: str
    channel_id: str
    recipient: str
    due_at: datetime
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime

    def claim(self, now: datetime, lease: timedelta = LEASE) -> None:
        """Start an attempt: nobody else takes the delivery until ``now + lease``."""
        self.attempts += 1
        self.due_at = now + lease

    @property
    def exhausted(self) -> bool:
        """Whether no attempt is left after the current one."""
        return self.attempts >= MAX_ATTEMPTS

    def retry_later(self, now: datetime, error: GatewayError) -> None:
        """Schedule the next attempt after ``error`` (a retryable one).

        An error whose request may have reached the provider (``delivery_unknown``: the
        answer was lost) waits for the reconciliation window, so that a status webhook can
        tell that the message left before it is sent again.
        """
        if error.fields.get("delivery_unknown"):
            delay = LEASE
        else:
            delay = retry_delay(self.attempts, error.fields.get("backoff_base"))
        self.due_at = now + delay
        self.last_error = error.message


def retry_delay(attempt: int, backoff_base: object = None) -> timedelta:
    """The wait after failed attempt number ``attempt`` (1-based).

    Exponential from :data:`FIRST_RETRY`, doubling, capped at :data:`LONGEST_RETRY`; Meta's
    pair rate limit (131056) asks for ``backoff_base ** attempt`` seconds instead.
    """
    exponent = max(0, attempt - 1)
    if (
        isinstance(backoff_base, int | float)
        and not isinstance(backoff_base, bool)
        and backoff_base > 1
    ):
        seconds = float(backoff_base) ** min(exponent + 1, 12)
        return min(LONGEST_RETRY, timedelta(seconds=seconds))
    delay: timedelta = FIRST_RETRY * 2 ** min(exponent, 20)
    return min(LONGEST_RETRY, delay)


@attrs.frozen(kw_only=True)
class SendOutcome:
    """What came of one attempt to send a message.

    Exactly one of ``provider_message_id`` (accepted) and ``error`` (refused or failed) is
    set.

    Attributes:
        clinic_id: The message's clinic.
        message_id: The message.
        provider_message_id: The provider's id for the accepted message.
        error: Why the provider did not take it.
    """

    clinic_id: str
    message_id: str
    provider_message_id: str | None = None
    error: GatewayError | None = None
