"""Who is calling, for the audit log: the caller's principal, their IP and the request id."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from porfin_core.domain.audit import Actor, ActorKind, Origin

ADMIN_TOKEN_ACTOR = "admin"
"""The user id the installation's admin token acts under (an API token, not a person)."""


def actor_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Actor:
    """The :class:`Actor` of a request that passed the API's guard.

    ``id`` is the authenticated principal (``admin`` for the admin token, whose kind is
    ``api_token``; a staff user otherwise), ``source`` the client's IP address as the server
    sees it (behind a reverse proxy, the proxy's unless the server is told to trust its
    forwarding headers), ``request_id`` the request's ``X-Request-ID``.
    """
    state = connection.scope.get("state", {})
    principal = state.get("principal")
    user_id = str(principal.user_id if principal is not None else state.get("actor_id", "admin"))
    kind = state.get("actor_kind") or (
        ActorKind.API_TOKEN if user_id == ADMIN_TOKEN_ACTOR else ActorKind.USER
    )
    client = connection.client
    request_id = state.get("request_id")
    return Actor(
        id=user_id,
        kind=ActorKind(kind),
        source=client.host if client is not None and client.host else "unknown",
        request_id=str(request_id) if request_id else None,
    )


def origin_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Origin:
    """Where an unauthenticated request (login, refresh, invitation) comes from."""
    client = connection.client
    request_id = connection.scope.get("state", {}).get("request_id")
    return Origin(
        source=client.host if client is not None and client.host else "unknown",
        request_id=str(request_id) if request_id else None,
    )
