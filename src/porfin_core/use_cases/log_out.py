"""End a login: revoke every refresh token of its family."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import AuditAction, Origin
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._sessions import token_hash
from porfin_core.use_cases._transaction import transact


@attrs.define(kw_only=True)
class LogOut:
    """Revoke the session a refresh token belongs to. Idempotent; an unknown token is fine.

    The access tokens already issued stay valid until they expire (minutes).
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, refresh_token: str, origin: Origin | None = None) -> None:
        """Log out."""
        wanted = token_hash(refresh_token)

        async def work(uow: UnitOfWork) -> None:
            record = await uow.refresh_tokens.find_by_hash(wanted)
            if record is None:
                return
            now = self.clock.now()
            revoked = 0
            for member in await uow.refresh_tokens.family(record.family_id):
                if member.revoked_at is None:
                    member.revoked_at = now
                    await uow.refresh_tokens.save(member)
                    revoked += 1
            if revoked:
                user = await uow.staff.get(record.clinic_id, record.user_id)
                actor = (origin or Origin()).actor(user.id)
                await uow.audit.append(audit(actor, user, AuditAction.AUTH_LOGOUT, now))
            await uow.commit()

        await transact(self.uow_factory, work)
