"""What logging in and refreshing have in common: minting a session."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.staff import RefreshToken, StaffUser
from porfin_core.ports.auth import AccessToken, AccessTokens, Principal, SecretGenerator
from porfin_core.ports.clock import IdGenerator

REFRESH_LIFETIME = timedelta(days=30)


def token_hash(token: str) -> str:
    """SHA-256 (hex) of a secret token: what is stored instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@attrs.frozen(kw_only=True)
class Session:
    """Tokens handed to a client after login or refresh.

    Attributes:
        user: The staff user.
        access: The short-lived bearer token for API calls.
        refresh_token: The single-use token for the next refresh (shown once, stored hashed).
        refresh_expires_at: When the refresh token stops working.
    """

    user: StaffUser
    access: AccessToken
    refresh_token: str
    refresh_expires_at: datetime


def mint(
    user: StaffUser,
    family_id: str,
    now: datetime,
    *,
    ids: IdGenerator,
    secrets: SecretGenerator,
    access_tokens: AccessTokens,
    refresh_lifetime: timedelta = REFRESH_LIFETIME,
) -> tuple[Session, RefreshToken]:
    """A new session for ``user`` and the refresh-token record to store."""
    secret = secrets.new_secret()
    record = RefreshToken(
        id=ids.new_id(),
        clinic_id=user.clinic_id,
        user_id=user.id,
        family_id=family_id,
        token_hash=token_hash(secret),
        issued_at=now,
        expires_at=now + refresh_lifetime,
    )
    access = access_tokens.issue(Principal(user.id, user.clinic_id, user.role), now)
    return Session(
        user=user, access=access, refresh_token=secret, refresh_expires_at=record.expires_at
    ), record
