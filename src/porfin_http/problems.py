"""RFC 9457 problem details for every error, from one table of error codes.

Every error response is ``application/problem+json`` with a stable ``type``
(``urn:porfin:problem:<code>``), a ``title``, the HTTP ``status``, a ``detail`` and, for
invalid input, ``errors`` with the path of each offending field. A 500 never reveals
internals.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs
import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec

from porfin_core.errors import PorfinError

log = structlog.get_logger(__name__)

MEDIA_TYPE = "application/problem+json"

# code -> (HTTP status, title). The one place where domain errors meet HTTP.
STATUS_BY_CODE: dict[str, tuple[int, str]] = {
    "validation_error": (422, "Invalid request"),
    "invalid_phone": (422, "Invalid phone number"),
    "not_found": (404, "Not found"),
    "conflict": (409, "Conflict"),
    "slot_taken": (409, "Appointment time not free"),
    "invalid_state": (409, "Not allowed in the current state"),
    "window_closed": (409, "WhatsApp service window closed"),
    "payload_too_large": (413, "Request body too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "gateway_error": (502, "Provider error"),
    "calendar_error": (502, "Calendar provider error"),
    "calendar_resync_required": (502, "Calendar provider error"),
    "calendar_event_changed": (409, "Calendar event changed meanwhile"),
    "calendar_access_revoked": (409, "Calendar access withdrawn: connect it again"),
    "calendar_not_configured": (409, "Calendar integration not configured"),
    "storage_unavailable": (503, "Storage unavailable"),
    "identity_provider_unavailable": (503, "Identity provider unavailable"),
    "transaction_conflict": (503, "Too much contention, retry"),
    "invalid_credentials": (401, "Invalid credentials"),
    "account_locked": (423, "Account locked"),
    "rate_limited": (429, "Too many requests"),
    "mfa_required": (401, "Two-step verification code required"),
    "forbidden": (403, "Forbidden"),
}

_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Request body too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("too_many_requests", "Too many requests"),
}


@attrs.define
class FieldError:
    """One invalid field: where it is and what is wrong with it."""

    field: str
    message: str


@attrs.define
class Problem:
    """RFC 9457 problem details (as documented in OpenAPI)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    code: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None


@attrs.define
class SlotAlternative:
    """A free time offered instead of the one asked (``slot_taken``)."""

    professional_id: str
    start: datetime
    end: datetime


@attrs.define
class SlotTakenProblem(Problem):
    """``slot_taken`` (409): the asked time is not free; ``alternatives`` are the three free
    slots nearest to it. Other 409 answers of the same operation (``invalid_state``) carry
    the members of every problem only."""

    alternatives: list[SlotAlternative] | None = None
    professional_id: str | None = None
    start: str | None = None


def slot_taken_problems(*statuses: int) -> dict[int, ResponseSpec]:
    """:func:`problems`, with ``409`` documented as :class:`SlotTakenProblem`."""
    specs = problems(*statuses)
    specs[409] = ResponseSpec(
        data_container=SlotTakenProblem,
        media_type=MEDIA_TYPE,
        description="Problem details (RFC 9457); `slot_taken` carries `alternatives`",
        generate_examples=False,
    )
    return specs


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI response entries for the problem responses an operation may return."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=MEDIA_TYPE,
            description="Problem details (RFC 9457)",
            generate_examples=False,
        )
        for status in statuses
    }


def problem_response(
    request: Request[Any, Any, Any],
    status: int,
    code: str,
    title: str,
    detail: str | None,
    errors: list[dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[bytes]:
    """Build a problem-details response."""
    body: dict[str, Any] = {
        "type": f"urn:porfin:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        "code": code,
    }
    # The X-Request-ID of the answer (porfin_http.middleware), to quote in a support request.
    if request_id := request.scope.get("state", {}).get("request_id"):
        body["request_id"] = request_id
    if errors:
        body["errors"] = errors
    if extra:
        body.update({k: v for k, v in extra.items() if k not in body})
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def _jsonable(value: Any) -> Any:
    return msgspec.to_builtins(value, str_keys=True, enc_hook=str)


def porfin_error_handler(request: Request[Any, Any, Any], exc: PorfinError) -> Response[bytes]:
    """Domain errors, by code."""
    status, title = STATUS_BY_CODE.get(exc.code, (400, "Request refused"))
    if status >= 500:
        # The cause (a vendor's message, hosts, ports) goes to the log, not to the caller.
        log.warning("http.dependency_error", code=exc.code, error=exc.message)
        detail = {
            "gateway_error": "The provider (WhatsApp or payment gateway) failed; try again later.",
            "calendar_error": "Google Calendar failed or refused the request; try again later.",
            "calendar_resync_required": "Google Calendar failed; try again later.",
            "storage_unavailable": "Storage is unavailable; try again later.",
            "identity_provider_unavailable": "The identity provider cannot be reached; "
            "try again later.",
            "transaction_conflict": "Too many concurrent changes; try again.",
        }.get(exc.code, "The server could not complete the request.")
        headers = {"Retry-After": "1"} if status == 503 else None
        return problem_response(request, status, exc.code, title, detail, headers=headers)
    fields = {k: _jsonable(v) for k, v in exc.fields.items()}
    headers = None
    if "retry_after" in fields:
        headers = {"Retry-After": str(fields["retry_after"])}
    elif status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="porfin"'}
    errors = None
    if "field" in fields:
        errors = [{"field": str(fields.pop("field")), "message": exc.message}]
    return problem_response(
        request, status, exc.code, title, exc.message, errors, fields, headers=headers
    )


def http_error_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    """Litestar's own errors (routing, validation, size limits)."""
    status = exc.status_code
    if isinstance(exc, ValidationException):
        errors = []
        for item in exc.extra if isinstance(exc.extra, list) else []:
            if isinstance(item, dict):
                source = getattr(item.get("source"), "value", item.get("source"))
                key = item.get("key")
                if source == "body" and key == "data":  # the whole body, as Litestar names it
                    key = None
                where = ".".join(str(p) for p in (source, key) if p)
                errors.append({"field": where or "body", "message": str(item.get("message"))})
        return problem_response(
            request, 400, "bad_request", "Invalid request", str(exc.detail), errors or None
        )
    code, title = _HTTP_CODES.get(status, ("http_error", "HTTP error"))
    if status >= 500:
        return internal_error_handler(request, exc)
    return problem_response(
        request, status, code, title, str(exc.detail), headers=dict(exc.headers or {})
    )


def internal_error_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """Anything unexpected: logged in full, answered without internals."""
    log.exception("http.unhandled_error", path=request.url.path, error=type(exc).__name__)
    return problem_response(
        request,
        500,
        "internal_error",
        "Internal server error",
        "The server could not complete the request; it has been logged.",
    )


EXCEPTION_HANDLERS: dict[Any, Any] = {
    PorfinError: porfin_error_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
