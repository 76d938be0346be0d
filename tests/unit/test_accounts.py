"""Accounts, sessions and the permission table, on the in-memory container."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers

from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import StaffUser, normalize_email
from porfin_core.errors import AccountLocked, Conflict, InvalidCredentials, ValidationError
from porfin_core.permissions import ROLE_PERMISSIONS, Permission, allows, may_see_chat
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_core.use_cases.log_in import Credentials
from tests import builders

PASSWORD = "correct horse battery"


@pytest.fixture
def accounts(container):
    container.password_hasher.override(
        providers.Object(Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=64)))
    )
    return container


async def _create(container, installation, email="ana@clinica.com.br", role="secretary"):
    return await container.create_staff_user()(
        NewStaffUser(
            clinic_id=installation.clinic.id, name="Ana", email=email, role=role, password=PASSWORD
        )
    )


def test_the_matrix_of_the_spec():
    admin, manager, secretary = (ROLE_PERMISSIONS[r] for r in Role)
    assert admin == frozenset(Permission)
    assert Permission.USERS_VIEW in manager and Permission.USERS_MANAGE not in manager
    assert Permission.USERS_VIEW not in secretary
    assert Permission.CHANNELS_OPERATE in manager and Permission.CHANNELS_MANAGE not in manager
    assert not any(p.value.startswith("channels.") for p in secretary)
    assert Permission.CAMPAIGNS_EDIT in manager and Permission.CAMPAIGNS_MANAGE not in manager
    assert Permission.CAMPAIGNS_VIEW in secretary and Permission.CAMPAIGNS_EDIT not in secretary
    assert Permission.ANALYTICS_BASIC in secretary and Permission.ANALYTICS_TEAM not in secretary
    assert Permission.ASSISTANT_TUNE in manager and Permission.ASSISTANT_MANAGE not in manager
    assert not any(p.value.startswith("assistant.") for p in secretary)
    assert secretary < manager < admin


def test_secretaries_see_their_chats_and_the_unassigned_queue(clock):
    chat = builders.chat(clock.now())
    assert allows(Role.SECRETARY, Permission.CHATS_ALL)  # an endpoint over chats is open...
    assert may_see_chat(Role.SECRETARY, "ana", chat)  # ...to unassigned chats
    chat.assign("ana", clock.now())
    assert may_see_chat(Role.SECRETARY, "ana", chat)
    assert not may_see_chat(Role.SECRETARY, "bia", chat)
    assert may_see_chat(Role.MANAGER, "carla", chat)


@pytest.mark.parametrize("raw", ["", "ana", "ana@", "@x.com", "ana@localhost", "a b@x.com"])
def test_email_addresses_are_checked(raw):
    with pytest.raises(ValidationError):
        normalize_email(raw)


def test_six_failures_within_a_minute_lock_for_fifteen(clock):
    user = StaffUser(
        id="u",
        clinic_id="c",
        name="Ana",
        email="a@b.com.br",
        role=Role.SECRETARY,
        created_at=clock.now(),
    )
    for _ in range(5):
        assert not user.login_failed(clock.advance(seconds=5))
    assert user.login_failed(clock.advance(seconds=5))
    assert user.locked(clock.now())
    assert not user.locked(clock.now() + timedelta(minutes=15))


def test_failures_spread_over_minutes_do_not_lock(clock):
    user = StaffUser(
        id="u",
        clinic_id="c",
        name="Ana",
        email="a@b.com.br",
        role=Role.SECRETARY,
        created_at=clock.now(),
    )
    for _ in range(20):
        assert not user.login_failed(clock.advance(seconds=15))


async def test_accounts_are_created_with_a_hashed_password(accounts, installation):
    user = await _create(accounts, installation, email="Ana@Clinica.com.br")
    assert user.email == "ana@clinica.com.br"
    assert user.password_hash is not None
    assert PASSWORD not in user.password_hash
    assert PASSWORD not in repr(user)
    with pytest.raises(Conflict):
        await _create(accounts, installation, email="ANA@clinica.com.br")


@pytest.mark.parametrize(
    ("field", "value"),
    [("role", "owner"), ("password", "short"), ("name", "  "), ("email", "nope")],
)
async def test_bad_accounts_are_refused(accounts, installation, field, value):
    values = {
        "clinic_id": installation.clinic.id,
        "name": "Ana",
        "email": "a@b.com.br",
        "role": "secretary",
        "password": PASSWORD,
        field: value,
    }
    with pytest.raises(ValidationError) as info:
        await accounts.create_staff_user()(NewStaffUser(**values))
    assert info.value.fields["field"] == field


async def test_login_refresh_and_logout(accounts, installation, clock):
    await _create(accounts, installation)
    session = await accounts.log_in()(Credentials(email="ana@clinica.com.br", password=PASSWORD))
    principal = accounts.access_tokens().read(session.access.token, clock.now())
    assert (principal.user_id, principal.role) == (session.user.id, Role.SECRETARY)
    renewed = await accounts.refresh_session()(session.refresh_token)
    assert renewed.refresh_token != session.refresh_token
    with pytest.raises(InvalidCredentials) as reused:
        await accounts.refresh_session()(session.refresh_token)
    assert reused.value.fields["reason"] == "reused"
    with pytest.raises(InvalidCredentials):
        await accounts.refresh_session()(renewed.refresh_token)  # the family is revoked
    again = await accounts.log_in()(Credentials(email="ana@clinica.com.br", password=PASSWORD))
    await accounts.log_out()(again.refresh_token)
    with pytest.raises(InvalidCredentials) as revoked:
        await accounts.refresh_session()(again.refresh_token)
    assert revoked.value.fields["reason"] == "revoked"


async def test_a_locked_account_stays_locked_for_its_window(accounts, installation, clock):
    await _create(accounts, installation)
    wrong = Credentials(email="ana@clinica.com.br", password="not the password")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await accounts.log_in()(wrong)
    with pytest.raises(AccountLocked) as locked:
        await accounts.log_in()(wrong)
    assert locked.value.fields["retry_after"] == 15 * 60
    clock.advance(minutes=10)
    with pytest.raises(AccountLocked):
        await accounts.log_in()(Credentials(email="ana@clinica.com.br", password=PASSWORD))
    clock.advance(minutes=5)
    assert await accounts.log_in()(Credentials(email="ana@clinica.com.br", password=PASSWORD))


async def test_expired_refresh_tokens_and_access_tokens_are_refused(accounts, installation, clock):
    await _create(accounts, installation)
    session = await accounts.log_in()(Credentials(email="ana@clinica.com.br", password=PASSWORD))
    clock.advance(days=30)
    with pytest.raises(InvalidCredentials) as expired:
        await accounts.refresh_session()(session.refresh_token)
    assert expired.value.fields["reason"] == "expired"
    with pytest.raises(InvalidCredentials):
        accounts.access_tokens().read(session.access.token, clock.now())


async def test_the_last_admin_rule_only_guards_admins(accounts, installation):
    """A clinic run with the admin token may have no admin account: its secretaries can still
    be disabled and given other roles; only demoting or disabling the last admin is refused."""
    from porfin_core.domain.audit import SYSTEM_ACTOR
    from porfin_core.errors import InvalidStateTransition
    from porfin_core.use_cases.update_staff_user import StaffUserChange

    ana = await _create(accounts, installation)
    update = accounts.update_staff_user()

    def change(user, **fields):
        return StaffUserChange(
            clinic_id=user.clinic_id, user_id=user.id, actor=SYSTEM_ACTOR, **fields
        )

    assert (await update(change(ana, active=False))).active is False
    assert (await update(change(ana, active=True, role="manager"))).role is Role.MANAGER
    rita = await _create(accounts, installation, "rita@clinica.com.br", role="admin")
    with pytest.raises(InvalidStateTransition):
        await update(change(rita, role="secretary"))
    assert (await update(change(ana, role="admin"))).role is Role.ADMIN
    assert (await update(change(rita, active=False))).active is False
