"""Living documentation: how the team gets in (invitations, lockout, two-step verification)."""

from __future__ import annotations

from types import SimpleNamespace

import pyotp
import pytest
from dependency_injector import providers
from pytest_bdd import given, parsers, scenarios, then, when
from tests.e2e.conftest import FAST_HASHER

from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.errors import (
    AccountLocked,
    InvalidCredentials,
    InvalidStateTransition,
    MfaRequired,
)
from porfin_core.use_cases.accept_invitation import TokenRedemption
from porfin_core.use_cases.confirm_mfa_enrolment import MfaConfirmation
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_core.use_cases.invite_staff_user import Invitation
from porfin_core.use_cases.log_in import Credentials
from porfin_core.use_cases.update_staff_user import StaffUserChange

scenarios("acesso_da_equipe.feature")

REFUSALS = {
    "credenciais inválidas": InvalidCredentials,
    "conta bloqueada": AccountLocked,
}


@pytest.fixture(autouse=True)
def fast_passwords(clinica):
    clinica.container.password_hasher.override(providers.Object(FAST_HASHER))


@pytest.fixture
def equipe():
    """What the scenario learnt about the team: passwords, invitation tokens, the app, a code."""
    return SimpleNamespace(passwords={}, invitations={}, totp=None, code=None, session=None)


def _actor(clinica, name: str) -> Actor:
    return Actor(id=clinica.staff_id(name), kind=ActorKind.USER, source="203.0.113.7")


def _login(clinica, email: str, password: str, otp: str | None = None):
    return clinica.attempt(
        clinica.container.log_in()(Credentials(email=email, password=password, otp=otp))
    )


@given(parsers.re(r'que a administradora (?P<nome>\w+) tem conta com a senha "(?P<senha>[^"]+)"'))
def administradora(clinica, equipe, nome, senha):
    user = clinica.run(
        clinica.container.create_staff_user()(
            NewStaffUser(
                clinic_id=clinica.clinic_id,
                name=nome,
                email=f"{nome.lower()}@clinica.com.br",
                role="admin",
                password=senha,
            )
        )
    )
    clinica.staff[nome] = user.id
    equipe.passwords[nome] = senha


@when(parsers.re(r"(?P<admin>\w+) convida a secretária (?P<nome>\w+) \((?P<email>[^)]+)\)"))
def convida(clinica, equipe, admin, nome, email):
    issued = clinica.run(
        clinica.container.invite_staff_user()(
            Invitation(
                clinic_id=clinica.clinic_id,
                name=nome,
                email=email,
                role="secretary",
                actor=_actor(clinica, admin),
            )
        )
    )
    clinica.staff[nome] = issued.user.id
    equipe.invitations[nome] = issued.token


@when(parsers.re(r'(?P<nome>\w+) aceita o convite com a senha "(?P<senha>[^"]+)"'))
def aceita(clinica, equipe, nome, senha):
    redemption = TokenRedemption(token=equipe.invitations[nome], password=senha)
    clinica.attempt(clinica.container.accept_invitation()(redemption))


@given(
    parsers.re(
        r"que (?P<admin>\w+) convidou a secretária (?P<nome>\w+) \((?P<email>[^)]+)\)"
        r' e ela escolheu a senha "(?P<senha>[^"]+)"'
    )
)
def convidada(clinica, equipe, admin, nome, email, senha):
    convida(clinica, equipe, admin, nome, email)
    aceita(clinica, equipe, nome, senha)
    assert clinica.error is None


@when(parsers.re(r"passam (?P<dias>\d+) dias"))
def passam_dias(clinica, dias):
    clinica.clock.advance(days=int(dias))


@when(parsers.re(r"passam (?P<minutos>\d+) minutos"))
def passam_minutos(clinica, minutos):
    clinica.clock.advance(minutes=int(minutos))


@when(parsers.re(r"(?P<admin>\w+) desativa a conta de (?P<nome>\w+)"))
def desativa(clinica, admin, nome):
    change = StaffUserChange(
        clinic_id=clinica.clinic_id,
        user_id=clinica.staff_id(nome),
        actor=_actor(clinica, admin),
        active=False,
    )
    clinica.attempt(clinica.container.update_staff_user()(change))


