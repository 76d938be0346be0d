"""Log a staff member in with a token from an external identity provider (Firebase)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime

import attrs

from porfin_core.domain.audit import AuditAction, Origin
from porfin_core.domain.staff import StaffUser, normalize_email
from porfin_core.errors import AccountLocked, InvalidCredentials, NotFound, ValidationError
from porfin_core.ports.auth import AccessTokens, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.identity import IdentityTokenVerifier
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._sessions import Session, mint
from porfin_core.use_cases._transaction import transact

_NO_ACCOUNT = "no active Porfin account has this e-mail address"


@attrs.frozen(kw_only=True)
class IdentityProviderToken:
    """What the client sent.

    Attributes:
        provider: Which provider signed the token (``firebase``).
        token: The provider's signed token (a Firebase ID token).
        origin: Where the request came from (for the audit trail).
    """

    provider: str
    token: str = attrs.field(repr=False)
    origin: Origin = attrs.field(factory=Origin)


@attrs.define(kw_only=True)
class LogInWithIdentityProvider:
    """Open a session for the staff user whose verified e-mail an identity provider vouches for.

    The provider's token proves who the caller is; the account is the one with the same
    e-mail, provided the provider verified that the person controls that address. The session
    is the same as a password login's (access token + rotating refresh token), so refresh and
    logout work alike. The password, its failure count and its lockout are left untouched: a
    locked account stays locked, and a provider login does not clear the failures of someone
    guessing the password. Successful logins go to the clinic's audit trail
    (``auth.login`` with ``method`` and the provider's ``subject``).

    Attributes:
        verifiers: The configured providers by name; a provider not in it is off.
    """

    uow_factory: UnitOfWorkFactory
    verifiers: Mapping[str, IdentityTokenVerifier]
    access_tokens: AccessTokens
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: IdentityProviderToken) -> Session:
        """Log in.

        Raises:
            NotFound: the provider is not configured on this installation.
            InvalidCredentials: the token is not genuine or not current, the e-mail is
                missing or unverified, no active account has it, or the account uses two-step
                verification (``reason`` says which).
            AccountLocked: too many failed password logins; ``retry_after`` in seconds.
            IdentityProviderUnavailable: the provider's keys cannot be fetched.
        """
        verifier = self.verifiers.get(command.provider)
        if verifier is None:
            raise NotFound(
                f"sign-in with {command.provider} is not enabled on this installation",
                provider=command.provider,
            )
        identity = await verifier.verify(command.token, self.clock.now())
        if identity.provider != command.provider:
            raise InvalidCredentials("token from another identity provider", reason="provider")
        if not identity.email:
            raise InvalidCredentials("the identity has no e-mail address", reason="no_email")
        if not identity.email_verified:
            raise InvalidCredentials(
                f"the e-mail address was not verified by {command.provider}",
                reason="email_not_verified",
            )
        try:
            email = normalize_email(identity.email)
        except ValidationError:
            raise InvalidCredentials(_NO_ACCOUNT, reason="no_account") from None
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.staff.find_by_email(email)
        if found is None:
            raise InvalidCredentials(_NO_ACCOUNT, reason="no_account")
        user_id, clinic_id = found.id, found.clinic_id
        actor = command.origin.actor(user_id)
        details = {"method": command.provider, "subject": identity.subject}
        if identity.sign_in_method:
            details["sign_in_method"] = identity.sign_in_method

        async def work(uow: UnitOfWork) -> Session | AccountLocked | InvalidCredentials:
            user = await uow.staff.get(clinic_id, user_id)
            now = self.clock.now()
            if not user.active:
                return InvalidCredentials(_NO_ACCOUNT, reason="no_account")
            if user.locked(now):
                return _locked(user, now)
            if user.mfa_enabled:
                # The provider's sign-in is one factor; Porfin's authenticator code would be
                # skipped. Until the endpoint takes the code too, such accounts use the form.
                return InvalidCredentials(
                    "this account uses two-step verification: log in with e-mail, password "
                    "and code",
                    reason="mfa_enabled",
                )
            session, record = mint(
                user,
                self.ids.new_id(),
                now,
                ids=self.ids,
                secrets=self.secrets,
                access_tokens=self.access_tokens,
            )
            await uow.refresh_tokens.save(record)
            await uow.audit.append(audit(actor, user, AuditAction.AUTH_LOGIN, now, details))
            await uow.commit()
            return session

        outcome = await transact(self.uow_factory, work)
        if isinstance(outcome, Session):
            return outcome
        raise outcome


def _locked(user: StaffUser, now: datetime) -> AccountLocked:
    until = user.locked_until or now
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return AccountLocked(
        "too many failed logins; the account is locked for a while", retry_after=seconds
    )
