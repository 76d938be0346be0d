"""External identity providers: tokens another service (Firebase Authentication) signed."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import attrs


@attrs.frozen(kw_only=True)
class ExternalIdentity:
    """Who an identity provider says the bearer of a token is.

    Attributes:
        provider: The provider that vouches for it (``firebase``).
        subject: The provider's stable id of the person (Firebase's ``uid``).
        email: Their e-mail address as the provider knows it, if any.
        email_verified: True only when the provider checked that they control ``email``.
        name: Display name, if the provider has one.
        sign_in_method: How they signed in with the provider (``password``, ``google.com``...).
        authenticated_at: When they last actually authenticated with the provider.
    """

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None = None
    sign_in_method: str | None = None
    authenticated_at: datetime | None = None


class IdentityTokenVerifier(Protocol):
    """Checks an identity provider's signed token (e.g. a Firebase ID token)."""

    async def verify(self, token: str, now: datetime) -> ExternalIdentity:
        """The identity a genuine, current token vouches for.

        Raises:
            InvalidCredentials: malformed token, wrong algorithm, unknown signing key, bad
                signature, wrong audience or issuer, expired or not yet valid, no subject
                (``reason`` says which).
            IdentityProviderUnavailable: the provider's public keys cannot be fetched.
        """
        ...
