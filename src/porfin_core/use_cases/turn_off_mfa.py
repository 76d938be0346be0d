"""Turn two-step verification off: oneself (with the password) or an admin for a colleague
who lost their phone."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.errors import ValidationError
from porfin_core.ports.auth import PasswordHasher
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class MfaRemoval:
    """Whose two-step verification to turn off.

    Attributes:
        clinic_id: The clinic.
        user_id: The account.
        actor: Who asks.
        password: The account's password, when its owner asks; None when an admin does it
            for a colleague (the HTTP layer checks the permission).
    """

    clinic_id: str
    user_id: str
    actor: Actor
    password: str | None = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True)
class TurnOffMfa:
    """Forget the secret, a pending enrolment and the recovery codes. Idempotent."""

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock

    async def __call__(self, removal: MfaRemoval) -> None:
        """Turn it off.

        Raises:
            NotFound: no such user.
            ValidationError: the password is wrong (``field`` is ``password``).
        """
        if removal.password is not None:
            async with self.uow_factory(read_only=True) as uow:
                user = await uow.staff.get(removal.clinic_id, removal.user_id)
            if not await self.hasher.verify(user.password_hash, removal.password):
                raise ValidationError("the password is wrong", field="password")

        async def work(uow: UnitOfWork) -> None:
            now = self.clock.now()
            user = await uow.staff.get(removal.clinic_id, removal.user_id)
            if not user.mfa_enabled and user.totp_pending_secret is None:
                return
            user.turn_mfa_off()
            await uow.staff.save(user)
            details = {"by": "self" if removal.actor.id == user.id else "admin"}
            await uow.audit.append(
                audit(removal.actor, user, AuditAction.USER_MFA_DISABLE, now, details)
            )
            await uow.commit()

        await transact(self.uow_factory, work)
