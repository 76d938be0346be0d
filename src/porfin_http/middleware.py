"""Operations middleware: request ids, security headers, request metrics and the access log.

It wraps the whole application (:func:`install`), outside Litestar's router, CORS and
exception handling, so that every answer gets its headers and is measured: unknown paths,
wrong methods and CORS preflights included. Litestar's own ``middleware=`` runs only after a
route matched. Everything costly is computed once, here, not per request.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

import structlog
from structlog.contextvars import bind_contextvars, reset_contextvars

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from porfin_http.metrics import Metrics

access_log = structlog.get_logger("porfin.access")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_REQUEST_ID = re.compile(rb"[A-Za-z0-9._-]{1,128}")

API_CSP = "default-src 'none'; frame-ancestors 'none'"
# Swagger UI and Scalar (under /schema) load their scripts, styles and fonts from CDNs and
# start with an inline script; "Try it out" calls the API itself.
DOCS_CSP = (
    "default-src 'none'; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https:; "
    "font-src 'self' data: https:; img-src 'self' data: https:; "
    "connect-src 'self'; worker-src 'self' blob:; frame-ancestors 'none'"
)
DOCS_PREFIX = "/schema"
# Probes and scrapes would drown the access log.
QUIET_ROUTES = frozenset({"/health", "/ready", "/metrics"})
UNMATCHED = "unmatched"

Headers = list[tuple[bytes, bytes]]


def security_headers(*, docs: bool, hsts_max_age: int) -> Headers:
    """The headers added to every answer (``docs``: the OpenAPI pages under /schema)."""
    headers = [
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"content-security-policy", (DOCS_CSP if docs else API_CSP).encode()),
    ]
    if not docs:
        # Answers carry patient data: no browser or proxy may keep them.
        headers.append((b"cache-control", b"no-store"))
    if hsts_max_age:
        headers.append((b"strict-transport-security", f"max-age={hsts_max_age}".encode()))
    return headers


def _merge(own: Iterable[tuple[bytes, bytes]], added: Headers, names: frozenset[bytes]) -> Headers:
    """``own`` plus ``added``; a header the handler set itself is kept instead of ours."""
    own = list(own)
    present = {name.lower() for name, _ in own} & names
    if not present:
        own.extend(added)
        return own
    own.extend(header for header in added if header[0] not in present)
    return own


class OperationsMiddleware:
    """Pure ASGI middleware: request id, security headers, metrics, access log."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics | None,
        hsts_max_age: int = 0,
        log_requests: bool = False,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        self._api_headers = security_headers(docs=False, hsts_max_age=hsts_max_age)
        self._docs_headers = security_headers(docs=True, hsts_max_age=hsts_max_age)
        self._names = frozenset(
            name for name, _ in [*self._api_headers, *self._docs_headers, (REQUEST_ID_HEADER, b"")]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope["headers"])
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        tokens = bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status = 500
        added = (
            self._docs_headers if scope["path"].startswith(DOCS_PREFIX) else self._api_headers
        ) + [(REQUEST_ID_HEADER, request_id.encode())]
        names = self._names

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = _merge(message.get("headers", ()), added, names)
                # What the app asked for on whatever answer it gives (the RateLimit-* headers
                # of porfin_http.rate_limits, set by a guard that cannot reach the response).
                if extra := state.get("response_headers"):
                    message["headers"].extend(extra)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or UNMATCHED
            method = scope["method"]
            if self.metrics is not None:
                self.metrics.observe_request(method, route, status, seconds)
            if self.log_requests and route not in QUIET_ROUTES:
                client = scope.get("client")
                access_log.info(
                    "http.request",
                    method=method,
                    route=route,
                    status=status,
                    duration_ms=round(seconds * 1000, 2),
                    client_ip=client[0] if client else None,
                )
            reset_contextvars(**tokens)


def _request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's ``X-Request-ID`` when well formed, else a new random one."""
    for name, value in headers:
        if name == REQUEST_ID_HEADER:
            if _VALID_REQUEST_ID.fullmatch(value):
                return value.decode("ascii")
            break
    return os.urandom(16).hex()


def install(
    app: Litestar, *, metrics: Metrics | None, hsts_max_age: int, log_requests: bool
) -> Litestar:
    """Wrap ``app``'s whole request handling (router, CORS, errors) in the middleware."""
    app.asgi_handler = OperationsMiddleware(
        app.asgi_handler, metrics=metrics, hsts_max_age=hsts_max_age, log_requests=log_requests
    )
    return app
