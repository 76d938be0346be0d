"""``porfin charges``: issue PIX charges, list them, record payments received."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import cli_actor, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.charges import Charge, Transaction

app = typer.Typer(
    help="Cobranças por PIX: emitir, listar, registrar pagamentos.", no_args_is_help=True
)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]
ChargeId = Annotated[str, typer.Argument(help="Id da cobrança.")]

STATUS_PT = {
    "pending": "pendente",
    "paid": "paga",
    "expired": "expirada",
    "cancelled": "cancelada",
    "refunded": "estornada",
}
_AMOUNT = re.compile(r"(\d{1,3}(?:\.\d{3})+|\d+)(?:,(\d{1,2}))?")
_DOTTED = re.compile(r"(\d+)\.(\d{1,2})")


def parse_amount(text: str) -> int:
    """Centavos of an amount as people write it: ``150``, ``150,00``, ``1.234,56``,
    ``R$ 1.234,56`` or ``150.00`` (a dot with one or two digits after it is the decimal
    point). No floats: the digits are read as text.

    Raises:
        typer.Exit: not an amount, or zero (one line on stderr).
    """
    raw = text.strip().removeprefix("R$").strip()
    dotted = _DOTTED.fullmatch(raw)
    if dotted is not None:
        whole, cents = dotted[1], dotted[2]
    else:
        match = _AMOUNT.fullmatch(raw)
        if match is None:
            fail(f"valor inválido: {text!r} (ex.: 150,00 ou 1.234,56)")
        whole, cents = match[1].replace(".", ""), match[2] or "0"
    amount = int(whole) * 100 + int(cents.ljust(2, "0"))
    if amount < 1:
        fail("o valor deve ser de pelo menos R$ 0,01")
    return amount


def money(cents: int) -> str:
    """``R$ 1.234,56``."""
    from porfin_adapters.formats import BabelFormats

    return BabelFormats().money(cents)


def _charge_json(charge: Charge, transactions: list[Transaction] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "id": charge.id,
        "customer_id": charge.customer_id,
        "amount_cents": charge.amount_cents,
        "paid_cents": charge.paid_cents,
        "description": charge.description,
        "status": charge.status.value,
        "provider": charge.provider,
        "br_code": charge.br_code,
        "txid": charge.txid,
        "due_date": None if charge.due_date is None else charge.due_date.isoformat(),
        "appointment_id": charge.appointment_id,
        "chat_id": charge.chat_id,
        "paid_at": None if charge.paid_at is None else charge.paid_at.isoformat(),
        "paid_by": charge.paid_by,
        "created_at": charge.created_at.isoformat(),
    }
    if transactions is not None:
        found["transactions"] = [
            {
                "id": t.id,
                "kind": t.kind.value,
                "amount_cents": t.amount_cents,
                "at": t.at.isoformat(),
                "by": t.by,
                "source": t.source,
                "reference": t.reference,
            }
            for t in transactions
        ]
    return found


def _line(charge: Charge) -> str:
    """``01ABC  R$ 150,00  pendente (pago R$ 50,00)  Sinal da consulta``."""
    status = STATUS_PT.get(charge.status.value, charge.status.value)
    if charge.status.value == "pending" and charge.paid_cents:
        status += f" (pago {money(charge.paid_cents)})"
    return f"{charge.id}  {money(charge.amount_cents)}  {status}  {charge.description}"


@app.command("set-pix")
def set_pix(
    key: Annotated[
        str, typer.Option("--key", help="Chave PIX: CPF, CNPJ, e-mail, +55... ou aleatória.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Nome do recebedor (padrão: o da clínica).")
    ] = None,
    city: Annotated[
        str | None, typer.Option("--city", help="Cidade do recebedor (padrão: a da clínica).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Define a chave PIX da clínica e o recebedor mostrado pelos bancos."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> str:
        from porfin_core.use_cases.update_clinic import ChangeClinic

        clinic = (await container.set_up_installation()()).clinic
        changed = await container.update_clinic()(
            ChangeClinic(
                clinic_id=clinic.id,
                pix_key=key,
                pix_merchant_name=name,
                pix_merchant_city=city,
                actor=cli_actor(),
            )
        )
        return changed.pix_key or ""

    typer.echo(f"Chave PIX definida: {run_local(settings, work)}")


@app.command("create")
def create(
    customer: Annotated[str, typer.Option("--customer", help="Id do paciente.")],
    amount: Annotated[str, typer.Option("--amount", help="Valor, ex.: 150,00.")],
    description: Annotated[str, typer.Option("--description", help="Referente a quê.")],
    due: Annotated[
        str | None, typer.Option("--due", help="Vencimento, AAAA-MM-DD (opcional).")
    ] = None,
    appointment: Annotated[
        str | None, typer.Option("--appointment", help="Id da consulta (sinal), opcional.")
    ] = None,
    deliver: Annotated[
        bool, typer.Option("--send/--no-send", help="Enviar o PIX na conversa do paciente.")
    ] = True,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Emite uma cobrança PIX (copia e cola e QR code) e a envia na conversa do paciente."""
    cents = parse_amount(amount)
    due_date = None
    if due is not None:
        try:
            due_date = date.fromisoformat(due)
        except ValueError:
            fail(f"data de vencimento inválida: {due!r} (use AAAA-MM-DD)")
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.create_charge import NewCharge

        clinic = (await container.set_up_installation()()).clinic
        issued = await container.create_charge()(
            NewCharge(
                clinic_id=clinic.id,
                customer_id=customer,
                amount_cents=cents,
                description=description,
                due_date=due_date,
                appointment_id=appointment,
                deliver=deliver,
                actor=cli_actor(),
            )
        )
        return {"charge": _charge_json(issued.charge), "sent": bool(issued.messages)}

    result = run_local(settings, work)
    if as_json:
        print_json(result)
        return
    charge = result["charge"]
    typer.echo(f"Cobrança emitida: {money(charge['amount_cents'])} — {charge['description']}.")
    typer.echo(f"Id: {charge['id']}")
    typer.echo(
        "Enviada na conversa do paciente."
        if result["sent"]
        else "Não enviada (sem conversa ativa, janela de 24 h fechada ou --no-send)."
    )
    typer.echo(f"PIX copia e cola:\n{charge['br_code']}")


