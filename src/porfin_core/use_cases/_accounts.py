"""What the account use cases share: one-time tokens, revoking sessions, recovery codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.audit import Actor, AuditEntry
from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import AccountStatus, AccountToken, StaffUser, TokenPurpose
from porfin_core.errors import InvalidCredentials
from porfin_core.ports.auth import SecretGenerator
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import UnitOfWork
from porfin_core.use_cases._sessions import token_hash


@attrs.frozen(kw_only=True)
class IssuedToken:
    """A one-time token just issued: shown once to whoever issued it, stored only hashed.

    Attributes:
        user: The account the token is for.
        token: The secret to hand to the person (e.g. in a link).
        expires_at: When it stops working.
    """

    user: StaffUser
    token: str
    expires_at: datetime


async def issue_token(
    uow: UnitOfWork,
    user: StaffUser,
    purpose: TokenPurpose,
    lifetime: timedelta,
    *,
    issued_by: str,
    now: datetime,
    ids: IdGenerator,
    secrets: SecretGenerator,
) -> IssuedToken:
    """Store a new token of ``purpose`` for ``user``; the user's earlier ones stop working."""
    await revoke_account_tokens(uow, user, now)
    secret = secrets.new_secret()
    record = AccountToken(
        id=ids.new_id(),
        clinic_id=user.clinic_id,
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(secret),
        issued_by=issued_by,
        issued_at=now,
        expires_at=now + lifetime,
    )
    await uow.account_tokens.save(record)
    return IssuedToken(user=user, token=secret, expires_at=record.expires_at)


async def redeem_token(
    uow: UnitOfWork, secret: str, purpose: TokenPurpose, now: datetime
) -> tuple[AccountToken, StaffUser]:
    """Mark a usable token of ``purpose`` used and return it with its (active) account.

    Raises:
        InvalidCredentials: unknown, used, revoked or expired token, another purpose's token,
            or a disabled account (one answer for all).
    """
    record = await uow.account_tokens.find_by_hash(token_hash(secret))
    refused = InvalidCredentials(f"this {purpose.value.replace('_', ' ')} link is not valid")
    if record is None or record.purpose is not purpose or not record.usable(now):
        raise refused
    user = await uow.staff.get(record.clinic_id, record.user_id)
    if not user.active:
        raise refused
    record.used_at = now
    await uow.account_tokens.save(record)
    return record, user


async def revoke_account_tokens(uow: UnitOfWork, user: StaffUser, now: datetime) -> None:
    """Revoke every usable invitation and reset token of ``user``."""
    for token in await uow.account_tokens.for_user(user.clinic_id, user.id):
        if token.usable(now):
            token.revoked_at = now
            await uow.account_tokens.save(token)


async def revoke_sessions(uow: UnitOfWork, user: StaffUser, now: datetime) -> int:
    """Revoke every refresh token of ``user`` (their access tokens die within minutes);
    returns how many sessions were open."""
    revoked = 0
    for token in await uow.refresh_tokens.for_user(user.clinic_id, user.id):
        if token.revoked_at is None and token.replaced_by is None:
            token.revoked_at = now
            await uow.refresh_tokens.save(token)
            revoked += 1
    return revoked


def audit(
    actor: Actor,
    user: StaffUser,
    action: str,
    now: datetime,
    details: Mapping[str, str] | None = None,
) -> AuditEntry:
    """The audit entry of ``actor`` doing ``action`` to ``user``'s account."""
    return AuditEntry.of(
        actor,
        clinic_id=user.clinic_id,
        at=now,
        action=action,
        resource_type="staff_user",
        resource_id=user.id,
        details=details,
    )


def active_admins(users: list[StaffUser]) -> list[StaffUser]:
    """Admins who can log in (or will, once they accept their invitation)."""
    return [u for u in users if u.role is Role.ADMIN and u.status is not AccountStatus.DISABLED]


def recovery_code(secret: str) -> str:
    """A recovery code drawn from a fresh secret: ten letters and digits as ``xxxxx-xxxxx``."""
    chars = "".join(c for c in secret.lower() if c.isascii() and c.isalnum())[:10]
    return f"{chars[:5]}-{chars[5:]}"


def recovery_hash(code: str) -> str:
    """What is stored of a recovery code: the SHA-256 of its letters and digits, lower case."""
    return token_hash("".join(c for c in code.lower() if c.isalnum()))
