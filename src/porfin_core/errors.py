"""Porfin's error hierarchy.

Every error carries a stable ``code`` (snake_case, part of the public contract of the API and
the CLI) and structured ``fields``. No HTTP status lives here: each shell maps codes to its own
form in one table.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PorfinError(Exception):
    """Base of every error Porfin raises on purpose.

    Attributes:
        code: Stable machine-readable code.
        message: Human-readable explanation (English; shells may translate by code).
        fields: Structured details, safe to show to the caller.
    """

    code: ClassVar[str] = "porfin_error"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields


class ValidationError(PorfinError):
    """Input breaks a rule of the domain (bad phone, empty text, unknown enum value...)."""

    code = "validation_error"


class InvalidPhoneNumber(ValidationError):
    """A string could not be read as a phone number."""

    code = "invalid_phone"


class NotFound(PorfinError):
    """The resource does not exist in the caller's clinic."""

    code = "not_found"


class Conflict(PorfinError):
    """The change conflicts with the current state (e.g. a uniqueness rule)."""

    code = "conflict"


class SlotTaken(Conflict):
    """The time asked for an appointment is not free: another booking took it (perhaps a
    moment ago, concurrently), or it is outside the professional's availability.

    Attributes:
        alternatives: The first free slots near the asked time (at most three, by start;
            :class:`porfin_core.domain.scheduling.Slot` values), also in ``fields``.
    """

    code = "slot_taken"

    def __init__(self, message: str, *, alternatives: tuple[Any, ...] = (), **fields: Any) -> None:
        super().__init__(message, alternatives=list(alternatives), **fields)
        self.alternatives = alternatives


class InvalidStateTransition(PorfinError):
    """The entity is not in a state that allows the requested change."""

    code = "invalid_state"


class WindowClosed(PorfinError):
    """Free text was sent outside WhatsApp's 24-hour customer-service window."""

    code = "window_closed"


class PayloadTooLarge(ValidationError):
    """An upload is larger than WhatsApp (or the installation) accepts for its kind."""

    code = "payload_too_large"


class UnsupportedMediaType(ValidationError):
    """An upload's type is not one WhatsApp can deliver."""

    code = "unsupported_media_type"


class GatewayError(PorfinError):
    """A messaging gateway refused or failed to deliver a message.

    Attributes:
        retryable: True when the same call may succeed later (rate limits, 5xx, timeouts).
    """

    code = "gateway_error"

    def __init__(self, message: str, *, retryable: bool, **fields: Any) -> None:
        super().__init__(message, retryable=retryable, **fields)
        self.retryable = retryable


class CalendarError(PorfinError):
    """An external calendar (Google Calendar) refused or failed a call.

    Fields: ``provider``, ``provider_code`` (the provider's reason, e.g.
    ``rateLimitExceeded``, or ``http_<status>``), ``reason`` (a short explanation),
    ``http_status``, ``operation``.

    Attributes:
        retryable: True when the same call may succeed later (rate limits, 5xx, timeouts).
    """

    code = "calendar_error"

    def __init__(self, message: str, *, retryable: bool, **fields: Any) -> None:
        super().__init__(message, retryable=retryable, **fields)
        self.retryable = retryable


class CalendarResyncRequired(CalendarError):
    """The calendar no longer accepts the connection's sync token (HTTP 410): forget what
    was synced and pull again without a token (a full sync)."""

    code = "calendar_resync_required"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, retryable=False, **fields)


class CalendarAccessRevoked(CalendarError):
    """Porfin's access to the calendar was withdrawn or expired (OAuth ``invalid_grant``):
    the professional must connect the calendar again."""

    code = "calendar_access_revoked"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, retryable=False, **fields)


class CalendarEventChanged(CalendarError):
    """The event changed in the calendar since the version Porfin expected (a failed
    ``If-Match``): pull, decide by the conflict rule, then write again."""

    code = "calendar_event_changed"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, retryable=False, **fields)


class CalendarNotConfigured(CalendarError):
    """The installation has no calendar provider configured (no Google OAuth client):
    calendars cannot be connected or synced until an operator sets it up."""

    code = "calendar_not_configured"

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message, retryable=False, **fields)


class StorageUnavailable(PorfinError):
    """The storage backend cannot be reached or refused the operation."""

    code = "storage_unavailable"


class IdentityProviderUnavailable(PorfinError):
    """An identity provider (Firebase) cannot be reached, so its tokens cannot be checked."""

    code = "identity_provider_unavailable"


class TransactionConflict(PorfinError):
    """A concurrent transaction changed the same records; retrying the operation is safe."""

    code = "transaction_conflict"


class InvalidCredentials(PorfinError):
    """Wrong e-mail or password, or an invalid, expired or revoked token."""

    code = "invalid_credentials"


class MfaRequired(PorfinError):
    """The password was right, but the account also needs a code from the authenticator app
    (or a recovery code): send it as ``otp``."""

    code = "mfa_required"


class AccountLocked(PorfinError):
    """Too many failed logins: the account is locked for a while (``retry_after`` seconds)."""

    code = "account_locked"


class RateLimited(PorfinError):
    """Too many requests from one caller (a user, a client address): the caller may retry after
    ``retry_after`` seconds."""

    code = "rate_limited"


class Forbidden(PorfinError):
    """The caller's role does not allow the operation."""

    code = "forbidden"


class JobFailed(PorfinError):
    """A job's handler found that running the job again cannot succeed (a payload naming
    nothing that exists, a refusal that will not change): the job fails at once instead of
    being retried. Any other exception from a handler is retried (an exception with a
    ``retryable`` attribute set to False, like a final ``GatewayError``, fails at once too)."""

    code = "job_failed"
    retryable = False


class ModelUnavailable(PorfinError):
    """A language model (or transcription) could not answer: retries and the fallback model
    failed, the budget is spent, or it is not configured. The AI hands the chat to a person.

    Attributes:
        reason: ``rate_limited``, ``server_error``, ``timeout``, ``unreachable``,
            ``bad_request``, ``unauthorized``, ``budget_exhausted`` or ``not_configured``.
    """

    code = "model_unavailable"

    def __init__(self, message: str, *, reason: str, **fields: Any) -> None:
        super().__init__(message, reason=reason, **fields)
        self.reason = reason
