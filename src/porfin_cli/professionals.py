"""``porfin professionals``: who attends patients, and when."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, print_json, run_local, settings_for
from porfin_cli.scheduling import DAYS_PT, WEEKDAYS, professional_json, weekly_ranges

if TYPE_CHECKING:
    from porfin_adapters.container import Container

app = typer.Typer(help="Profissionais e seus horários.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]
KINDS = "dentista, medico, higienista, ortodontista, fisioterapeuta, psicologo, nutricionista, "
KINDS += "fonoaudiologo, esteticista ou outro"


def _days_text(days: list[int]) -> str:
    """``seg-sex``, ``seg,qua``, ``seg-qua,sab`` (days 0-6, sorted)."""
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ",".join(
        DAYS_PT[run[0]] if len(run) == 1 else f"{DAYS_PT[run[0]]}-{DAYS_PT[run[-1]]}"
        for run in runs
    )


def _hours_text(ranges: list[dict[str, str]]) -> str:
    """The weekly ranges as they are typed: ``seg-sex 08:00-12:00, sab 08:00-12:00``."""
    if not ranges:
        return "sem horário"
    by_time: dict[tuple[str, str], list[int]] = {}
    for r in ranges:
        by_time.setdefault((r["start"], r["end"]), []).append(WEEKDAYS.index(r["weekday"]))
    groups = sorted(by_time.items(), key=lambda item: (min(item[1]), item[0]))
    return ", ".join(f"{_days_text(sorted(days))} {a}-{b}" for (a, b), days in groups)


def _lines(professional: dict[str, Any]) -> list[str]:
    inactive = "" if professional["active"] else " (inativo)"
    lines = [f"{professional['id']}  {professional['name']} · {professional['kind']}{inactive}"]
    lines.append(f"    horário: {_hours_text(professional['hours'])}")
    if professional["breaks"]:
        lines.append(f"    intervalos: {_hours_text(professional['breaks'])}")
    return lines


@app.command("add")
def add_professional(
    name: Annotated[str, typer.Option("--name", help='Nome (ex.: "Dra. Ana Souza").')],
    kind: Annotated[str, typer.Option("--kind", help=KINDS + ".")] = "dentista",
    hours: Annotated[
        list[str] | None,
        typer.Option(
            "--hours", help='Horário semanal, repetível: "seg-sex 08:00-12:00", "sab 08:00-12:00".'
        ),
    ] = None,
    breaks: Annotated[
        list[str] | None,
        typer.Option("--break", help='Intervalo semanal, repetível: "seg-sex 12:00-13:00".'),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cadastra um profissional com o horário de atendimento."""
    settings = settings_for(data_dir)
    weekly, pauses = weekly_ranges(hours), weekly_ranges(breaks)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.create_professional import NewProfessional

        clinic_id = (await container.set_up_installation()()).clinic.id
        professional = await container.create_professional()(
            NewProfessional(
                clinic_id=clinic_id,
                name=name,
                kind=kind,
                hours=weekly,
                breaks=pauses,
                actor=cli_actor(),
            )
        )
        return professional_json(professional)

    professional = run_local(settings, work)
    if as_json:
        print_json(professional)
        return
    typer.echo(f"Profissional cadastrado: {professional['name']} ({professional['id']}).")
    for line in _lines(professional)[1:]:
        typer.echo(line.strip())


@app.command("list")
def list_professionals(
    inactive: Annotated[bool, typer.Option("--inativos", help="Incluir os inativos.")] = False,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Lista os profissionais e seus horários."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        clinic_id = (await container.set_up_installation()()).clinic.id
        found = await container.list_professionals()(clinic_id, include_inactive=inactive)
        return [professional_json(p) for p in found]

    professionals = run_local(settings, work)
    if as_json:
        print_json(professionals)
        return
    if not professionals:
        typer.echo("Nenhum profissional cadastrado.")
    for professional in professionals:
        for line in _lines(professional):
            typer.echo(line)
