"""``porfin pix``: make a static PIX code ("copia e cola") with its QR in the terminal, and
check any PIX code, explaining what it carries or why it is wrong."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from porfin_cli.charges import money, parse_amount
from porfin_cli.runtime import fail, print_json

app = typer.Typer(
    help="PIX copia e cola: gerar um código estático e conferir qualquer código.",
    no_args_is_help=True,
)

KEY_TYPES_PT = {
    "CPF": "CPF",
    "CNPJ": "CNPJ",
    "EMAIL": "e-mail",
    "PHONE": "telefone",
    "EVP": "chave aleatória",
}


def _refused(exc: Any) -> None:
    """One line on stderr: what is wrong, the EMV field, why, where."""
    fields = exc.fields
    where = [f"campo {fields['field']}"] if "field" in fields else []
    if "reason" in fields:
        where.append(f"motivo {fields['reason']}")
    if "position" in fields:
        where.append(f"posição {fields['position']}")
    detail = f" ({', '.join(where)})" if where else ""
    fail(f"código PIX inválido: {exc.message}{detail}")


@app.command("code")
def code(
    key: Annotated[str, typer.Option("--key", help="Chave PIX: CPF, CNPJ, e-mail, +55..., EVP.")],
    amount: Annotated[
        str | None, typer.Option("--amount", help="Valor, ex.: 150,00 (vazio: o pagador digita).")
    ] = None,
    name: Annotated[
        str, typer.Option("--name", help="Nome do recebedor (até 25 letras).")
    ] = "Clinica",
    city: Annotated[
        str, typer.Option("--city", help="Cidade do recebedor (até 15 letras).")
    ] = "Sao Paulo",
    txid: Annotated[
        str | None, typer.Option("--txid", help="Identificador (até 25 letras e números).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Texto mostrado ao pagador.")
    ] = None,
    qr: Annotated[bool, typer.Option("--qr/--no-qr", help="Desenhar o QR code.")] = True,
    invert: Annotated[
        bool, typer.Option("--invert", help="QR para terminal de fundo escuro.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Gera um PIX copia e cola estático e o QR code no terminal."""
    from porfin_adapters.pix_qr import br_code_terminal
    from porfin_core.domain.pix import generate_static_br_code
    from porfin_core.errors import ValidationError

    cents = None if amount is None else parse_amount(amount)
    try:
        payload = generate_static_br_code(
            key=key,
            merchant_name=name,
            merchant_city=city,
            amount_cents=cents,
            txid=txid,
            description=description,
        )
    except ValidationError as exc:
        _refused(exc)
    if as_json:
        print_json({"br_code": payload, "amount_cents": cents})
        return
    typer.echo(payload)
    if qr:
        typer.echo(br_code_terminal(payload, invert=invert), nl=False)


@app.command("check")
def check(
    payload: Annotated[str, typer.Argument(help="O código PIX copia e cola.")],
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Confere um código PIX (estático ou dinâmico) e explica o que ele carrega."""
    from porfin_core.domain.pix import parse_br_code
    from porfin_core.errors import ValidationError

    try:
        parsed = parse_br_code(payload)
    except ValidationError as exc:
        _refused(exc)
    found = {
        "valid": True,
        "dynamic": parsed.is_dynamic,
        "key": parsed.key,
        "key_type": None if parsed.key_type is None else parsed.key_type.name,
        "url": parsed.url,
        "amount_cents": parsed.amount_cents,
        "merchant_name": parsed.merchant_name,
        "merchant_city": parsed.merchant_city,
        "txid": parsed.txid,
        "description": parsed.description,
    }
    if as_json:
        print_json(found)
        return
    typer.echo("Código PIX válido (CRC conferido).")
    if parsed.is_dynamic:
        typer.echo(f"Dinâmico: {parsed.url}")
    else:
        kind = KEY_TYPES_PT.get(found["key_type"] or "", found["key_type"] or "?")
        typer.echo(f"Chave: {parsed.key} ({kind})")
    shown = "definido pelo pagador" if parsed.amount_cents is None else money(parsed.amount_cents)
    typer.echo(f"Valor: {shown}")
    typer.echo(f"Recebedor: {parsed.merchant_name} — {parsed.merchant_city}")
    typer.echo(f"Identificador: {parsed.txid or '(nenhum)'}")
    if parsed.description:
        typer.echo(f"Descrição: {parsed.description}")
