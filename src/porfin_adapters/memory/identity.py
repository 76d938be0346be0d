"""An in-memory identity provider: tokens it issued itself, for tests, demos and BDD steps."""

from __future__ import annotations

import secrets
from datetime import datetime

from porfin_core.errors import IdentityProviderUnavailable, InvalidCredentials
from porfin_core.ports.identity import ExternalIdentity


class MemoryIdentityTokenVerifier:
    """Verifies the opaque tokens :meth:`issue` handed out, until they expire.

    Set ``available`` to False to play a provider that cannot be reached.
    """

    def __init__(self, provider: str = "firebase") -> None:
        self.provider = provider
        self.available = True
        self._issued: dict[str, tuple[ExternalIdentity, datetime]] = {}

    def issue(
        self,
        expires_at: datetime,
        *,
        subject: str = "uid-1",
        email: str | None = None,
        email_verified: bool = True,
        name: str | None = None,
    ) -> str:
        """A new token vouching for an identity until ``expires_at``."""
        token = secrets.token_urlsafe(16)
        identity = ExternalIdentity(
            provider=self.provider,
            subject=subject,
            email=email,
            email_verified=email_verified,
            name=name,
            sign_in_method="password",
        )
        self._issued[token] = (identity, expires_at)
        return token

    async def verify(self, token: str, now: datetime) -> ExternalIdentity:
        if not self.available:
            raise IdentityProviderUnavailable(f"{self.provider} cannot be reached")
        issued = self._issued.get(token)
        if issued is None:
            raise InvalidCredentials("invalid identity token", reason="signature")
        identity, expires_at = issued
        if now >= expires_at:
            raise InvalidCredentials("identity token expired", reason="expired")
        return identity
