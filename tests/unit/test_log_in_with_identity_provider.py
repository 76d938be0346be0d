"""Logging in with an identity provider's token, on the in-memory container."""

from __future__ import annotations

from datetime import timedelta

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers

from porfin_adapters.memory.identity import MemoryIdentityTokenVerifier
from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import StaffUser
from porfin_core.errors import (
    AccountLocked,
    IdentityProviderUnavailable,
    InvalidCredentials,
    NotFound,
)
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_core.use_cases.log_in import Credentials
from porfin_core.use_cases.log_in_with_identity_provider import IdentityProviderToken

PASSWORD = "correct horse battery"


@pytest.fixture
def provider():
    return MemoryIdentityTokenVerifier("firebase")


@pytest.fixture
def accounts(container, provider):
    container.password_hasher.override(
        providers.Object(Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=64)))
    )
    container.identity_verifiers.override(providers.Object({"firebase": provider}))
    return container


@pytest.fixture
async def ana(accounts, installation):
    return await accounts.create_staff_user()(
        NewStaffUser(
            clinic_id=installation.clinic.id,
            name="Ana",
            email="ana@clinica.com.br",
            role="secretary",
            password=PASSWORD,
        )
    )


def _token(provider, clock, **claims):
    claims.setdefault("email", "Ana@Clinica.com.br")
    return IdentityProviderToken(
        provider="firebase", token=provider.issue(clock.now() + timedelta(hours=1), **claims)
    )


async def test_a_verified_email_opens_a_normal_session(accounts, provider, clock, ana):
    session = await accounts.log_in_with_identity_provider()(_token(provider, clock))
    assert session.user.id == ana.id
    principal = accounts.access_tokens().read(session.access.token, clock.now())
    assert (principal.user_id, principal.clinic_id, principal.role) == (
        ana.id,
        ana.clinic_id,
        ana.role,
    )
    async with accounts.uow_factory()(read_only=True) as uow:
        records = [r async for r in uow.audit.iterate(ana.clinic_id)]
    login = [r for r in records if r.action == "auth.login"]
    assert [(r.actor_id, r.resource_id) for r in login] == [(ana.id, ana.id)]
    assert login[0].details == {
        "method": "firebase",
        "subject": "uid-1",
        "sign_in_method": "password",
    }
    refreshed = await accounts.refresh_session()(session.refresh_token)
    assert refreshed.user.id == ana.id
    await accounts.log_out()(refreshed.refresh_token)
    with pytest.raises(InvalidCredentials):
        await accounts.refresh_session()(refreshed.refresh_token)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"email_verified": False}, "email_not_verified"),
        ({"email": None}, "no_email"),
        ({"email": "nobody@clinica.com.br"}, "no_account"),
        ({"email": "not an e-mail"}, "no_account"),
    ],
)
async def test_the_email_must_be_verified_and_known(accounts, provider, clock, ana, claims, reason):
    with pytest.raises(InvalidCredentials) as refused:
        await accounts.log_in_with_identity_provider()(_token(provider, clock, **claims))
    assert refused.value.fields["reason"] == reason


async def test_a_disabled_account_is_refused_like_an_unknown_one(accounts, provider, clock, ana):
    async with accounts.uow_factory()() as uow:
        user = await uow.staff.get(ana.clinic_id, ana.id)
        user.active = False
        await uow.staff.save(user)
        await uow.commit()
    with pytest.raises(InvalidCredentials) as refused:
        await accounts.log_in_with_identity_provider()(_token(provider, clock))
    assert refused.value.fields["reason"] == "no_account"


async def test_a_locked_account_stays_locked_and_keeps_its_failures(accounts, provider, clock, ana):
    for _ in range(6):
        with pytest.raises((InvalidCredentials, AccountLocked)):
            await accounts.log_in()(Credentials(email=ana.email, password="wrong password!"))
    with pytest.raises(AccountLocked) as locked:
        await accounts.log_in_with_identity_provider()(_token(provider, clock))
    assert locked.value.fields["retry_after"] == 15 * 60
    clock.advance(minutes=15)
    assert (await accounts.log_in_with_identity_provider()(_token(provider, clock))).user.id
    async with accounts.uow_factory()(read_only=True) as uow:
        assert (await uow.staff.get(ana.clinic_id, ana.id)).locked_until is not None


async def test_an_account_with_two_step_verification_uses_the_password_form(
    accounts, provider, clock, ana
):
    async with accounts.uow_factory()() as uow:
        user = await uow.staff.get(ana.clinic_id, ana.id)
        user.totp_secret = "JBSWY3DPEHPK3PXP"
        await uow.staff.save(user)
        await uow.commit()
    with pytest.raises(InvalidCredentials) as refused:
        await accounts.log_in_with_identity_provider()(_token(provider, clock))
    assert refused.value.fields["reason"] == "mfa_enabled"


async def test_a_bad_or_expired_token_is_refused(accounts, provider, clock, ana):
    token = _token(provider, clock)
    forged = IdentityProviderToken(provider="firebase", token="forged")
    with pytest.raises(InvalidCredentials):
        await accounts.log_in_with_identity_provider()(forged)
    clock.advance(hours=1)
    with pytest.raises(InvalidCredentials) as refused:
        await accounts.log_in_with_identity_provider()(token)
    assert refused.value.fields["reason"] == "expired"


async def test_an_unreachable_provider_is_its_own_error(accounts, provider, clock, ana):
    provider.available = False
    with pytest.raises(IdentityProviderUnavailable):
        await accounts.log_in_with_identity_provider()(_token(provider, clock))


async def test_a_provider_that_is_not_configured_is_not_found(accounts, provider, clock, ana):
    command = IdentityProviderToken(provider="auth0", token="x")
    with pytest.raises(NotFound):
        await accounts.log_in_with_identity_provider()(command)


async def test_firebase_is_off_unless_a_project_is_configured(container):
    assert container.identity_verifiers() == {}


async def test_an_invited_account_without_a_password_may_sign_in(
    accounts, provider, clock, installation
):
    invited = StaffUser(
        id="carla",
        clinic_id=installation.clinic.id,
        name="Carla",
        email="carla@clinica.com.br",
        role=Role.SECRETARY,
        created_at=clock.now(),
    )
    async with accounts.uow_factory()() as uow:
        await uow.staff.save(invited)
        await uow.commit()
    command = _token(provider, clock, email="carla@clinica.com.br")
    session = await accounts.log_in_with_identity_provider()(command)
    assert session.user.id == "carla"
    assert session.user.password_hash is None
