"""``porfin whatsapp``: pairing Evolution (Baileys) numbers and watching their connection."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.channel import Channel

app = typer.Typer(help="Números de WhatsApp: conexão e estado.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]

STATES_PT = {
    "open": "conectado",
    "connecting": "conectando",
    "close": "desconectado",
    "refused": "recusado (limite de QR codes)",
}


async def _channel(container: Container, ref: str) -> Channel:
    from porfin_core.domain.channel import Provider

    clinic_id = (await container.set_up_installation()()).clinic.id
    for channel in await container.list_channels()(clinic_id, include_archived=False):
        if ref in (channel.id, channel.name):
            if channel.provider is not Provider.EVOLUTION:
                fail(f"o canal {channel.name!r} não é Evolution (Baileys); nada a conectar")
            return channel
    fail(f"canal não encontrado: {ref}")


def _render_qr(code: str) -> None:
    import io

    import segno

    out = io.StringIO()
    segno.make(code, error="l").terminal(out=out, compact=True, border=2)
    typer.echo(out.getvalue())


@app.command("connect")
def connect(
    channel: Annotated[str, typer.Argument(help="Id ou nome do canal Evolution.")],
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="Segundos de espera pela conexão.")
    ] = 120.0,
    interval: Annotated[
        float, typer.Option("--intervalo", min=0.05, help="Segundos entre consultas.")
    ] = 2.0,
    pairing: Annotated[
        bool,
        typer.Option("--codigo", help="Pedir também um código de pareamento para o número."),
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Mostra o QR code do número e espera o celular conectar."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> str:
        from porfin_core.use_cases.record_channel_connection import ConnectionReport

        found = await _channel(container, channel)
        client = await container.evolution_gateway().client_for(found)
        instance = found.external_ids["instance"]
        try:
            number = "".join(c for c in (found.phone or "") if c.isdigit()) if pairing else None
            qr = await client.connect(instance, number=number or None)
            if qr.state == "open":
                typer.echo(f"O número do canal {found.name!r} já está conectado.")
                return "open"
            if qr.code:
                typer.echo("Abra o WhatsApp no celular > Aparelhos conectados > Conectar e leia:")
                _render_qr(qr.code)
            if qr.pairing_code:
                typer.echo(f"Código de pareamento: {qr.pairing_code}")
            deadline = time.monotonic() + timeout
            state = "connecting"
            typer.echo("Aguardando a conexão", nl=False)
            while time.monotonic() < deadline:
                state = await client.connection_state(instance)
                if state == "open":
                    break
                typer.echo(".", nl=False)
                await asyncio.sleep(interval)
            typer.echo("")
        finally:
            await client.aclose()
        await container.record_channel_connection()(
            ConnectionReport(channel_id=found.id, at=container.clock().now(), state=state)
        )
        return state

    state = run_local(settings, work)
    if state != "open":
        fail(f"tempo esgotado esperando a conexão (estado: {STATES_PT.get(state, state)})")
    typer.echo("Conectado! O número já recebe e envia mensagens pelo Porfin.")


@app.command("status")
def status(
    channel: Annotated[str | None, typer.Argument(help="Id ou nome do canal.")] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Estado da conexão de cada número Evolution (consultado no servidor Evolution)."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        from porfin_core.domain.channel import Provider
        from porfin_core.errors import GatewayError

        if channel is not None:
            channels = [await _channel(container, channel)]
        else:
            clinic_id = (await container.set_up_installation()()).clinic.id
            channels = [
                c
                for c in await container.list_channels()(clinic_id, include_archived=False)
                if c.provider is Provider.EVOLUTION
            ]
        rows = []
        for found in channels:
            known = found.connection
            row: dict[str, Any] = {
                "id": found.id,
                "name": found.name,
                "active": found.active,
                "state": known.state if known else None,
                "reason": known.reason if known else None,
                "since": known.since.isoformat() if known else None,
                "error": None,
            }
            try:
                client = await container.evolution_gateway().client_for(found)
                try:
                    row["state"] = await client.connection_state(found.external_ids["instance"])
                finally:
                    await client.aclose()
            except GatewayError as exc:
                row["error"] = exc.message
            rows.append(row)
        return rows

    rows = run_local(settings, work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("Nenhum número Evolution configurado.")
        return
    for row in rows:
        state = STATES_PT.get(row["state"] or "", row["state"] or "desconhecido")
        line = f"{row['name']} ({row['id']}): {state}"
        if row["reason"]:
            line += f" — motivo {row['reason']}"
        if row["error"]:
            line += f" — servidor inacessível: {row['error']}"
        typer.echo(line)
