"""``porfin``: the root command. Each noun lives in its own module; heavy imports wait until
a command runs, so ``porfin --help`` stays fast."""

from __future__ import annotations

import typer

from porfin_cli import (
    agenda,
    appointment_types,
    appointments,
    assistant,
    audit,
    backup,
    calendar,
    charges,
    chats,
    completion,
    customers,
    doctor,
    export,
    init,
    kb,
    pix,
    professionals,
    serve,
    simulate,
    users,
    whatsapp,
    worker,
)

app = typer.Typer(
    name="porfin",
    help="Porfin: a recepção da sua clínica no WhatsApp.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
app.command("init")(init.init)
app.command("doctor")(doctor.doctor)
app.command("serve")(serve.serve)
app.command("worker")(worker.worker)
app.command("simulate")(simulate.simulate)
app.command("agenda")(agenda.agenda)
app.add_typer(chats.app, name="chats")
app.add_typer(customers.app, name="customers")
app.add_typer(audit.app, name="audit")
app.add_typer(calendar.app, name="calendar")
app.add_typer(users.app, name="users")
app.add_typer(whatsapp.app, name="whatsapp")
app.add_typer(appointments.app, name="appointments")
app.add_typer(charges.app, name="charges")
app.add_typer(pix.app, name="pix")
app.add_typer(kb.app, name="kb")
app.add_typer(assistant.app, name="assistant")
app.add_typer(professionals.app, name="professionals")
app.add_typer(appointment_types.app, name="appointment-types")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.add_typer(export.app, name="export")
app.command("completion")(completion.completion)


def _add_plugin_commands() -> None:
    """Commands other packages add through the ``porfin.commands`` entry point (``porfin
    inbox``, from porfin_tui): loaded by name, so the shells stay independent."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="porfin.commands"):
        app.command(entry.name)(entry.load())


_add_plugin_commands()


def main() -> None:
    """Console-script entry point."""
    app()