@app.command("list")
def list_charges(
    customer: Annotated[str | None, typer.Option("--customer", help="Id do paciente.")] = None,
    status: Annotated[
        str | None,
        typer.Option("--status", help="pending, paid, expired, cancelled ou refunded."),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Lista as cobranças, as mais recentes primeiro."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[Charge]:
        from porfin_core.use_cases.list_charges import ChargeQuery

        clinic = (await container.set_up_installation()()).clinic
        return await container.list_charges()(
            ChargeQuery(clinic_id=clinic.id, customer_id=customer, status=status)
        )

    found = run_local(settings, work)
    if as_json:
        print_json([_charge_json(c) for c in found])
        return
    if not found:
        typer.echo("Nenhuma cobrança.")
    for charge in found:
        typer.echo(_line(charge))


@app.command("mark-paid")
def mark_paid(
    charge_id: ChargeId,
    amount: Annotated[
        str | None,
        typer.Option("--amount", help="Valor recebido (padrão: todo o saldo); menos é parcial."),
    ] = None,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Identificador do PIX recebido.")
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Registra um pagamento recebido (quem e quando ficam registrados)."""
    cents = None if amount is None else parse_amount(amount)
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.mark_charge_paid import PaymentReceived

        clinic = (await container.set_up_installation()()).clinic
        recorded = await container.mark_charge_paid()(
            PaymentReceived(
                clinic_id=clinic.id,
                charge_id=charge_id,
                amount_cents=cents,
                reference=reference,
                actor=cli_actor(),
            )
        )
        details = await container.get_charge()(clinic.id, charge_id)
        return {
            "charge": _charge_json(details.charge, details.transactions),
            "received_cents": recorded.transaction.amount_cents,
        }

    result = run_local(settings, work)
    if as_json:
        print_json(result)
        return
    charge = result["charge"]
    typer.echo(f"Pagamento registrado: {money(result['received_cents'])}.")
    status = STATUS_PT.get(charge["status"], charge["status"])
    typer.echo(
        f"Cobrança {status}: pago {money(charge['paid_cents'])} de {money(charge['amount_cents'])}."
    )
