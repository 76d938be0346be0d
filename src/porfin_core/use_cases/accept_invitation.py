"""Accept an invitation: the invited person chooses a password and is logged in."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import AuditAction, Origin
from porfin_core.domain.staff import AccountStatus, TokenPurpose
from porfin_core.errors import InvalidCredentials
from porfin_core.ports.auth import AccessTokens, PasswordHasher, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, redeem_token
from porfin_core.use_cases._sessions import Session, mint
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.create_staff_user import check_password


@attrs.frozen(kw_only=True)
class TokenRedemption:
    """A one-time token and the password its bearer chose.

    Attributes:
        token: The invitation or reset token.
        password: The new password.
        origin: Where the request came from (for the audit trail).
    """

    token: str
    password: str
    origin: Origin = attrs.field(factory=Origin)


@attrs.define(kw_only=True)
class AcceptInvitation:
    """Set the invited account's password, spend the invitation and open a session."""

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    access_tokens: AccessTokens
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, redemption: TokenRedemption) -> Session:
        """Accept.

        Raises:
            ValidationError: the password breaks the rules.
            InvalidCredentials: unknown, used, superseded or expired invitation.
        """
        password_hash = await self.hasher.hash(check_password(redemption.password))

        async def work(uow: UnitOfWork) -> Session:
            now = self.clock.now()
            _, user = await redeem_token(uow, redemption.token, TokenPurpose.INVITATION, now)
            if user.status is not AccountStatus.INVITED:
                raise InvalidCredentials("this invitation link is not valid")
            user.password_hash = password_hash
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
            actor = redemption.origin.actor(user.id)
            await uow.audit.append(audit(actor, user, AuditAction.USER_INVITATION_ACCEPT, now))
            await uow.commit()
            return session

        return await transact(self.uow_factory, work)
