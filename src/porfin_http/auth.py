"""API authentication and authorization.

Every ``/api/v1`` request carries ``Authorization: Bearer <token>``: a staff member's access
token (JWT from ``/api/v1/auth/login``) or the installation's admin token (for automation and
the first setup; it acts as an admin of the installation's clinic). Each operation declares the
:class:`~porfin_core.permissions.Permission` it needs in its ``opt``; the guard checks it
against the caller's role with the core's permission table.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import StaffUser
from porfin_core.errors import Forbidden, InvalidCredentials, NotFound
from porfin_core.permissions import Permission, allows
from porfin_core.ports.auth import AccessTokens, Principal
from porfin_core.ports.clock import Clock

if TYPE_CHECKING:
    from porfin_http.rate_limits import RateLimits

ACTOR_ADMIN = "admin"
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}, {"OAuth2": []}]
WEBHOOK: list[dict[str, list[str]]] = [{"BearerToken": []}]
PUBLIC: list[dict[str, list[str]]] = [{}]
CHANNEL_SECRET: list[dict[str, list[str]]] = [{"ChannelWebhookSecret": []}]
"""Provider webhooks that carry the channel's own webhook secret (Evolution API)."""
META_SIGNATURE: list[dict[str, list[str]]] = [{"MetaSignature": []}]
"""Cloud API webhooks: signed with the channel's app secret (``X-Hub-Signature-256``)."""
PAYMENT_SIGNATURE: list[dict[str, list[str]]] = [{"PaymentWebhookSignature": []}]
"""Payment gateway webhooks: the clinic's gateway webhook token or signature."""
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="porfin"'}


def needs(permission: Permission) -> dict[str, Any]:
    """Route ``opt`` declaring the permission an operation needs."""
    return {"permission": permission}


def _bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    scheme, _, value = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthorizedException("a valid bearer token is required", headers=_CHALLENGE)
    return value.strip()


def token_guard(token: str) -> Any:
    """A guard accepting only the admin token (the simulator webhook)."""
    expected = token.encode()

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        if not hmac.compare_digest(_bearer(connection).encode(), expected):
            raise NotAuthorizedException("a valid bearer token is required", headers=_CHALLENGE)
        connection.scope["state"]["actor_id"] = ACTOR_ADMIN

    return guard


class AccountCheck:
    """Is the account behind an access token still enabled, and with which role?

    Access tokens live minutes; disabling an account or changing its role must not wait for
    them to expire. Each process remembers an account's state for :attr:`ttl` (read through
    ``lookup``), so the check costs a dictionary lookup on almost every request.
    """

    def __init__(
        self,
        lookup: Callable[[str, str], Awaitable[StaffUser]],
        clock: Clock,
        ttl: timedelta = timedelta(seconds=5),
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._ttl = ttl
        self._known: dict[str, tuple[datetime, Role | None]] = {}

    async def current(self, principal: Principal) -> Principal:
        """The principal with the account's current role.

        Raises:
            NotAuthorizedException: the account is disabled or gone.
        """
        now = self._clock.now()
        known = self._known.get(principal.user_id)
        if known is None or known[0] <= now:
            try:
                user = await self._lookup(principal.clinic_id, principal.user_id)
                role = user.role if user.active else None
            except NotFound:
                role = None
            if len(self._known) > 10_000:
                self._known.clear()
            known = self._known[principal.user_id] = (now + self._ttl, role)
        role = known[1]
        if role is None:
            raise NotAuthorizedException("the account is disabled", headers=_CHALLENGE)
        if role is not principal.role:
            return Principal(principal.user_id, principal.clinic_id, role)
        return principal


def api_guard(
    admin_token: str,
    access_tokens: AccessTokens,
    clock: Clock,
    rate_limits: RateLimits | None = None,
    accounts: AccountCheck | None = None,
) -> Any:
    """Authenticate the caller, take a token from their rate-limit bucket (``rate_limits``),
    then check the operation's permission against their role."""
    expected = admin_token.encode()

    async def guard(
        connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
    ) -> None:
        if connection.scope.get("method") == "OPTIONS":
            return
        token = _bearer(connection)
        if hmac.compare_digest(token.encode(), expected):
            principal = Principal(ACTOR_ADMIN, connection.app.state.clinic_id, Role.ADMIN)
        else:
            try:
                principal = access_tokens.read(token, clock.now())
            except InvalidCredentials as exc:
                raise NotAuthorizedException(exc.message, headers=_CHALLENGE) from exc
            if accounts is not None:
                principal = await accounts.current(principal)
        state = connection.scope["state"]
        state["principal"] = principal
        state["actor_id"] = principal.user_id
        if rate_limits is not None:
            await rate_limits.take_for_user(state, principal)
        permission = handler.opt.get("permission")
        if permission is None or not allows(principal.role, permission):
            raise Forbidden(
                f"the role {principal.role.value!r} may not do this",
                permission=str(permission),
            )

    return guard


def principal_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The authenticated caller of a request that passed :func:`api_guard`."""
    principal: Principal = connection.scope["state"]["principal"]
    return principal
