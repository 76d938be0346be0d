"""``porfin chats``: the inbox from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import api_client, cli_actor, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container

app = typer.Typer(help="Conversas com pacientes.", no_args_is_help=True)

Url = Annotated[str | None, typer.Option("--url", help="Ler de um servidor Porfin em execução.")]
Token = Annotated[str | None, typer.Option("--token", envvar="PORFIN_TOKEN", help="Token da API.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]


@app.command("list")
def list_chats(
    mode: Annotated[str | None, typer.Option(help="ai, human ou paused.")] = None,
    status: Annotated[str | None, typer.Option(help="open ou closed.")] = None,
    search: Annotated[
        str | None, typer.Option("--search", "-q", help="Nome, telefone ou texto.")
    ] = None,
    unread: Annotated[bool, typer.Option("--unread", help="Só com mensagens não lidas.")] = False,
    limit: Annotated[int, typer.Option(min=1, max=200, help="Quantas conversas.")] = 50,
    url: Url = None,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Lista as conversas, as mais recentes primeiro."""
    settings = settings_for(data_dir)
    if url:
        params = {"mode": mode, "status": status, "q": search, "limit": limit}
        if unread:
            params["unread"] = "true"
        page = api_client(url, token, settings).request(
            "GET", "/api/v1/chats", params={k: v for k, v in params.items() if v is not None}
        )
        items: list[dict[str, Any]] = page["items"]
    else:

        async def work(container: Container) -> list[dict[str, Any]]:
            from porfin_cli.present import chat_json
            from porfin_core.domain.chat import ChatMode, ChatStatus
            from porfin_core.errors import ValidationError
            from porfin_core.ports.storage import ChatQuery

            try:
                query = ChatQuery(
                    clinic_id=(await container.set_up_installation()()).clinic.id,
                    mode=ChatMode(mode) if mode else None,
                    status=ChatStatus(status) if status else None,
                    search=search,
                    unread=unread,
                    limit=limit,
                )
            except ValueError as exc:
                raise ValidationError(f"filtro inválido: {exc}") from exc
            page = await container.list_chats()(query)
            now = container.clock().now()
            return [chat_json(chat, now) for chat in page.items]

        items = run_local(settings, work)
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("Nenhuma conversa.")
        return
    from porfin_cli.present import chat_lines

    for item in items:
        for line in chat_lines(item):
            typer.echo(line)


@app.command("show")
def show_chat(
    chat_id: Annotated[str, typer.Argument(help="Id da conversa.")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="Quantas mensagens.")] = 20,
    url: Url = None,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Mostra uma conversa e suas mensagens mais recentes."""
    settings = settings_for(data_dir)
    if url:
        client = api_client(url, token, settings)
        chat = client.request("GET", f"/api/v1/chats/{chat_id}")
        messages = client.request(
            "GET", f"/api/v1/chats/{chat_id}/messages", params={"limit": limit}
        )["items"]
    else:

        async def work(container: Container) -> tuple[dict[str, Any], list[dict[str, Any]]]:
            from porfin_cli.present import chat_json, message_json
            from porfin_core.use_cases.get_chat_timeline import TimelineQuery

            clinic_id = (await container.set_up_installation()()).clinic.id
            actor = cli_actor()
            found = await container.get_chat()(clinic_id, chat_id, actor=actor)
            page = await container.get_chat_timeline()(
                TimelineQuery(clinic_id=clinic_id, chat_id=chat_id, limit=limit, actor=actor)
            )
            now = container.clock().now()
            return chat_json(found, now), [message_json(m) for m in page.items]

        chat, messages = run_local(settings, work)
    if as_json:
        print_json({"chat": chat, "messages": messages})
        return
    from porfin_cli.present import HANDOFF_PT, MODE_PT, STATUS_PT, message_line

    typer.echo(f"{chat['customer_name']} ({chat['customer_phone'] or '-'})")
    typer.echo(
        f"Modo: {MODE_PT.get(chat['mode'], chat['mode'])} · "
        f"Status: {STATUS_PT.get(chat['status'], chat['status'])} · "
        f"Janela de 24 h: {'aberta' if chat['window_open'] else 'fechada'}"
    )
    if chat.get("handoff_reason"):
        reason = HANDOFF_PT.get(chat["handoff_reason"], chat["handoff_reason"])
        typer.echo(f"Motivo da transferência: {reason}")
    for message in reversed(messages):
        typer.echo(message_line(message))
