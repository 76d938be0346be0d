"""Log a staff member in with e-mail and password."""

from __future__ import annotations

import math
from datetime import datetime

import attrs

from porfin_core.domain.staff import StaffUser, normalize_email
from porfin_core.errors import AccountLocked, InvalidCredentials, ValidationError
from porfin_core.ports.auth import AccessTokens, PasswordHasher, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._sessions import Session, mint
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class Credentials:
    """What the person typed."""

    email: str
    password: str


@attrs.define(kw_only=True)
class LogIn:
    """Check the password and open a session (access token + rotating refresh token).

    More than five failed logins within a minute lock the account for 15 minutes; the
    lockout is stored with the account, so it holds across API instances and restarts.
    """

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
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
        user_id, clinic_id = found.id, found.clinic_id

        async def work(uow: UnitOfWork) -> Session | AccountLocked | None:
            user = await uow.staff.get(clinic_id, user_id)
            now = self.clock.now()
            if user.locked(now):
                return _locked(user, now)
            if not matches:
                just_locked = user.login_failed(now)
                await uow.staff.save(user)
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
            await uow.commit()
            return session

        outcome = await transact(self.uow_factory, work)
        if isinstance(outcome, Session):
            return outcome
        if isinstance(outcome, AccountLocked):
            raise outcome
        raise InvalidCredentials("wrong e-mail or password")


def _locked(user: StaffUser, now: datetime) -> AccountLocked:
    until = user.locked_until or now
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return AccountLocked(
        "too many failed logins; the account is locked for a while", retry_after=seconds
    )
