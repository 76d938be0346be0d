"""``porfin simulate``: a patient's message through the simulator channel."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import api_client, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container


def simulate(
    text: Annotated[str, typer.Argument(help="O texto da mensagem da paciente.")],
    sender: Annotated[
        str, typer.Option("--from", help="Telefone da paciente, em qualquer formato.")
    ],
    name: Annotated[str, typer.Option("--name", help="Nome do perfil no WhatsApp.")] = "",
    message_id: Annotated[
        str | None,
        typer.Option("--id", help="Id da mensagem no provedor (repetir o id não duplica)."),
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Canal simulador (padrão: o primeiro).")
    ] = None,
    url: Annotated[
        str | None, typer.Option("--url", help="Enviar a um servidor Porfin em execução.")
    ] = None,
    token: Annotated[
        str | None, typer.Option("--token", envvar="PORFIN_TOKEN", help="Token da API.")
    ] = None,
    data_dir: Annotated[Path | None, typer.Option("--data-dir")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Simula uma mensagem de paciente chegando pelo WhatsApp."""
    if not text.strip():
        fail("a mensagem está vazia", 2)
    settings = settings_for(data_dir)
    provider_id = message_id or f"sim-{datetime.now().astimezone().strftime('%Y%m%d%H%M%S%f')}"
    if url:
        result = _remote(api_client(url, token, settings), channel, provider_id, sender, name, text)
    else:

        async def work(container: Container) -> dict[str, Any]:
            from porfin_core.domain.customer import Identity
            from porfin_core.use_cases.receive_inbound_message import ReceiveMessage

            installation = await container.set_up_installation()()
            received = await container.receive_inbound_message()(
                ReceiveMessage(
                    channel_id=channel or installation.channel.id,
                    provider_message_id=provider_id,
                    sender=[Identity.of_phone(sender)],
                    sender_name=name,
                    body=text,
                )
            )
            return {
                "message_id": received.message_id,
                "chat_id": received.chat_id,
                "customer_id": received.customer_id,
                "duplicate": received.duplicate,
            }

        result = run_local(settings, work)
    if as_json:
        print_json(result)
    elif result["duplicate"]:
        typer.echo(f"Mensagem repetida (já recebida): chat {result['chat_id']}")
    else:
        typer.echo(f"Mensagem recebida: chat {result['chat_id']}, cliente {result['customer_id']}")


def _remote(
    client: Any, channel: str | None, provider_id: str, sender: str, name: str, text: str
) -> dict[str, Any]:
    if channel is None:
        channels = client.request("GET", "/api/v1/channels")
        simulators = [c for c in channels if c["provider"] == "simulator" and c["active"]]
        if not simulators:
            fail("o servidor não tem canal simulador ativo")
        channel = simulators[0]["id"]
    body = {"message": {"id": provider_id, "from": sender, "name": name, "text": text}}
    result: dict[str, Any] = client.request("POST", f"/webhooks/simulator/{channel}", json=body)
    return result
