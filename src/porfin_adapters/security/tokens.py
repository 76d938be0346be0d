"""Short-lived access tokens (JWT, HS256) and unguessable secrets."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import jwt

from porfin_core.domain.clinic import Role
from porfin_core.errors import InvalidCredentials
from porfin_core.ports.auth import AccessToken, Principal

ISSUER = "porfin"


class JwtAccessTokens:
    """Signs access tokens with HS256; ``sub`` is the user, ``cid`` the clinic, ``role`` the
    role; ``exp``/``iat`` bound their life."""

    def __init__(self, secret: str, lifetime: timedelta) -> None:
        self._secret = secret
        self._lifetime = lifetime

    def issue(self, principal: Principal, now: datetime) -> AccessToken:
        expires = now + self._lifetime
        claims = {
            "iss": ISSUER,
            "sub": principal.user_id,
            "cid": principal.clinic_id,
            "role": principal.role.value,
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
        }
        return AccessToken(jwt.encode(claims, self._secret, algorithm="HS256"), expires)

    def read(self, token: str, now: datetime) -> Principal:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                issuer=ISSUER,
                # Time comes from the Clock port, not PyJWT's wall clock: both checks below.
                options={
                    "require": ["exp", "iat", "sub", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            if now.timestamp() >= claims["exp"]:
                raise InvalidCredentials("access token expired")
            if claims["iat"] > now.timestamp() + IAT_LEEWAY_SECONDS:
                raise InvalidCredentials("access token issued in the future")
            return Principal(str(claims["sub"]), str(claims["cid"]), Role(claims["role"]))
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise InvalidCredentials("invalid access token") from exc


IAT_LEEWAY_SECONDS = 60  # clocks of several API instances may differ a little


class UrandomSecrets:
    """Secrets from the operating system's CSPRNG (256 bits, URL-safe)."""

    def new_secret(self) -> str:
        return secrets.token_urlsafe(32)
