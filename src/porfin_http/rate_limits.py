"""Abuse limits on the API: a token bucket per caller, and one per client address on /auth.

- Every authenticated ``/api/v1`` request takes a token from its caller's bucket
  (``user:<clinic id>:<user id>``; the admin token is the user ``admin``), in the API's guard
  (:func:`porfin_http.auth.api_guard`) right after authentication: refused, forbidden and
  successful requests all count.
- Every request to the public session endpoints (``/api/v1/auth/*``: login, token, refresh,
  logout, invitations, password reset, Firebase...) takes one from its client address's bucket
  (:meth:`RateLimits.per_client_guard`, a guard on the router that holds them), before the
  body is read.

Answers carry ``RateLimit-Limit``, ``RateLimit-Remaining``, ``RateLimit-Reset`` and
``RateLimit-Policy`` (draft-ietf-httpapi-ratelimit-headers-06); a request without a token
left is refused with ``429 rate_limited`` and ``Retry-After``. docs/security.md#abuse-limits.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from typing import Any

import structlog
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.datastructures import ResponseHeader
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from porfin_adapters.settings import Settings
from porfin_core.errors import RateLimited, StorageUnavailable
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.rate_limits import Decision, Rate, RateLimiter
from porfin_http.problems import MEDIA_TYPE, Problem

log = structlog.get_logger(__name__)

RESPONSE_HEADERS = "response_headers"
"""Scope-state entry: headers for the answer, whatever it turns out to be (the operations
middleware adds them); a guard cannot reach the response otherwise."""

WINDOW_SECONDS = 60
# While the shared store is down, requests are let through (see docs/security.md); say so in
# the log at most this often rather than once per request.
_UNAVAILABLE_LOG_SECONDS = 10.0

RATE_LIMIT_HEADERS = [
    ResponseHeader(
        name="RateLimit-Limit",
        documentation_only=True,
        value="150",
        description="Requests a full bucket allows at once: the steady rate plus the burst.",
    ),
    ResponseHeader(
        name="RateLimit-Remaining",
        documentation_only=True,
        value="149",
        description="Requests left in the bucket after this one.",
    ),
    ResponseHeader(
        name="RateLimit-Reset",
        documentation_only=True,
        value="1",
        description="Seconds until the bucket is full again.",
    ),
    ResponseHeader(
        name="RateLimit-Policy",
        documentation_only=True,
        value="100;w=60;burst=50",
        description="The limit: `<requests>;w=<seconds>[;burst=<extra requests>]`.",
    ),
]
"""OpenAPI documentation of the headers on rate-limited operations' answers."""

TOO_MANY_REQUESTS = ResponseSpec(
    data_container=Problem,
    media_type=MEDIA_TYPE,
    description="Problem details (RFC 9457), `rate_limited`: too many requests. `Retry-After` "
    "gives the seconds to wait; the `RateLimit-*` headers describe the limit.",
    generate_examples=False,
)


def client_key(host: str | None) -> str:
    """The bucket key of a client address: ``ip:<IPv4>`` or ``ip:<IPv6 /64 network>``.

    One IPv6 subscriber usually holds a whole /64, so its addresses share one bucket.
    """
    if not host:
        return "ip:unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"ip:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"ip:{address}"


class RateLimits:
    """The API's two limits, taken from one :class:`RateLimiter` on the app's clock.

    Attributes:
        per_user: Every authenticated ``/api/v1`` request: ``rate_limit_per_minute`` plus
            ``rate_limit_burst``.
        per_client: Every ``/api/v1/auth`` request from one address:
            ``auth_rate_limit_per_minute``, no burst.
        per_client_guard: The guard that applies ``per_client``.
    """

    def __init__(self, limiter: RateLimiter, clock: Clock, settings: Settings) -> None:
        self.limiter = limiter
        self.clock = clock
        self.per_user = Rate(
            settings.rate_limit_per_minute, WINDOW_SECONDS, settings.rate_limit_burst
        )
        self.per_client = Rate(settings.auth_rate_limit_per_minute, WINDOW_SECONDS)
        self._user_policy = self.per_user.policy.encode()
        self._client_policy = self.per_client.policy.encode()
        self._logged_unavailable_at = -_UNAVAILABLE_LOG_SECONDS
        self.per_client_guard = self._client_guard()

    async def take_for_user(self, state: dict[str, Any], principal: Principal) -> None:
        """Take a token for ``principal``'s request (``state``: the request's scope state).

        Raises:
            RateLimited: their bucket is empty.
        """
        key = f"user:{principal.clinic_id}:{principal.user_id}"
        await self._take(state, key, self.per_user, self._user_policy)

    def _client_guard(self) -> Any:
        # A closure, made once: Litestar deep-copies routers, and deepcopy keeps functions as
        # they are but would copy a bound method's instance (the limiter with it).
        async def guard(
            connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
        ) -> None:
            if connection.scope.get("method") == "OPTIONS":
                return
            client = connection.client
            key = client_key(client.host if client is not None else None)
            await self._take(connection.scope["state"], key, self.per_client, self._client_policy)

        return guard

    async def _take(self, state: dict[str, Any], key: str, rate: Rate, policy: bytes) -> None:
        try:
            decision = await self.limiter.take(key, rate, self.clock.now())
        except StorageUnavailable as exc:
            self._unavailable(exc)
            return
        state[RESPONSE_HEADERS] = _headers(decision, policy)
        if not decision.allowed:
            wait = decision.retry_after_seconds
            raise RateLimited(f"too many requests; retry in {wait} s", retry_after=wait)

    def _unavailable(self, exc: StorageUnavailable) -> None:
        now = time.monotonic()
        if now - self._logged_unavailable_at >= _UNAVAILABLE_LOG_SECONDS:
            self._logged_unavailable_at = now
            log.warning("rate_limit.unavailable", error=exc.message)


def _headers(decision: Decision, policy: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", b"%d" % decision.limit),
        (b"ratelimit-remaining", b"%d" % decision.remaining),
        (b"ratelimit-reset", b"%d" % decision.reset_seconds),
        (b"ratelimit-policy", policy),
    ]


def document_rate_limits(app: Litestar, guards: Iterable[Any]) -> None:
    """List the 429 problem among the responses of every operation one of ``guards`` limits.

    Controllers then need not repeat it: whichever router or controller carries a limiting
    guard, its operations document the 429.
    """
    limiting = set(guards)
    for route in app.routes:
        for handler in getattr(route, "route_handlers", ()):
            layers = handler.ownership_layers
            if any(guard in limiting for layer in layers for guard in layer.guards or ()):
                handler.responses = {**(handler.responses or {}), 429: TOO_MANY_REQUESTS}