@when(parsers.re(r"(?P<nome>\w+) tenta desativar a própria conta"))
def desativa_a_propria(clinica, nome):
    desativa(clinica, nome, nome)


@when(parsers.re(r'(?P<nome>\w+) tenta entrar com (?P<email>\S+) e a senha "(?P<senha>[^"]+)"'))
def tenta_entrar(clinica, equipe, nome, email, senha):
    equipe.session = _login(clinica, email, senha)


@when(parsers.re(r"(?P<nome>\w+) erra a senha (?P<vezes>\d+) vezes em um minuto"))
def erra_a_senha(clinica, nome, vezes):
    for _ in range(int(vezes)):
        _login(clinica, f"{nome.lower()}@clinica.com.br", "senha errada 000")
        clinica.clock.advance(seconds=5)


@then(parsers.re(r'(?P<nome>\w+) entra com (?P<email>\S+) e a senha "(?P<senha>[^"]+)"'))
def entra(clinica, nome, email, senha):
    session = _login(clinica, email, senha)
    assert clinica.error is None, clinica.error
    assert session is not None and session.user.id == clinica.staff_id(nome)


@then(parsers.re(r"o convite de (?P<nome>\w+) não serve mais"))
def convite_gasto(clinica, equipe, nome):
    aceita(clinica, equipe, nome, "outra senha qualquer")
    assert isinstance(clinica.error, InvalidCredentials)


@then(parsers.re(r'o acesso é recusado com "(?P<motivo>[^"]+)"'))
def recusado(clinica, motivo):
    assert isinstance(clinica.error, REFUSALS[motivo]), clinica.error


@then("o pedido é recusado porque a clínica precisa de uma administradora")
def precisa_de_admin(clinica):
    assert isinstance(clinica.error, InvalidStateTransition)
    assert "admin" in clinica.error.message


@then(parsers.re(r"o registro de auditoria mostra o bloqueio da conta de (?P<nome>\w+)"))
def bloqueio_auditado(clinica, nome):
    async def read():
        async with clinica.container.uow_factory()(read_only=True) as uow:
            return [r async for r in uow.audit.iterate(clinica.clinic_id)]

    lockouts = [r for r in clinica.run(read()) if r.action == "auth.lockout"]
    assert [r.resource_id for r in lockouts] == [clinica.staff_id(nome)]


@given(parsers.re(r"que (?P<nome>\w+) ligou a verificação em duas etapas"))
def ligou_duas_etapas(clinica, equipe, nome):
    user_id, actor = clinica.staff_id(nome), _actor(clinica, nome)
    enrolment = clinica.run(
        clinica.container.start_mfa_enrolment()(clinica.clinic_id, user_id, actor)
    )
    equipe.totp = pyotp.TOTP(enrolment.secret)
    confirmation = MfaConfirmation(
        clinic_id=clinica.clinic_id,
        user_id=user_id,
        code=equipe.totp.at(clinica.clock.now()),
        actor=actor,
    )
    clinica.run(clinica.container.confirm_mfa_enrolment()(confirmation))
    clinica.clock.advance(seconds=30)  # the confirmation spent the current code


@then("o acesso pede o código do aplicativo")
def pede_codigo(clinica):
    assert isinstance(clinica.error, MfaRequired)


@when(parsers.re(r"(?P<nome>\w+) entra com a senha e o código do aplicativo"))
def entra_com_codigo(clinica, equipe, nome):
    equipe.code = equipe.totp.at(clinica.clock.now())
    email = f"{nome.lower()}@clinica.com.br"
    equipe.session = _login(clinica, email, equipe.passwords[nome], equipe.code)


@then(parsers.re(r"(?P<nome>\w+) está dentro"))
def esta_dentro(clinica, equipe, nome):
    assert clinica.error is None, clinica.error
    assert equipe.session.user.id == clinica.staff_id(nome)


@then("o mesmo código não serve de novo")
def codigo_gasto(clinica, equipe):
    [nome] = equipe.passwords
    _login(clinica, f"{nome.lower()}@clinica.com.br", equipe.passwords[nome], equipe.code)
    assert isinstance(clinica.error, InvalidCredentials)
