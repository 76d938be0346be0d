"""Issue a password-reset token for a colleague who forgot their password (admins only)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.staff import PASSWORD_RESET_LIFETIME, AccountStatus, TokenPurpose
from porfin_core.errors import InvalidStateTransition
from porfin_core.ports.auth import SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import IssuedToken, audit, issue_token
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class PasswordResetRequest:
    """Whose password to reset, and who asks.

    Attributes:
        clinic_id: The clinic.
        user_id: The account.
        actor: Who asks (an admin, or the operator at the CLI).
    """

    clinic_id: str
    user_id: str
    actor: Actor


@attrs.define(kw_only=True)
class IssuePasswordReset:
    """A one-time token (valid for an hour) that lets its bearer choose a new password.

    Porfin sends no e-mail: whoever issues the token passes it on (in person, by message).
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, request: PasswordResetRequest) -> IssuedToken:
        """Issue.

        Raises:
            NotFound: no such user in the clinic.
            InvalidStateTransition: the account is disabled, or still invited (send a new
                invitation instead).
        """

        async def work(uow: UnitOfWork) -> IssuedToken:
            now = self.clock.now()
            user = await uow.staff.get(request.clinic_id, request.user_id)
            if user.status is AccountStatus.DISABLED:
                raise InvalidStateTransition("the account is disabled: enable it first")
            if user.status is AccountStatus.INVITED:
                raise InvalidStateTransition(
                    "the invitation was not accepted yet: send a new invitation instead"
                )
            issued = await issue_token(
                uow,
                user,
                TokenPurpose.PASSWORD_RESET,
                PASSWORD_RESET_LIFETIME,
                issued_by=request.actor.id,
                now=now,
                ids=self.ids,
                secrets=self.secrets,
            )
            await uow.audit.append(
                audit(request.actor, user, AuditAction.USER_PASSWORD_RESET_ISSUE, now)
            )
            await uow.commit()
            return issued

        return await transact(self.uow_factory, work)
