"""``porfin customers``: patients' records from the terminal."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import api_client, cli_actor, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.customer import Customer

app = typer.Typer(help="Cadastros de pacientes.", no_args_is_help=True)

Url = Annotated[str | None, typer.Option("--url", help="Usar um servidor Porfin em execução.")]
Token = Annotated[str | None, typer.Option("--token", envvar="PORFIN_TOKEN", help="Token da API.")]
DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]


def customer_json(customer: Customer) -> dict[str, Any]:
    """A customer with the same fields as the API's ``CustomerOut``."""
    return {
        "id": customer.id,
        "name": customer.name,
        "phone": customer.phone,
        "identities": [{"kind": i.kind.value, "value": i.value} for i in customer.identities],
        "stage": customer.stage.value,
        "tags": list(customer.tags),
        "consents": {
            purpose.value: {
                "granted": consent.granted,
                "at": consent.at.isoformat(),
                "source": consent.source,
                "recorded_by": consent.recorded_by,
            }
            for purpose, consent in customer.consents.items()
        },
        "created_at": customer.created_at.isoformat(),
    }


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


@app.command("merge")
def merge_customers(
    customer_id: Annotated[str, typer.Argument(help="Id do cadastro que fica.")],
    duplicate_id: Annotated[
        str, typer.Argument(help="Id do cadastro duplicado, que passa a fazer parte do outro.")
    ],
    url: Url = None,
    token: Token = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Une dois cadastros da mesma pessoa, com as conversas: o primeiro fica e recebe os
    números, etiquetas, autorizações e conversas do segundo, que deixa de aparecer. Não
    pode ser desfeito."""
    settings = settings_for(data_dir)
    summary = ""
    if url:
        customer = api_client(url, token, settings).request(
            "POST",
            f"/api/v1/customers/{customer_id}/merge",
            json={"duplicate_id": duplicate_id},
        )
    else:

        async def work(container: Container) -> tuple[dict[str, Any], str]:
            from porfin_core.use_cases.merge_customers import DuplicateCustomer

            clinic_id = (await container.set_up_installation()()).clinic.id
            merged = await container.merge_customers()(
                DuplicateCustomer(
                    clinic_id=clinic_id,
                    customer_id=customer_id,
                    duplicate_id=duplicate_id,
                    actor=cli_actor(),
                )
            )
            chats = (
                f"Conversas: {_plural(len(merged.moved_chat_ids), 'transferida', 'transferidas')}"
                f", {_plural(len(merged.joined_chat_ids), 'unida', 'unidas')}"
                f" ({_plural(merged.messages_moved, 'mensagem movida', 'mensagens movidas')})."
            )
            return customer_json(merged.customer), chats

        customer, summary = run_local(settings, work)
    if as_json:
        print_json(customer)
        return
    typer.echo(
        f"Cadastros unidos: {duplicate_id} agora faz parte de {customer['name']}"
        f" ({customer['id']}, {customer['phone'] or 'sem telefone'})."
    )
    if summary:
        typer.echo(summary)
