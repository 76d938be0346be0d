"""``porfin users``: staff accounts of the local installation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container

app = typer.Typer(help="Contas da equipe.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
ROLE_PT = {"admin": "administrador(a)", "manager": "gerente", "secretary": "secretária(o)"}


def _user_json(user: Any) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "active": user.active,
        "status": user.status.value,
        "mfa_enabled": user.mfa_enabled,
        "created_at": user.created_at.isoformat(),
    }


STATUS_PT = {"invited": " (convite pendente)", "active": "", "disabled": " (desativada)"}
Email = Annotated[str, typer.Argument(help="E-mail da conta.")]
AsJson = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]


async def _find(container: Container, email: str) -> Any:
    """The local installation's account with this e-mail (NotFound otherwise)."""
    from porfin_core.errors import NotFound

    clinic_id = (await container.set_up_installation()()).clinic.id
    async with container.uow_factory()(read_only=True) as uow:
        user = await uow.staff.find_by_email(email)
    if user is None or user.clinic_id != clinic_id:
        raise NotFound(f"nenhuma conta com o e-mail {email}")
    return user


@app.command("add")
def add_user(
    email: Annotated[str, typer.Option("--email", help="E-mail de acesso.")],
    name: Annotated[str, typer.Option("--name", help="Nome.")],
    role: Annotated[str, typer.Option("--role", help="admin, manager ou secretary.")],
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="PORFIN_NEW_PASSWORD",
            help="Senha (mín. 10 caracteres); sem ela, é pedida no terminal.",
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Cria uma conta da equipe com senha."""
    if password is None:
        password = typer.prompt("Senha", hide_input=True, confirmation_prompt=True)
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.create_staff_user import NewStaffUser

        clinic_id = (await container.set_up_installation()()).clinic.id
        user = await container.create_staff_user()(
            NewStaffUser(
                clinic_id=clinic_id,
                name=name,
                email=email,
                role=role,
                password=password or "",
                actor=cli_actor(),
            )
        )
        return _user_json(user)

    created = run_local(settings, work)
    if as_json:
        print_json(created)
    else:
        typer.echo(
            f"Conta criada: {created['name']} <{created['email']}>, "
            f"{ROLE_PT.get(created['role'], created['role'])} ({created['id']})"
        )


@app.command("list")
def list_users(
    data_dir: DataDir = None,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Lista as contas da equipe."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        clinic_id = (await container.set_up_installation()()).clinic.id
        async with container.uow_factory()(read_only=True) as uow:
            return [_user_json(u) for u in await uow.staff.list(clinic_id)]

    users = run_local(settings, work)
    if as_json:
        print_json(users)
        return
    if not users:
        typer.echo("Nenhuma conta. Crie uma com: porfin users add")
        return
    for user in users:
        state = STATUS_PT[user["status"]] + (" [2 etapas]" if user["mfa_enabled"] else "")
        typer.echo(
            f"{user['id']}  {user['name']} <{user['email']}>  "
            f"{ROLE_PT.get(user['role'], user['role'])}{state}"
        )


@app.command("invite")
def invite_user(
    email: Annotated[str, typer.Option("--email", help="E-mail de acesso.")],
    name: Annotated[str, typer.Option("--name", help="Nome.")],
    role: Annotated[str, typer.Option("--role", help="admin, manager ou secretary.")],
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """Convida uma pessoa: a conta fica pendente até ela escolher a senha com o código."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.invite_staff_user import Invitation

        clinic_id = (await container.set_up_installation()()).clinic.id
        issued = await container.invite_staff_user()(
            Invitation(clinic_id=clinic_id, name=name, email=email, role=role, actor=cli_actor())
        )
        return {
            "user": _user_json(issued.user),
            "token": issued.token,
            "expires_at": issued.expires_at.isoformat(),
        }

    invited = run_local(settings, work)
    if as_json:
        print_json(invited)
        return
    typer.echo(
        f"Convite criado para {invited['user']['name']} <{invited['user']['email']}>, "
        f"válido até {invited['expires_at']}.\n"
        f"Código do convite (mostrado só agora): {invited['token']}\n"
        "A pessoa escolhe a senha em POST /api/v1/auth/invitations/accept."
    )


def _set_active(email: str, active: bool, data_dir: Path | None, as_json: bool) -> None:
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.update_staff_user import StaffUserChange

        user = await _find(container, email)
        change = StaffUserChange(
            clinic_id=user.clinic_id, user_id=user.id, actor=cli_actor(), active=active
        )
        return _user_json(await container.update_staff_user()(change))

    user = run_local(settings, work)
    if as_json:
        print_json(user)
    else:
        done = "reativada" if active else "desativada (sessões encerradas)"
        typer.echo(f"Conta {done}: {user['name']} <{user['email']}>")


@app.command("disable")
def disable_user(email: Email, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Desativa uma conta: ela não entra mais e suas sessões terminam; o histórico fica."""
    _set_active(email, False, data_dir, as_json)


@app.command("enable")
def enable_user(email: Email, data_dir: DataDir = None, as_json: AsJson = False) -> None:
    """Reativa uma conta desativada."""
    _set_active(email, True, data_dir, as_json)


@app.command("reset-password")
def reset_password(
    email: Email,
    password: Annotated[
        str | None,
        typer.Option(
            "--password",
            envvar="PORFIN_NEW_PASSWORD",
            help="Nova senha (mín. 10 caracteres); sem ela, é pedida no terminal.",
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Define uma nova senha: encerra as sessões da conta e desfaz um bloqueio."""
    if password is None:
        password = typer.prompt("Nova senha", hide_input=True, confirmation_prompt=True)
    settings = settings_for(data_dir)

    async def work(container: Container) -> str:
        from porfin_core.domain.audit import Origin
        from porfin_core.use_cases.accept_invitation import TokenRedemption
        from porfin_core.use_cases.issue_password_reset import PasswordResetRequest

        user = await _find(container, email)
        issued = await container.issue_password_reset()(
            PasswordResetRequest(clinic_id=user.clinic_id, user_id=user.id, actor=cli_actor())
        )
        redemption = TokenRedemption(
            token=issued.token, password=password or "", origin=Origin(source="cli")
        )
        await container.reset_password()(redemption)
        return str(user.email)

    typer.echo(f"Senha redefinida: {run_local(settings, work)}")


@app.command("mfa-off")
def turn_off_mfa(email: Email, data_dir: DataDir = None) -> None:
    """Desliga a verificação em duas etapas de quem perdeu o celular e os códigos."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> str:
        from porfin_core.use_cases.turn_off_mfa import MfaRemoval

        user = await _find(container, email)
        await container.turn_off_mfa()(
            MfaRemoval(clinic_id=user.clinic_id, user_id=user.id, actor=cli_actor())
        )
        return str(user.email)

    typer.echo(f"Verificação em duas etapas desligada: {run_local(settings, work)}")
