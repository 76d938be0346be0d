"""``porfin calendar``: connect professionals' Google Calendars and give out private calendar
feeds (ICS)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.calendar import CalendarConnection
    from porfin_core.domain.scheduling import Professional

app = typer.Typer(
    help="Agenda do Google e link privado de agenda (ICS) dos profissionais.",
    no_args_is_help=True,
)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]
ProfessionalArg = Annotated[
    str, typer.Argument(help="O profissional: id, ou o nome (ou parte dele, sem acentos).")
]


def _fold(text: str) -> str:
    import unicodedata

    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


async def _clinic_and_professional(container: Container, which: str) -> Professional:
    """The installation clinic's professional named by id or (part of) name; exits when none
    or several match."""
    clinic_id = (await container.set_up_installation()()).clinic.id
    professionals = await container.list_professionals()(clinic_id, include_inactive=True)
    for professional in professionals:
        if professional.id == which:
            return professional
    wanted = _fold(which)
    found = [p for p in professionals if wanted and wanted in _fold(p.name)]
    if not found:
        fail(f"profissional não encontrado: {which!r} (veja `porfin professionals list`)")
    if len(found) > 1:
        names = ", ".join(f"{p.name} ({p.id})" for p in found)
        fail(f"mais de um profissional corresponde a {which!r}: {names}; use o id")
    return found[0]


def _connection_json(connection: CalendarConnection, name: str | None) -> dict[str, Any]:
    return {
        "professional_id": connection.professional_id,
        "professional_name": name,
        "connection_id": connection.id,
        "provider": "google",
        "calendar_id": connection.calendar_id,
        "status": connection.status.value,
        "scopes": list(connection.scopes),
        "connected_at": connection.connected_at.isoformat(),
        "last_synced_at": connection.last_synced_at.isoformat()
        if connection.last_synced_at
        else None,
        "full_synced_at": connection.full_synced_at.isoformat()
        if connection.full_synced_at
        else None,
        "revoked_at": connection.revoked_at.isoformat() if connection.revoked_at else None,
        "last_error": connection.last_error,
    }


@app.command("connect")
def connect(professional: ProfessionalArg, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Mostra o link para o profissional conectar a agenda do Google.

    O profissional abre o link no navegador, entra na conta Google e aceita; o Google volta
    para o Porfin (o servidor precisa estar no ar, no endereço de `public_url`), que guarda a
    conexão. O link vale 15 minutos. Conectar de novo substitui a conexão anterior.
    """
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.start_calendar_connection import ConnectionRequest

        chosen = await _clinic_and_professional(container, professional)
        consent = await container.start_calendar_connection()(
            ConnectionRequest(clinic_id=chosen.clinic_id, professional_id=chosen.id)
        )
        return {
            "professional_id": chosen.id,
            "professional_name": chosen.name,
            "url": consent.url,
            "expires_at": consent.expires_at.isoformat(),
            "redirect_uri": settings.calendar_redirect_uri,
        }

    found = run_local(settings, work)
    if as_json:
        print_json(found)
        return
    typer.echo(f"Conectar a agenda do Google de {found['professional_name']}:")
    typer.echo("")
    typer.echo(found["url"])
    typer.echo("")
    typer.echo(
        "Abra este link no navegador do profissional e aceite o acesso. O link vale 15 minutos;"
    )
    typer.echo(f"o Google voltará para {found['redirect_uri']}.")


@app.command("status")
def status(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Lista as agendas conectadas: situação, última sincronização e último erro."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        clinic_id = (await container.set_up_installation()()).clinic.id
        names = {
            p.id: p.name
            for p in await container.list_professionals()(clinic_id, include_inactive=True)
        }
        connections = await container.list_calendar_connections()(clinic_id)
        return [_connection_json(c, names.get(c.professional_id)) for c in connections]

    found = run_local(settings, work)
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("Nenhuma agenda conectada. Use `porfin calendar connect PROFISSIONAL`.")
        return
    for item in found:
        state = "ativa" if item["status"] == "active" else "ACESSO RETIRADO: conecte de novo"
        synced = item["last_synced_at"] or "nunca"
        typer.echo(
            f"{item['professional_name'] or item['professional_id']}: {state}"
            f" · última sincronização: {synced}"
        )
        if item["last_error"]:
            typer.echo(f"    último erro: {item['last_error']}")


@app.command("disconnect")
def disconnect(professional: ProfessionalArg, data_dir: DataDir = None) -> None:
    """Desconecta a agenda do Google do profissional (os eventos já criados ficam nela)."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> str:
        from porfin_core.use_cases.disconnect_calendar import Disconnection

        chosen = await _clinic_and_professional(container, professional)
        await container.disconnect_calendar()(
            Disconnection(clinic_id=chosen.clinic_id, professional_id=chosen.id, actor=cli_actor())
        )
        return chosen.name

    name = run_local(settings, work)
    typer.echo(f"Agenda de {name} desconectada.")


@app.command("feed-token")
def feed_token(
    professional: ProfessionalArg, data_dir: DataDir = None, as_json: Json = False
) -> None:
    """Cria um novo link privado da agenda do profissional (ICS) e mostra o link.

    Assine o link em qualquer aplicativo de agenda (Google Agenda, Outlook, Apple). O link
    anterior deixa de funcionar. Guarde-o como uma senha: quem tem o link vê as consultas
    (tipo e primeiro nome do paciente).
    """
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_adapters.ics import feed_url
        from porfin_core.use_cases.rotate_calendar_feed_token import FeedTokenRequest

        chosen = await _clinic_and_professional(container, professional)
        made = await container.rotate_calendar_feed_token()(
            FeedTokenRequest(
                clinic_id=chosen.clinic_id, professional_id=chosen.id, actor=cli_actor()
            )
        )
        return {
            "professional_id": chosen.id,
            "professional_name": chosen.name,
            "token": made.token,
            "url": feed_url(settings.base_url, chosen.id, made.token),
            "created_at": made.feed.created_at.isoformat(),
        }

    found = run_local(settings, work)
    if as_json:
        print_json(found)
        return
    typer.echo(
        f"Link privado da agenda de {found['professional_name']} (o anterior foi desativado):"
    )
    typer.echo("")
    typer.echo(found["url"])
