"""Staff accounts: who may log in, with which role, and the sessions they hold."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.clinic import Role
from porfin_core.errors import ValidationError

MAX_FAILED_LOGINS = 5
"""Failed logins within :data:`FAILURE_WINDOW` that lock an account."""
FAILURE_WINDOW = timedelta(minutes=1)
LOCKOUT = timedelta(minutes=15)
"""How long a locked account stays locked."""
INVITATION_LIFETIME = timedelta(days=7)
"""How long an invitation can be accepted."""
PASSWORD_RESET_LIFETIME = timedelta(hours=1)
"""How long a password-reset token works."""
RECOVERY_CODES = 10
"""Recovery codes handed out when two-step verification is turned on."""


class AccountStatus(enum.StrEnum):
    """Where an account stands."""

    INVITED = "invited"
    """Invited, no password set yet: cannot log in until the invitation is accepted."""
    ACTIVE = "active"
    DISABLED = "disabled"
    """Kept with its history, but cannot log in or act."""


def normalize_email(raw: str) -> str:
    """Trimmed, lower-case e-mail address.

    Raises:
        ValidationError: ``raw`` does not look like an e-mail address.
    """
    email = raw.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise ValidationError(f"not an e-mail address: {raw!r}", field="email")
    return email


@attrs.define(kw_only=True)
class StaffUser:
    """A person working at the clinic who uses Porfin.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic they belong to.
        name: Display name.
        email: Login e-mail, normalized (unique in the installation).
        role: Admin, manager or secretary.
        active: Disabled users keep their history but cannot log in or act.
        password_hash: The password's hash (argon2id), None until a password is set.
        failed_logins: Times of recent failed logins (within the failure window).
        locked_until: End of a lockout after too many failed logins.
        totp_secret: Base32 secret of the authenticator app, once two-step verification is on.
        totp_pending_secret: Secret of an enrolment not confirmed yet.
        totp_last_step: Time step of the last accepted code (a code works once).
        recovery_code_hashes: SHA-256 of the unused recovery codes.
        created_at: When the account was created.
    """

    id: str
    clinic_id: str
    name: str
    email: str = attrs.field(converter=normalize_email)
    role: Role
    active: bool = True
    password_hash: str | None = attrs.field(default=None, repr=False)
    failed_logins: list[datetime] = attrs.field(factory=list)
    locked_until: datetime | None = None
    totp_secret: str | None = attrs.field(default=None, repr=False)
    totp_pending_secret: str | None = attrs.field(default=None, repr=False)
    totp_last_step: int | None = None
    recovery_code_hashes: list[str] = attrs.field(factory=list, repr=False)
    created_at: datetime

    @property
    def status(self) -> AccountStatus:
        """Invited (no password yet), active or disabled."""
        if not self.active:
            return AccountStatus.DISABLED
        if self.password_hash is None:
            return AccountStatus.INVITED
        return AccountStatus.ACTIVE

    @property
    def mfa_enabled(self) -> bool:
        """True when logins need a code from the authenticator app (or a recovery code)."""
        return self.totp_secret is not None

    def turn_mfa_off(self) -> None:
        """Forget the authenticator secret, any pending enrolment and the recovery codes."""
        self.totp_secret = None
        self.totp_pending_secret = None
        self.totp_last_step = None
        self.recovery_code_hashes = []

    def locked(self, now: datetime) -> bool:
        """True while a lockout is in force."""
        return self.locked_until is not None and now < self.locked_until

    def login_failed(self, now: datetime) -> bool:
        """Count a failed login; returns True when it locks the account.

        More than :data:`MAX_FAILED_LOGINS` failures within :data:`FAILURE_WINDOW` lock the
        account for :data:`LOCKOUT`.
        """
        self.failed_logins = [t for t in self.failed_logins if now - t < FAILURE_WINDOW]
        self.failed_logins.append(now)
        if len(self.failed_logins) > MAX_FAILED_LOGINS:
            self.locked_until = now + LOCKOUT
            self.failed_logins = []
            return True
        return False

    def login_succeeded(self) -> None:
        """Forget earlier failures."""
        self.failed_logins = []
        self.locked_until = None


@attrs.define(kw_only=True)
class RefreshToken:
    """A long-lived, single-use token that buys a new access token.

    Only the token's SHA-256 is stored. Each refresh replaces the token by a new one of the same
    family; presenting a replaced token again means it was stolen, and revokes the family.

    Attributes:
        id: Stable identifier.
        clinic_id: The user's clinic.
        user_id: Whose session this is.
        family_id: Every token of one login shares it.
        token_hash: SHA-256 (hex) of the token.
        issued_at: When it was issued.
        expires_at: When it stops working.
        replaced_by: Id of the token that replaced it (it is then spent).
        revoked_at: When it was revoked (logout, reuse, account disabled).
    """

    id: str
    clinic_id: str
    user_id: str
    family_id: str
    token_hash: str
    issued_at: datetime
    expires_at: datetime
    replaced_by: str | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Neither spent, revoked nor expired."""
        return self.replaced_by is None and self.revoked_at is None and now < self.expires_at


class TokenPurpose(enum.StrEnum):
    """What a one-time account token is for."""

    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


@attrs.define(kw_only=True)
class AccountToken:
    """A one-time secret that lets a person set a password: an invitation or a reset.

    Only the token's SHA-256 is stored; the token itself is shown once, to whoever issued it.
    Issuing a new token of a purpose for a user revokes the user's earlier ones.

    Attributes:
        id: Stable identifier.
        clinic_id: The user's clinic.
        user_id: The account the token sets a password for.
        purpose: Invitation or password reset.
        token_hash: SHA-256 (hex) of the token.
        issued_by: Id of whoever issued it (an admin, ``admin`` for the admin token, ``cli``).
        issued_at: When it was issued.
        expires_at: When it stops working.
        used_at: When it was used (it then works no more).
        revoked_at: When it was revoked (superseded by a newer one, account disabled).
    """

    id: str
    clinic_id: str
    user_id: str
    purpose: TokenPurpose
    token_hash: str
    issued_by: str
    issued_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        """Neither used, revoked nor expired."""
        return self.used_at is None and self.revoked_at is None and now < self.expires_at
