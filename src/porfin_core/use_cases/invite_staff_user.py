"""Invite a person to the clinic's team: an account without a password, and a one-time link."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import (
    INVITATION_LIFETIME,
    AccountStatus,
    StaffUser,
    TokenPurpose,
    normalize_email,
)
from porfin_core.errors import Conflict, ValidationError
from porfin_core.ports.auth import SecretGenerator
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import IssuedToken, audit, issue_token
from porfin_core.use_cases._transaction import transact

MAX_NAME_LENGTH = 120


def parse_role(raw: str) -> Role:
    """The role named ``raw``.

    Raises:
        ValidationError: not ``admin``, ``manager`` or ``secretary``.
    """
    try:
        return Role(raw)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise ValidationError(f"role must be one of: {allowed}", field="role") from None


def check_name(raw: str) -> str:
    """A display name: trimmed, not empty, at most 120 characters.

    Raises:
        ValidationError: empty or too long.
    """
    name = " ".join(raw.split())
    if not name:
        raise ValidationError("name is empty", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"name is longer than {MAX_NAME_LENGTH} characters", field="name")
    return name


@attrs.frozen(kw_only=True)
class Invitation:
    """Who to invite, as what, and who invites.

    Attributes:
        clinic_id: The clinic.
        name: The person's name.
        email: Their e-mail (their login).
        role: ``admin``, ``manager`` or ``secretary``.
        actor: Who invites.
    """

    clinic_id: str
    name: str
    email: str
    role: str
    actor: Actor


@attrs.define(kw_only=True)
class InviteStaffUser:
    """Create an invited account and its invitation token (valid for seven days).

    Inviting an e-mail whose invitation is still pending issues a new token (the old one stops
    working) and updates the name and role.
    """

    uow_factory: UnitOfWorkFactory
    secrets: SecretGenerator
    clock: Clock
    ids: IdGenerator

    async def __call__(self, invitation: Invitation) -> IssuedToken:
        """Invite.

        Raises:
            ValidationError: bad e-mail, name or role.
            Conflict: the e-mail already belongs to an account that accepted its invitation,
                or to an account of another clinic.
        """
        email = normalize_email(invitation.email)
        name = check_name(invitation.name)
        role = parse_role(invitation.role)

        async def work(uow: UnitOfWork) -> IssuedToken:
            now = self.clock.now()
            user = await uow.staff.find_by_email(email)
            if user is None:
                user = StaffUser(
                    id=self.ids.new_id(),
                    clinic_id=invitation.clinic_id,
                    name=name,
                    email=email,
                    role=role,
                    created_at=now,
                )
            elif user.clinic_id != invitation.clinic_id or user.status is not AccountStatus.INVITED:
                raise Conflict("an account with this e-mail already exists", field="email")
            else:
                user.name, user.role = name, role
            await uow.staff.save(user)
            issued = await issue_token(
                uow,
                user,
                TokenPurpose.INVITATION,
                INVITATION_LIFETIME,
                issued_by=invitation.actor.id,
                now=now,
                ids=self.ids,
                secrets=self.secrets,
            )
            await uow.audit.append(
                audit(invitation.actor, user, AuditAction.USER_INVITE, now, {"role": role})
            )
            await uow.commit()
            return issued

        return await transact(self.uow_factory, work)
