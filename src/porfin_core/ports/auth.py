"""Authentication ports: password hashing, session tokens and secrets."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs

from porfin_core.domain.clinic import Role


class PasswordHasher(Protocol):
    """Slow, salted password hashing (argon2id); slow on purpose, so asynchronous."""

    async def hash(self, password: str) -> str:
        """Return the encoded hash of ``password``."""
        ...

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches ``password_hash``; never raises for a mismatch.

        With ``None`` (no such account) it takes as long as a real check and returns False,
        so response times do not reveal which e-mails have accounts.
        """
        ...


@attrs.frozen
class Principal:
    """Who is calling: the user an access token was issued to.

    Attributes:
        user_id: The staff user.
        clinic_id: Their clinic (every request is scoped to it).
        role: Their role when the token was issued.
    """

    user_id: str
    clinic_id: str
    role: Role


@attrs.frozen
class AccessToken:
    """A signed, short-lived bearer token and when it expires."""

    token: str
    expires_at: datetime


class AccessTokens(Protocol):
    """Issues and reads short-lived access tokens (JWT)."""

    def issue(self, principal: Principal, now: datetime) -> AccessToken:
        """Sign an access token for ``principal``."""
        ...

    def read(self, token: str, now: datetime) -> Principal:
        """The principal of a valid, unexpired token.

        Raises:
            InvalidCredentials: bad signature, malformed or expired token.
        """
        ...


class OneTimePasswords(Protocol):
    """Time-based one-time passwords (TOTP, RFC 6238) of authenticator apps."""

    def new_secret(self) -> str:
        """A fresh base32 secret for an authenticator app."""
        ...

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        """The ``otpauth://totp/...`` URI an authenticator app reads (usually as a QR code)."""
        ...

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        """The time step whose code ``code`` is (the current one or one step either side,
        for clocks that drift), or None when it matches none."""
        ...


class SecretGenerator(Protocol):
    """Unguessable secrets (refresh tokens, invitation and reset tokens)."""

    def new_secret(self) -> str:
        """A fresh URL-safe secret with at least 256 bits of entropy."""
        ...
