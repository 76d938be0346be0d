"""New recovery codes for two-step verification (the old ones stop working)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.staff import RECOVERY_CODES
from porfin_core.errors import InvalidStateTransition, ValidationError
from porfin_core.ports.auth import PasswordHasher, SecretGenerator
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, recovery_code, recovery_hash
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class RegenerateRecoveryCodes:
    """Replace the recovery codes, after checking the password."""

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    secrets: SecretGenerator
    clock: Clock

    async def __call__(
        self, clinic_id: str, user_id: str, password: str, actor: Actor
    ) -> list[str]:
        """Regenerate; returns the new codes (shown once).

        Raises:
            NotFound: no such user.
            ValidationError: the password is wrong.
            InvalidStateTransition: two-step verification is off.
        """
        async with self.uow_factory(read_only=True) as uow:
            user = await uow.staff.get(clinic_id, user_id)
        if not await self.hasher.verify(user.password_hash, password):
            raise ValidationError("the password is wrong", field="password")

        async def work(uow: UnitOfWork) -> list[str]:
            now = self.clock.now()
            user = await uow.staff.get(clinic_id, user_id)
            if not user.mfa_enabled:
                raise InvalidStateTransition("two-step verification is off")
            codes = [recovery_code(self.secrets.new_secret()) for _ in range(RECOVERY_CODES)]
            user.recovery_code_hashes = [recovery_hash(c) for c in codes]
            await uow.staff.save(user)
            await uow.audit.append(audit(actor, user, AuditAction.USER_RECOVERY_CODES, now))
            await uow.commit()
            return codes

        return await transact(self.uow_factory, work)
