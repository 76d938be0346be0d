"""Finish turning on two-step verification with a first code from the app."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.staff import RECOVERY_CODES
from porfin_core.errors import InvalidStateTransition, ValidationError
from porfin_core.ports.auth import OneTimePasswords, SecretGenerator
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit, recovery_code, recovery_hash
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class MfaConfirmation:
    """The code the authenticator app shows now.

    Attributes:
        clinic_id: The user's clinic.
        user_id: The user.
        code: Six digits from the app.
        actor: The user, with where they call from.
    """

    clinic_id: str
    user_id: str
    code: str
    actor: Actor


@attrs.define(kw_only=True)
class ConfirmMfaEnrolment:
    """Check the code against the pending secret, turn two-step verification on and hand out
    ten single-use recovery codes (shown once; stored hashed)."""

    uow_factory: UnitOfWorkFactory
    otp: OneTimePasswords
    secrets: SecretGenerator
    clock: Clock

    async def __call__(self, confirmation: MfaConfirmation) -> list[str]:
        """Confirm; returns the recovery codes.

        Raises:
            NotFound: no such user.
            InvalidStateTransition: no enrolment was started.
            ValidationError: the code does not match (``field`` is ``code``).
        """

        async def work(uow: UnitOfWork) -> list[str]:
            now = self.clock.now()
            user = await uow.staff.get(confirmation.clinic_id, confirmation.user_id)
            secret = user.totp_pending_secret
            if secret is None:
                raise InvalidStateTransition("start the enrolment first")
            step = self.otp.matching_step(secret, confirmation.code, now)
            if step is None:
                raise ValidationError(
                    "the code does not match: check the phone's clock", field="code"
                )
            codes = [recovery_code(self.secrets.new_secret()) for _ in range(RECOVERY_CODES)]
            user.totp_secret, user.totp_pending_secret = secret, None
            user.totp_last_step = step
            user.recovery_code_hashes = [recovery_hash(c) for c in codes]
            await uow.staff.save(user)
            await uow.audit.append(
                audit(confirmation.actor, user, AuditAction.USER_MFA_ENABLE, now)
            )
            await uow.commit()
            return codes

        return await transact(self.uow_factory, work)
