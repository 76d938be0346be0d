"""Choose a new password with a reset token."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import AuditAction
from porfin_core.domain.staff import TokenPurpose
from porfin_core.ports.auth import PasswordHasher
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, redeem_token, revoke_sessions
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.accept_invitation import TokenRedemption
from porfin_core.use_cases.create_staff_user import check_password


@attrs.define(kw_only=True)
class ResetPassword:
    """Set the password, spend the token, end every session and lift a lockout.

    Two-step verification stays on: the next login still asks for a code.
    """

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock

    async def __call__(self, redemption: TokenRedemption) -> None:
        """Reset.

        Raises:
            ValidationError: the password breaks the rules.
            InvalidCredentials: unknown, used, superseded or expired token, or a disabled
                account.
        """
        password_hash = await self.hasher.hash(check_password(redemption.password))

        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            _, user = await redeem_token(uow, redemption.token, TokenPurpose.PASSWORD_RESET, now)
            user.password_hash = password_hash
            user.login_succeeded()
            await uow.staff.save(user)
            sessions = await revoke_sessions(uow, user, now)
            actor = redemption.origin.actor(user.id)
            await uow.audit.append(
                audit(
                    actor,
                    user,
                    AuditAction.USER_PASSWORD_RESET,
                    now,
                    {"sessions_revoked": str(sessions)},
                )
            )
            await uow.commit()

        await transact(self.uow_factory, work)
