"""Start turning on two-step verification: a secret for the authenticator app."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.errors import InvalidStateTransition
from porfin_core.ports.auth import OneTimePasswords
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._transaction import transact

ISSUER = "Porfin"
"""The name authenticator apps show above the code."""


@attrs.frozen(kw_only=True)
class MfaEnrolment:
    """What the authenticator app needs; shown once.

    Attributes:
        secret: The base32 secret (for typing it in by hand).
        provisioning_uri: The ``otpauth://`` URI (what the QR code carries).
    """

    secret: str = attrs.field(repr=False)
    provisioning_uri: str = attrs.field(repr=False)


@attrs.define(kw_only=True)
class StartMfaEnrolment:
    """Generate a secret and keep it pending until a code from the app confirms it.

    Starting again replaces a pending secret; logins do not need a code until confirmation.
    """

    uow_factory: UnitOfWorkFactory
    otp: OneTimePasswords
    clock: Clock

    async def __call__(self, clinic_id: str, user_id: str, actor: Actor) -> MfaEnrolment:
        """Start the enrolment.

        Raises:
            NotFound: no such user.
            InvalidStateTransition: two-step verification is already on (turn it off first).
        """

        async def work(uow: UnitOfWork) -> MfaEnrolment:
            now = self.clock.now()
            user = await uow.staff.get(clinic_id, user_id)
            if user.mfa_enabled:
                raise InvalidStateTransition("two-step verification is already on")
            secret = self.otp.new_secret()
            user.totp_pending_secret = secret
            await uow.staff.save(user)
            await uow.audit.append(audit(actor, user, AuditAction.USER_MFA_ENROL, now))
            await uow.commit()
            uri = self.otp.provisioning_uri(secret, user.email, ISSUER)
            return MfaEnrolment(secret=secret, provisioning_uri=uri)

        return await transact(self.uow_factory, work)
