"""Log a staff member in with e-mail and password."""

from __future__ import annotations

import math
from datetime import datetime

import attrs

from porfin_core.domain.audit import AuditAction, Origin
from porfin_core.domain.staff import StaffUser, normalize_email
from porfin_core.errors import AccountLocked, InvalidCredentials, MfaRequired, ValidationError
from porfin_core.ports.auth import AccessTokens, OneTimePasswords, PasswordHasher, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, recovery_hash
from porfin_core.use_cases._sessions import Session, mint
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class Credentials:
    """What the person typed.

    Attributes:
        email: Login e-mail.
        password: Password.
        otp: With two-step verification on: the authenticator app's six digits, or one of the
            recovery codes.
        origin: Where the request came from (for the audit trail).
    """

    email: str
    password: str = attrs.field(repr=False)
    otp: str | None = attrs.field(default=None, repr=False)
    origin: Origin = attrs.field(factory=Origin)


@attrs.define(kw_only=True)
class LogIn:
    """Check the password and open a session (access token + rotating refresh token).

    More than five failed logins within a minute lock the account for 15 minutes; the
    lockout is stored with the account, so it holds across API instances and restarts. A
    wrong second-step code counts as a failed login too. Successes, failures and lockouts of
    known accounts go to the clinic's audit trail.
    """

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    otp: OneTimePasswords
    access_tokens: AccessTokens
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, credentials: Credentials) -> Session:
        """Log in.

        Raises:
            InvalidCredentials: unknown e-mail, wrong password or disabled account (one
                error for all, so the answer reveals nothing).
            AccountLocked: too many failures; ``retry_after`` says for how many seconds.
            MfaRequired: the password is right and the account needs a second-step code.
        """
        try:
            email = normalize_email(credentials.email)
        except ValidationError:
            raise InvalidCredentials("wrong e-mail or password") from None
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.staff.find_by_email(email)
        now = self.clock.now()
        if found is not None and found.locked(now):
            raise _locked(found, now)
        matches = await self.hasher.verify(
            found.password_hash if found else None, credentials.password
        )
        if found is None or not found.active or found.password_hash is None:
            raise InvalidCredentials("wrong e-mail or password")
        if matches and found.mfa_enabled and not (credentials.otp or "").strip():
            raise MfaRequired("enter the code from the authenticator app (or a recovery code)")
        user_id, clinic_id = found.id, found.clinic_id
        actor = credentials.origin.actor(user_id)

        async def work(uow: UnitOfWork) -> Session | AccountLocked | None:
            user = await uow.staff.get(clinic_id, user_id)
            now = self.clock.now()
            if user.locked(now):
                return _locked(user, now)
            second_step = self._second_step(user, credentials.otp, now) if matches else None
            if not matches or second_step is None:
                just_locked = user.login_failed(now)
                await uow.staff.save(user)
                reason = "password" if not matches else "code"
                await uow.audit.append(
                    audit(actor, user, AuditAction.AUTH_LOGIN_FAILED, now, {"reason": reason})
                )
                if just_locked:
                    until = user.locked_until.isoformat() if user.locked_until else ""
                    await uow.audit.append(
                        audit(actor, user, AuditAction.AUTH_LOCKOUT, now, {"until": until})
                    )
                await uow.commit()
                return _locked(user, now) if just_locked else None
            user.login_succeeded()
            session, record = mint(
                user,
                self.ids.new_id(),
                now,
                ids=self.ids,
                secrets=self.secrets,
                access_tokens=self.access_tokens,
            )
            await uow.staff.save(user)
            await uow.refresh_tokens.save(record)
            await uow.audit.append(
                audit(actor, user, AuditAction.AUTH_LOGIN, now, {"second_step": second_step})
            )
            await uow.commit()
            return session

        outcome = await transact(self.uow_factory, work)
        if isinstance(outcome, Session):
            return outcome
        if isinstance(outcome, AccountLocked):
            raise outcome
        raise InvalidCredentials("wrong e-mail or password")

    def _second_step(self, user: StaffUser, otp: str | None, now: datetime) -> str | None:
        """How the second step passed (``none``, ``totp``, ``recovery_code``), updating what a
        code spends; None when it failed."""
        if user.totp_secret is None:
            return "none"
        code = (otp or "").strip()
        step = self.otp.matching_step(user.totp_secret, code, now)
        if step is not None:
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return None  # a code works once
            user.totp_last_step = step
            return "totp"
        hashed = recovery_hash(code)
        if code and hashed in user.recovery_code_hashes:
            user.recovery_code_hashes = [h for h in user.recovery_code_hashes if h != hashed]
            return "recovery_code"
        return None


def _locked(user: StaffUser, now: datetime) -> AccountLocked:
    until = user.locked_until or now
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return AccountLocked(
        "too many failed logins; the account is locked for a while", retry_after=seconds
    )
