"""``porfin users``: staff accounts of the local installation."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import print_json, run_local, settings_for

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
        "created_at": user.created_at.isoformat(),
    }


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
                clinic_id=clinic_id, name=name, email=email, role=role, password=password or ""
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
        state = "" if user["active"] else " (desativada)"
        typer.echo(
            f"{user['id']}  {user['name']} <{user['email']}>  "
            f"{ROLE_PT.get(user['role'], user['role'])}{state}"
        )
