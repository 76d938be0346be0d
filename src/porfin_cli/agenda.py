"""``porfin agenda``: a day of the clinic's agenda, one column per professional."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import fail, print_json, run_local, settings_for
from porfin_cli.scheduling import STATUS_PT, WEEKDAY_NAMES_PT

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.use_cases.get_agenda import Agenda


def _agenda_json(agenda: Agenda) -> dict[str, Any]:
    """The day with the same fields as the API's ``AgendaOut`` (times in the clinic's
    offset)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(agenda.timezone)
    return {
        "date": agenda.day.isoformat(),
        "timezone": agenda.timezone,
        "professionals": [
            {
                "professional_id": column.professional.id,
                "professional_name": column.professional.name,
                "kind": column.professional.kind.value,
                "active": column.professional.active,
                "appointments": [
                    {
                        "id": e.appointment.id,
                        "start": e.appointment.start.astimezone(zone).isoformat(),
                        "end": e.appointment.end.astimezone(zone).isoformat(),
                        "status": e.appointment.status.value,
                        "customer_id": e.appointment.customer_id,
                        "customer_name": e.customer_name,
                        "type_id": e.appointment.type_id,
                        "type_name": e.type_name,
                        "source": e.appointment.source.value,
                        "chat_id": e.appointment.chat_id,
                    }
                    for e in column.entries
                ],
            }
            for column in agenda.columns
        ],
    }


def _lines(day: dict[str, Any]) -> list[str]:
    when = date.fromisoformat(day["date"])
    lines = [f"Agenda de {WEEKDAY_NAMES_PT[when.weekday()]}, {when:%d/%m/%Y}"]
    if not day["professionals"]:
        lines += ["", "Nenhum profissional cadastrado."]
    for column in day["professionals"]:
        lines += ["", f"{column['professional_name']} ({column['kind']})"]
        if not column["appointments"]:
            lines.append("  sem consultas")
        for item in column["appointments"]:
            status = STATUS_PT.get(item["status"], item["status"])
            lines.append(
                f"  {item['start'][11:16]}–{item['end'][11:16]}  {item['customer_name'] or '?'}"
                f" · {item['type_name'] or '?'} · {status}  [{item['id']}]"
            )
    return lines


def agenda(
    day: Annotated[
        str | None, typer.Option("--date", help="Dia, AAAA-MM-DD (padrão: hoje na clínica).")
    ] = None,
    professional: Annotated[
        str | None, typer.Option("--professional", help="Só este profissional (id).")
    ] = None,
    cancelled: Annotated[
        bool, typer.Option("--canceladas/--sem-canceladas", help="Mostrar as canceladas.")
    ] = True,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Mostra a agenda de um dia: horários, paciente, tipo e situação de cada consulta, por
    profissional."""
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        fail(f"data inválida: {day!r} (use AAAA-MM-DD)")
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.get_agenda import AgendaQuery

        clinic_id = (await container.set_up_installation()()).clinic.id
        found = await container.get_agenda()(
            AgendaQuery(
                clinic_id=clinic_id,
                day=chosen,
                professional_id=professional,
                include_cancelled=cancelled,
            )
        )
        return _agenda_json(found)

    result = run_local(settings, work)
    if as_json:
        print_json(result)
        return
    for line in _lines(result):
        typer.echo(line)
