"""``porfin appointments``: book, move, cancel and confirm patients' appointments."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, print_json, run_local, settings_for
from porfin_cli.scheduling import STATUS_PT, appointment_json, local_time, waitlist_json, when

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.scheduling import Appointment

app = typer.Typer(help="Consultas: marcar, remarcar, cancelar, confirmar.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]
AppointmentId = Annotated[str, typer.Argument(help="Id da consulta.")]
Start = Annotated[
    str,
    typer.Option(
        "--start", help="Início, ISO 8601 (ex.: 2026-12-01T09:00; sem fuso: o da clínica)."
    ),
]


async def _summary(container: Container, appointment: Appointment) -> str:
    """``quinta-feira, 26/11/2026 às 09:00 com Dra. Ana Souza (a confirmar)``."""
    clinic = (await container.set_up_installation()()).clinic
    people = await container.list_professionals()(clinic.id, include_inactive=True)
    names = {p.id: p.name for p in people}
    who = names.get(appointment.professional_id, appointment.professional_id)
    status = STATUS_PT.get(appointment.status.value, appointment.status.value)
    return f"{when(appointment.start, clinic.zone)} com {who} ({status})"


def _show(result: dict[str, Any], as_json: bool, headline: str) -> None:
    if as_json:
        print_json(result["json"])
        return
    typer.echo(f"{headline}: {result['summary']}.")
    typer.echo(f"Id: {result['id']}")
    offered = result.get("offered_to")
    if offered is not None:
        typer.echo(
            f"O horário foi oferecido ao primeiro da lista de espera (paciente "
            f"{offered['customer_id']}, entrada {offered['id']})."
        )


@app.command("book")
def book(
    customer: Annotated[str, typer.Option("--customer", help="Id do paciente.")],
    type_id: Annotated[str, typer.Option("--type", help="Id do tipo de consulta.")],
    start: Start,
    professional: Annotated[
        str | None,
        typer.Option("--professional", help="Id do profissional; sem ele, o primeiro livre."),
    ] = None,
    notes: Annotated[str, typer.Option("--notes", help="Observações para a equipe.")] = "",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Marca uma consulta (a confirmar) num horário livre."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.book_with_any_professional import BookingRequest

        clinic = (await container.set_up_installation()()).clinic
        appointment = await container.book_with_any_professional()(
            BookingRequest(
                clinic_id=clinic.id,
                customer_id=customer,
                type_id=type_id,
                start=local_time(start, clinic.zone),
                professional_id=professional,
                notes=notes,
                actor=cli_actor(),
            )
        )
        return {
            "id": appointment.id,
            "json": appointment_json(appointment),
            "summary": await _summary(container, appointment),
        }

    _show(run_local(settings, work), as_json, "Consulta marcada")


@app.command("reschedule")
def reschedule(
    appointment_id: AppointmentId,
    start: Start,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Remarca a consulta para outro horário com o mesmo profissional (volta a "a
    confirmar"); o horário antigo é oferecido à lista de espera."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.reschedule_appointment import NewTime

        clinic = (await container.set_up_installation()()).clinic
        moved = await container.reschedule_appointment()(
            NewTime(
                clinic_id=clinic.id,
                appointment_id=appointment_id,
                start=local_time(start, clinic.zone),
                actor=cli_actor(),
            )
        )
        offered = waitlist_json(moved.offered_to)
        return {
            "id": moved.appointment.id,
            "json": {"appointment": appointment_json(moved.appointment), "offered_to": offered},
            "summary": await _summary(container, moved.appointment),
            "offered_to": offered,
        }

    _show(run_local(settings, work), as_json, "Consulta remarcada")


@app.command("cancel")
def cancel(
    appointment_id: AppointmentId,
    reason: Annotated[str, typer.Option("--reason", help="Motivo do cancelamento.")] = "",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cancela a consulta; o horário fica livre e é oferecido ao primeiro da lista de
    espera."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.cancel_appointment import Cancellation

        clinic = (await container.set_up_installation()()).clinic
        cancelled = await container.cancel_appointment()(
            Cancellation(
                clinic_id=clinic.id,
                appointment_id=appointment_id,
                reason=reason,
                actor=cli_actor(),
            )
        )
        offered = waitlist_json(cancelled.offered_to)
        return {
            "id": cancelled.appointment.id,
            "json": {
                "appointment": appointment_json(cancelled.appointment),
                "offered_to": offered,
            },
            "summary": await _summary(container, cancelled.appointment),
            "offered_to": offered,
        }

    _show(run_local(settings, work), as_json, "Consulta cancelada")


@app.command("confirm")
def confirm(appointment_id: AppointmentId, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Confirma a consulta (o paciente vem)."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.confirm_appointment import Confirmation

        clinic = (await container.set_up_installation()()).clinic
        appointment = await container.confirm_appointment()(
            Confirmation(clinic_id=clinic.id, appointment_id=appointment_id, actor=cli_actor())
        )
        return {
            "id": appointment.id,
            "json": appointment_json(appointment),
            "summary": await _summary(container, appointment),
        }

    _show(run_local(settings, work), as_json, "Consulta confirmada")
