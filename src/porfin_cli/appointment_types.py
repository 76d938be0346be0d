"""``porfin appointment-types``: what patients can book, how long it takes, what it costs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, print_json, run_local, settings_for
from porfin_cli.scheduling import cents, money, type_json

if TYPE_CHECKING:
    from porfin_adapters.container import Container

app = typer.Typer(help="Tipos de consulta: duração, preço, quem atende.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]


def _line(kind: dict[str, Any]) -> str:
    extras = []
    if kind["buffer_before_minutes"]:
        extras.append(f"preparo {kind['buffer_before_minutes']} min")
    if kind["buffer_after_minutes"]:
        extras.append(f"limpeza {kind['buffer_after_minutes']} min")
    if not kind["active"]:
        extras.append("inativo")
    detail = f" ({', '.join(extras)})" if extras else ""
    return (
        f"{kind['id']}  {kind['name']} · {kind['duration_minutes']} min · "
        f"{money(kind['price_cents'])}{detail}"
    )


@app.command("add")
def add_type(
    name: Annotated[str, typer.Option("--name", help='Nome (ex.: "Limpeza").')],
    duration: Annotated[int, typer.Option("--duration", help="Duração em minutos (5-720).")],
    price: Annotated[str, typer.Option("--price", help="Preço em reais (ex.: 150,00).")] = "0",
    before: Annotated[
        int, typer.Option("--buffer-before", help="Minutos livres antes (preparo).")
    ] = 0,
    after: Annotated[
        int, typer.Option("--buffer-after", help="Minutos livres depois (limpeza).")
    ] = 0,
    professionals: Annotated[
        list[str] | None,
        typer.Option("--professional", help="Id de quem atende, repetível; sem ele, todos."),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cadastra um tipo de consulta."""
    settings = settings_for(data_dir)
    price_cents = cents(price)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.create_appointment_type import NewAppointmentType

        clinic_id = (await container.set_up_installation()()).clinic.id
        kind = await container.create_appointment_type()(
            NewAppointmentType(
                clinic_id=clinic_id,
                name=name,
                duration_minutes=duration,
                price_cents=price_cents,
                buffer_before_minutes=before,
                buffer_after_minutes=after,
                professional_ids=professionals or (),
                actor=cli_actor(),
            )
        )
        return type_json(kind)

    kind = run_local(settings, work)
    if as_json:
        print_json(kind)
        return
    typer.echo(f"Tipo de consulta cadastrado: {_line(kind)}")


@app.command("list")
def list_types(
    inactive: Annotated[bool, typer.Option("--inativos", help="Incluir os inativos.")] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Lista os tipos de consulta."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        clinic_id = (await container.set_up_installation()()).clinic.id
        found = await container.list_appointment_types()(clinic_id, include_inactive=inactive)
        return [type_json(t) for t in found]

    kinds = run_local(settings, work)
    if as_json:
        print_json(kinds)
        return
    if not kinds:
        typer.echo("Nenhum tipo de consulta cadastrado.")
    for kind in kinds:
        typer.echo(_line(kind))
