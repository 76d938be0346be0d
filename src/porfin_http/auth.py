"""API authentication: the installation's admin bearer token (accounts come later)."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers.base import BaseRouteHandler

ACTOR_ADMIN = "admin"
BEARER: list[dict[str, list[str]]] = [{"BearerToken": []}]
PUBLIC: list[dict[str, list[str]]] = [{}]


def token_guard(token: str) -> Any:
    """A guard accepting only ``Authorization: Bearer <token>`` (constant-time compare)."""
    expected = token.encode()

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        header = connection.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), expected):
            raise NotAuthorizedException(
                "a valid bearer token is required",
                headers={"WWW-Authenticate": 'Bearer realm="porfin"'},
            )
        connection.scope["state"]["actor_id"] = ACTOR_ADMIN

    return guard
