"""``porfin whatsapp``: pairing Evolution (Baileys) numbers and watching their connection."""

from __future__ import annotations

import time
from datetime import datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

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
                await _sleep(interval)
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


HEALTH_FIELDS = (
    "last_activity_at",
    "checked_at",
    "check_error",
    "degraded",
    "degraded_since",
    "reconnect_attempts",
    "last_reconnect_at",
    "next_reconnect_at",
)


def _status_row(found: Channel) -> dict[str, Any]:
    """What Porfin recorded about the channel's connection, with the API's field names."""
    known = found.connection

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": found.id,
        "name": found.name,
        "active": found.active,
        "state": known.state if known else None,
        "live": False,
        "reason": known.reason if known else None,
        "since": when(known.since) if known else None,
        "error": None,
        "qr_pending": known is not None and known.qr_code is not None,
        "last_activity_at": when(known.last_activity_at) if known else None,
        "checked_at": when(known.checked_at) if known else None,
        "check_error": known.check_error if known else None,
        "degraded": known.degraded if known else False,
        "degraded_since": when(known.degraded_since) if known else None,
        "reconnect_attempts": known.reconnect_attempts if known else 0,
        "last_reconnect_at": when(known.last_reconnect_at) if known else None,
        "next_reconnect_at": when(known.next_reconnect_at) if known else None,
    }


def _at(value: str | None, zone: tzinfo) -> str:
    if not value:
        return "-"
    return datetime.fromisoformat(value).astimezone(zone).strftime("%d/%m %H:%M")


def _ago(value: str | None, now: datetime) -> str:
    if not value:
        return ""
    minutes = int((now - datetime.fromisoformat(value)).total_seconds() // 60)
    if minutes < 1:
        return " (agora há pouco)"
    if minutes < 120:
        return f" (há {minutes} min)"
    return f" (há {minutes // 60} h)"


def _status_lines(row: dict[str, Any], now: datetime, zone: tzinfo) -> list[str]:
    """A channel's status in Portuguese: state, then what the health monitor found."""
    state = STATES_PT.get(row["state"] or "", row["state"] or "desconhecido")
    head = f"{row['name']} ({row['id']}): {state}"
    if row["reason"]:
        head += f" — motivo {row['reason']}"
    if row["error"]:
        head += f" — servidor inacessível: {row['error']}"
    lines = [head]
    if not row["active"]:
        lines.append("  canal desligado: não é monitorado")
    if row["qr_pending"]:
        lines.append("  aguardando leitura do QR code: porfin whatsapp connect")
    activity = row["last_activity_at"]
    lines.append(f"  última atividade: {_at(activity, zone)}{_ago(activity, now)}")
    if row["checked_at"]:
        checked = f"  última verificação do monitor: {_at(row['checked_at'], zone)}"
        if row["check_error"]:
            checked += f" (sem resposta: {row['check_error']})"
        lines.append(checked)
    else:
        lines.append("  última verificação do monitor: nunca (o monitor roda com porfin serve)")
    if row["degraded"]:
        lines.append(
            f"  DEGRADADO desde {_at(row['degraded_since'], zone)}: parece conectado, mas nada "
            "chega pelo número; mensagens podem estar se perdendo"
        )
    attempts = row["reconnect_attempts"]
    if attempts:
        plural = "tentativa" if attempts == 1 else "tentativas"
        line = f"  reconexão automática: {attempts} {plural}"
        line += f", a última em {_at(row['last_reconnect_at'], zone)}"
        if row["next_reconnect_at"]:
            line += f"; próxima a partir de {_at(row['next_reconnect_at'], zone)}"
        lines.append(line)
    return lines


@app.command("status")
def status(
    channel: Annotated[str | None, typer.Argument(help="Id ou nome do canal.")] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Estado da conexão de cada número Evolution (consultado no servidor Evolution), última
    atividade, sessão degradada e tentativas de reconexão automática."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> tuple[list[dict[str, Any]], datetime, str]:
        from porfin_core.domain.channel import Provider
        from porfin_core.errors import GatewayError

        clinic = (await container.set_up_installation()()).clinic
        if channel is not None:
            channels = [await _channel(container, channel)]
        else:
            channels = [
                c
                for c in await container.list_channels()(clinic.id, include_archived=False)
                if c.provider is Provider.EVOLUTION
            ]
        rows = []
        for found in channels:
            row = _status_row(found)
            try:
                client = await container.evolution_gateway().client_for(found)
                try:
                    row["state"] = await client.connection_state(found.external_ids["instance"])
                    row["live"] = True
                finally:
                    await client.aclose()
            except GatewayError as exc:
                row["error"] = exc.message
            rows.append(row)
        return rows, container.clock().now(), clinic.timezone

    rows, now, timezone = run_local(settings, work)
    if as_json:
        print_json(rows)
        return
    if not rows:
        typer.echo("Nenhum número Evolution configurado.")
        return
    zone = ZoneInfo(timezone)
    for row in rows:
        for line in _status_lines(row, now, zone):
            typer.echo(line)


async def _sleep(seconds: float) -> None:
    import asyncio  # not at import time: ``porfin --help`` stays fast

    await asyncio.sleep(seconds)
