"""Change a colleague's account: name, role, enabled or disabled (or one's own name)."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.staff import StaffUser
from porfin_core.errors import InvalidStateTransition
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import (
    active_admins,
    audit,
    revoke_account_tokens,
    revoke_sessions,
)
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases.invite_staff_user import check_name, parse_role


@attrs.frozen(kw_only=True)
class StaffUserChange:
    """What to change; ``None`` leaves a field as it is.

    Attributes:
        clinic_id: The clinic.
        user_id: The account.
        actor: Who changes it.
        name: New display name.
        role: New role.
        active: False disables the account (its sessions end), True enables it again.
    """

    clinic_id: str
    user_id: str
    actor: Actor
    name: str | None = None
    role: str | None = None
    active: bool | None = None


@attrs.define(kw_only=True)
class UpdateStaffUser:
    """Apply a :class:`StaffUserChange`.

    The clinic always keeps an admin who can log in: the last one can be neither disabled nor
    given another role. Disabling ends the account's sessions and voids its pending invitation
    or reset link; the history stays.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, change: StaffUserChange) -> StaffUser:
        """Update.

        Raises:
            NotFound: no such user in the clinic.
            ValidationError: bad name or role.
            InvalidStateTransition: it would leave the clinic without an admin.
        """
        name = None if change.name is None else check_name(change.name)
        role = None if change.role is None else parse_role(change.role)

        async def work(uow: UnitOfWork) -> StaffUser:
            now = self.clock.now()
            user = await uow.staff.get(change.clinic_id, change.user_id)
            was_admin = bool(active_admins([user]))
            details: dict[str, str] = {}
            if name is not None and name != user.name:
                user.name, details["name"] = name, name
            if role is not None and role is not user.role:
                details["role"] = f"{user.role.value}->{role.value}"
                user.role = role
            if change.active is not None and change.active != user.active:
                user.active, details["active"] = change.active, str(change.active).lower()
            if not details:
                return user
            if was_admin and not active_admins([user]):
                others = [u for u in await uow.staff.list(user.clinic_id) if u.id != user.id]
                if not active_admins(others):
                    raise InvalidStateTransition(
                        "the clinic needs an admin: make someone else admin first"
                    )
            if not user.active:
                details["sessions_revoked"] = str(await revoke_sessions(uow, user, now))
                await revoke_account_tokens(uow, user, now)
            await uow.staff.save(user)
            await uow.audit.append(audit(change.actor, user, AuditAction.USER_UPDATE, now, details))
            await uow.commit()
            return user

        return await transact(self.uow_factory, work)
