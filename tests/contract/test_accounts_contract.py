"""The accounts storage contract (staff users, refresh and account tokens): every adapter
behaves so."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from porfin_core.domain.clinic import Role
from porfin_core.domain.staff import AccountToken, RefreshToken, StaffUser, TokenPurpose
from porfin_core.errors import Conflict, NotFound
from porfin_core.use_cases._transaction import transact


def _user(
    at: datetime,
    user_id: str = "u1",
    clinic_id: str = "clinic1",
    email: str = "ana@clinica.com.br",
    role: Role = Role.ADMIN,
) -> StaffUser:
    return StaffUser(
        id=user_id,
        clinic_id=clinic_id,
        name=f"Pessoa {user_id}",
        email=email,
        role=role,
        created_at=at,
    )


def _token(
    at: datetime, token_id: str = "t1", family_id: str = "f1", user_id: str = "u1"
) -> RefreshToken:
    return RefreshToken(
        id=token_id,
        clinic_id="clinic1",
        user_id=user_id,
        family_id=family_id,
        token_hash=f"{token_id:0>64}",  # hex-like, as a SHA-256 in hex
        issued_at=at,
        expires_at=at + timedelta(days=30),
    )


async def _save(factory, *items) -> None:
    async with factory() as uow:
        for item in items:
            if isinstance(item, StaffUser):
                await uow.staff.save(item)
            elif isinstance(item, AccountToken):
                await uow.account_tokens.save(item)
            else:
                await uow.refresh_tokens.save(item)
        await uow.commit()


async def _second_process(backend):
    """Another unit-of-work factory on the same data (a second API process), when there can be
    one; the memory store lives in one process only."""
    if backend.reopen is None:
        return backend.uow_factory
    factory, _ = await backend.reopen()
    return factory


async def test_staff_users_round_trip_listed_oldest_first_and_found_by_email(backend, clock):
    now = clock.now()
    ana = _user(now + timedelta(minutes=5), "u1", email="Ana@Clinica.com.br")
    ana.password_hash = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"
    ana.login_failed(now)
    ana.locked_until = now + timedelta(minutes=15)
    bia = _user(now, "u2", email="bia@clinica.com.br", role=Role.SECRETARY)
    other = _user(now, "u3", clinic_id="clinic2", email="caio@outra.com.br")
    await _save(backend.uow_factory, ana, bia, other)

    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.staff.get("clinic1", "u1") == ana
        assert [u.id for u in await uow.staff.list("clinic1")] == ["u2", "u1"]
        assert await uow.staff.list("clinic2") == [other]
        assert await uow.staff.list("nope") == []
        assert await uow.staff.find_by_email("  ANA@clinica.COM.BR ") == ana
        assert await uow.staff.find_by_email("caio@outra.com.br") == other
        assert await uow.staff.find_by_email("nobody@clinica.com.br") is None
        assert await uow.staff.find_by_email("not an e-mail") is None
        with pytest.raises(NotFound):
            await uow.staff.get("clinic2", "u1")  # another clinic's user
        with pytest.raises(NotFound):
            await uow.staff.get("clinic1", "nope")

    if backend.reopen is not None:  # durable: still there after a restart
        factory, _ = await backend.reopen()
        async with factory(read_only=True) as uow:
            assert await uow.staff.find_by_email("ana@clinica.com.br") == ana
            assert [u.id for u in await uow.staff.list("clinic1")] == ["u2", "u1"]


async def test_an_e_mail_belongs_to_one_account(backend, clock):
    now = clock.now()
    await _save(backend.uow_factory, _user(now, "u1", email="ana@clinica.com.br"))
    with pytest.raises(Conflict):
        await _save(backend.uow_factory, _user(now, "u2", "clinic2", email="ANA@clinica.com.br"))
    with pytest.raises(Conflict):  # two new accounts with one e-mail in one unit of work
        await _save(
            backend.uow_factory,
            _user(now, "u3", email="bia@clinica.com.br"),
            _user(now, "u4", email="bia@clinica.com.br"),
        )

    async with backend.uow_factory() as uow:  # saving the owner again is no conflict
        ana = await uow.staff.get("clinic1", "u1")
        ana.name = "Ana Souza"
        ana.email = "ana.souza@clinica.com.br"
        await uow.staff.save(ana)
        await uow.commit()
    # The old address is free again.
    await _save(backend.uow_factory, _user(now, "u2", "clinic2", email="ana@clinica.com.br"))

    async with backend.uow_factory(read_only=True) as uow:
        renamed = await uow.staff.find_by_email("ana.souza@clinica.com.br")
        assert renamed is not None and (renamed.id, renamed.name) == ("u1", "Ana Souza")
        reused = await uow.staff.find_by_email("ana@clinica.com.br")
        assert reused is not None and reused.id == "u2"
        assert await uow.staff.find_by_email("bia@clinica.com.br") is None
        assert [u.id for u in await uow.staff.list("clinic1")] == ["u1"]


async def test_two_concurrent_creations_of_one_e_mail_make_one_account(backend, clock):
    factories = [backend.uow_factory, await _second_process(backend)]

    async def create(factory, user: StaffUser) -> str:
        async def work(uow) -> str:
            if await uow.staff.find_by_email(user.email) is not None:
                return "taken"
            await uow.staff.save(user)
            await uow.commit()
            return "created"

        return await transact(factory, work)

    users = [
        _user(clock.now(), "u1", "clinic1", email="ana@clinica.com.br"),
        _user(clock.now(), "u2", "clinic2", email="Ana@Clinica.com.br"),
    ]
    results = await asyncio.gather(*(create(f, u) for f, u in zip(factories, users, strict=True)))
    assert sorted(results) == ["created", "taken"]
    winner = users[results.index("created")]
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.staff.find_by_email("ana@clinica.com.br") == winner
        listed = await uow.staff.list("clinic1") + await uow.staff.list("clinic2")
        assert listed == [winner]


async def test_refresh_tokens_found_by_hash_and_family_oldest_first(backend, clock):
    now = clock.now()
    first, second = _token(now, "t1"), _token(now + timedelta(minutes=1), "t2")
    elsewhere = _token(now, "t3", family_id="f2")
    await _save(backend.uow_factory, second, elsewhere, first)

    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.refresh_tokens.find_by_hash(first.token_hash) == first
        assert await uow.refresh_tokens.find_by_hash("f" * 64) is None
        assert await uow.refresh_tokens.family("f1") == [first, second]
        assert await uow.refresh_tokens.family("f2") == [elsewhere]
        assert await uow.refresh_tokens.family("nope") == []
        assert await uow.refresh_tokens.for_user("clinic1", "u1") == [first, elsewhere, second]
        assert await uow.refresh_tokens.for_user("clinic2", "u1") == []
        assert await uow.refresh_tokens.for_user("clinic1", "nope") == []

    async with backend.uow_factory() as uow:  # rotation, then logout
        spent = await uow.refresh_tokens.find_by_hash(first.token_hash)
        assert spent is not None
        spent.replaced_by = "t2"
        spent.revoked_at = now + timedelta(minutes=2)
        await uow.refresh_tokens.save(spent)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.refresh_tokens.find_by_hash(first.token_hash) == spent
        assert [t.id for t in await uow.refresh_tokens.family("f1")] == ["t1", "t2"]

    with pytest.raises(Conflict):  # a hash identifies one token
        clash = _token(now, "t4")
        clash.token_hash = first.token_hash
        await _save(backend.uow_factory, clash)

    if backend.reopen is not None:  # durable: still there after a restart
        factory, _ = await backend.reopen()
        async with factory(read_only=True) as uow:
            assert await uow.refresh_tokens.find_by_hash(first.token_hash) == spent
            assert await uow.refresh_tokens.family("f1") == [spent, second]


async def test_a_refresh_token_is_spent_once_even_concurrently(backend, clock):
    now = clock.now()
    await _save(backend.uow_factory, _token(now, "t1"))
    factories = [backend.uow_factory, await _second_process(backend)]

    async def rotate(factory, new_id: str) -> str:
        async def work(uow) -> str:
            token = await uow.refresh_tokens.find_by_hash(_token(now, "t1").token_hash)
            if token is None or not token.usable(now):
                return "refused"
            token.replaced_by = new_id
            await uow.refresh_tokens.save(token)
            await uow.refresh_tokens.save(_token(now + timedelta(seconds=1), new_id))
            await uow.commit()
            return "rotated"

        return await transact(factory, work)

    results = await asyncio.gather(rotate(factories[0], "t2"), rotate(factories[1], "t3"))
    assert sorted(results) == ["refused", "rotated"]
    winner = "t2" if results[0] == "rotated" else "t3"
    async with backend.uow_factory(read_only=True) as uow:
        family = await uow.refresh_tokens.family("f1")
        assert [(t.id, t.replaced_by) for t in family] == [("t1", winner), (winner, None)]


def _account_token(
    at: datetime, token_id: str, user_id: str = "u1", clinic_id: str = "clinic1"
) -> AccountToken:
    return AccountToken(
        id=token_id,
        clinic_id=clinic_id,
        user_id=user_id,
        purpose=TokenPurpose.INVITATION,
        token_hash=f"{token_id:a>64}",
        issued_by="admin",
        issued_at=at,
        expires_at=at + timedelta(days=7),
    )


async def test_account_tokens_found_by_hash_and_by_user_oldest_first(backend, clock):
    now = clock.now()
    first = _account_token(now, "k1")
    second = _account_token(now + timedelta(minutes=1), "k2")
    second.purpose = TokenPurpose.PASSWORD_RESET
    other_user = _account_token(now, "k3", user_id="u2")
    other_clinic = _account_token(now, "k4", clinic_id="clinic2")
    await _save(backend.uow_factory, second, other_user, first, other_clinic)

    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.account_tokens.find_by_hash(first.token_hash) == first
        assert await uow.account_tokens.find_by_hash("f" * 64) is None
        assert await uow.account_tokens.for_user("clinic1", "u1") == [first, second]
        assert await uow.account_tokens.for_user("clinic1", "u2") == [other_user]
        assert await uow.account_tokens.for_user("clinic2", "u2") == []

    async with backend.uow_factory() as uow:  # used once
        token = await uow.account_tokens.find_by_hash(first.token_hash)
        assert token is not None and token.usable(now)
        token.used_at = now + timedelta(minutes=3)
        await uow.account_tokens.save(token)
        await uow.commit()

    with pytest.raises(Conflict):  # a hash identifies one token
        clash = _account_token(now, "k5")
        clash.token_hash = first.token_hash
        await _save(backend.uow_factory, clash)

    if backend.reopen is not None:  # durable: still there after a restart
        factory, _ = await backend.reopen()
        async with factory(read_only=True) as uow:
            found = await uow.account_tokens.find_by_hash(first.token_hash)
            assert found is not None and found.used_at == now + timedelta(minutes=3)
            assert not found.usable(now)


async def test_staff_users_keep_their_two_step_verification_state(backend, clock):
    now = clock.now()
    ana = _user(now)
    ana.totp_secret = "JBSWY3DPEHPK3PXP"
    ana.totp_last_step = 123
    ana.recovery_code_hashes = ["a" * 64, "b" * 64]
    await _save(backend.uow_factory, ana)
    async with backend.uow_factory(read_only=True) as uow:
        stored = await uow.staff.get("clinic1", "u1")
    assert stored == ana and stored.mfa_enabled
