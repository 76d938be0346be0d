"""Authenticating Evolution webhooks with the channel's secret.

Evolution does not sign its webhooks; it sends the static ``headers`` configured on the
instance's webhook. Porfin's channel holds a per-channel ``webhook_secret`` and accepts it as:

- ``Authorization: Bearer <secret>`` (set ``webhook.headers.authorization`` on the instance;
  the recommended form);
- ``Authorization: Bearer <JWT>`` when the instance's webhook headers carry ``jwt_key:
  <secret>``: Evolution then signs a short-lived HS256 JWT (``exp`` 10 minutes, claims
  ``app: evolution``, ``action: webhook``) with it, so the secret never travels;
- ``?token=<secret>`` on the webhook URL, for servers configured only through
  ``WEBHOOK_GLOBAL_URL`` (no headers there). Query strings end up in access logs: prefer the
  header.

Every comparison is constant-time.
"""

from __future__ import annotations

import hmac

import jwt


def presented_secret(authorization: str | None, token: str | None) -> str | None:
    """The credential a request presents: the bearer value, else the ``token`` parameter."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    if token:
        return token
    return None


def secret_matches(presented: str | None, secret: str) -> bool:
    """True when ``presented`` is the secret itself, or a valid Evolution JWT signed with it."""
    if not presented or not secret:
        return False
    if hmac.compare_digest(presented.encode(), secret.encode()):
        return True
    if presented.count(".") != 2:
        return False
    try:
        claims = jwt.decode(presented, secret, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        return False
    return claims.get("app") == "evolution" and claims.get("action") == "webhook"
