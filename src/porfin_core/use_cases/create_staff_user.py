"""Create a staff account."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction
from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import StaffUser, normalize_email
from porfin_core.errors import Conflict, ValidationError
from porfin_core.ports.auth import PasswordHasher
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._accounts import audit
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact

MIN_PASSWORD_LENGTH = 10


def check_password(password: str) -> str:
    """A password Porfin accepts: 10 to 1024 characters, not only spaces.

    Raises:
        ValidationError: too short, too long or blank.
    """
    if len(password) < MIN_PASSWORD_LENGTH or not password.strip():
        raise ValidationError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > 1024:
        raise ValidationError("password is too long", field="password")
    return password


@attrs.frozen(kw_only=True)
class NewStaffUser:
    """The account to create.

    Attributes:
        clinic_id: The clinic.
        name: Display name.
        email: Login e-mail.
        role: ``admin``, ``manager`` or ``secretary``.
        password: Initial password.
        actor: Who creates it (Porfin itself when not said).
    """

    clinic_id: str
    name: str
    email: str
    role: str
    password: str = attrs.field(repr=False)
    actor: Actor | None = None


@attrs.define(kw_only=True)
class CreateStaffUser:
    """Create an account with a password (argon2id-hashed)."""

    uow_factory: UnitOfWorkFactory
    hasher: PasswordHasher
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: NewStaffUser) -> StaffUser:
        """Create the account.

        Raises:
            ValidationError: bad e-mail, role, name or password.
            Conflict: the e-mail is already used by an account.
            NotFound: unknown clinic.
        """
        email = normalize_email(command.email)
        try:
            role = Role(command.role)
        except ValueError:
            allowed = ", ".join(r.value for r in Role)
            raise ValidationError(f"role must be one of: {allowed}", field="role") from None
        if not command.name.strip():
            raise ValidationError("name is empty", field="name")
        password_hash = await self.hasher.hash(check_password(command.password))

        async def work(uow: UnitOfWork) -> StaffUser:
            await uow.clinics.get(command.clinic_id)
            if await uow.staff.find_by_email(email) is not None:
                raise Conflict("an account with this e-mail already exists", field="email")
            user = StaffUser(
                id=self.ids.new_id(),
                clinic_id=command.clinic_id,
                name=command.name.strip(),
                email=email,
                role=role,
                password_hash=password_hash,
                created_at=self.clock.now(),
            )
            await uow.staff.save(user)
            actor = actor_of(command.actor)
            details = {"role": role.value}
            await uow.audit.append(
                audit(actor, user, AuditAction.USER_CREATE, user.created_at, details)
            )
            await uow.commit()
            return user

        return await transact(self.uow_factory, work)
