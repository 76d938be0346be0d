"""Trade a refresh token for a new session (rotation with reuse detection)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import AuditAction, Origin
from porfin_core.errors import InvalidCredentials
from porfin_core.ports.auth import AccessTokens, SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._sessions import Session, mint, token_hash
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class RefreshSession:
    """Replace a refresh token by a new one and issue a fresh access token.

    A refresh token works once. Presenting one that was already replaced means two parties
    hold it (one of them stole it): the whole family of that login is revoked and both must
    log in again.
    """

    uow_factory: UnitOfWorkFactory
    access_tokens: AccessTokens
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, refresh_token: str, origin: Origin | None = None) -> Session:
        """Refresh.

        Raises:
            InvalidCredentials: unknown, expired, revoked or reused token, or a disabled
                account (``reason`` says which).
        """
        wanted = token_hash(refresh_token)

        async def work(uow: UnitOfWork) -> Session | InvalidCredentials:
            now = self.clock.now()
            record = await uow.refresh_tokens.find_by_hash(wanted)
            if record is None:
                return InvalidCredentials("unknown refresh token", reason="unknown")
            if record.replaced_by is not None and record.revoked_at is None:
                for member in await uow.refresh_tokens.family(record.family_id):
                    if member.revoked_at is None:
                        member.revoked_at = now
                        await uow.refresh_tokens.save(member)
                user = await uow.staff.get(record.clinic_id, record.user_id)
                actor = (origin or Origin()).actor(user.id)
                details = {"family_id": record.family_id}
                await uow.audit.append(
                    audit(actor, user, AuditAction.AUTH_REFRESH_REUSE, now, details)
                )
                await uow.commit()
                return InvalidCredentials(
                    "refresh token already used: every session of this login was revoked",
                    reason="reused",
                )
            if not record.usable(now):
                reason = "revoked" if record.revoked_at else "expired"
                return InvalidCredentials(f"refresh token {reason}", reason=reason)
            user = await uow.staff.get(record.clinic_id, record.user_id)
            if not user.active:
                record.revoked_at = now
                await uow.refresh_tokens.save(record)
                await uow.commit()
                return InvalidCredentials("account disabled", reason="disabled")
            session, replacement = mint(
                user,
                record.family_id,
                now,
                ids=self.ids,
                secrets=self.secrets,
                access_tokens=self.access_tokens,
            )
            record.replaced_by = replacement.id
            await uow.refresh_tokens.save(record)
            await uow.refresh_tokens.save(replacement)
            await uow.commit()
            return session

        outcome = await transact(self.uow_factory, work)
        if isinstance(outcome, InvalidCredentials):
            raise outcome
        return outcome
