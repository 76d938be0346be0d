"""Change one's own password."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.errors import ValidationError
from porfin_core.ports.auth import AccessTokens, PasswordHasher, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, revoke_sessions
from porfin_core.use_cases._sessions import Session, mint
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.create_staff_user import check_password


@attrs.frozen(kw_only=True)
class PasswordChange:
    """The current password (proof it is really them) and the new one.

    Attributes:
        clinic_id: The user's clinic.
        user_id: The user.
        current_password: The password in use.
        new_password: The password to use from now on.
        actor: The user, with where they call from.
    """

    clinic_id: str
    user_id: str
    current_password: str = attrs.field(repr=False)
    new_password: str = attrs.field(repr=False)
    actor: Actor


@attrs.define(kw_only=True)
class ChangePassword:
    """Check the current password, store the new one and end every other session.

    Returns a fresh session, so the device that changed the password stays logged in. A wrong
    current password counts as a failed login (towards the lockout).
    """

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    access_tokens: AccessTokens
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, change: PasswordChange) -> Session:
        """Change the password.

        Raises:
            ValidationError: the current password is wrong (``field`` names it) or the new
                one breaks the rules.
            NotFound: no such user.
        """
        new_hash = await self.hasher.hash(check_password(change.new_password))
        async with self.uow_factory(read_only=True) as uow:
            user = await uow.staff.get(change.clinic_id, change.user_id)
        matches = await self.hasher.verify(user.password_hash, change.current_password)

        async def work(uow: UnitOfWork) -> Session | None:
            now = self.clock.now()
            user = await uow.staff.get(change.clinic_id, change.user_id)
            if not matches:
                user.login_failed(now)
                await uow.staff.save(user)
                await uow.commit()
                return None
            user.password_hash = new_hash
            await uow.staff.save(user)
            revoked = await revoke_sessions(uow, user, now)
            session, record = mint(
                user,
                self.ids.new_id(),
                now,
                ids=self.ids,
                secrets=self.secrets,
                access_tokens=self.access_tokens,
            )
            await uow.refresh_tokens.save(record)
            details = {"sessions_revoked": str(revoked)}
            await uow.audit.append(
                audit(change.actor, user, AuditAction.USER_PASSWORD_CHANGE, now, details)
            )
            await uow.commit()
            return session

        session = await transact(self.uow_factory, work)
        if session is None:
            raise ValidationError("the current password is wrong", field="current_password")
        return session
