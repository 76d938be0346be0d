"""``porfin charges``: issue PIX charges, list them, record payments and refunds, cancel
them, ask the payment gateway about them, and choose the clinic's gateway."""

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
    help="Cobranças por PIX: emitir, listar, registrar pagamentos e estornos, cancelar; "
    "gateway de pagamento (Asaas, Mercado Pago).",
    no_args_is_help=True,
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
        "provider_charge_id": charge.provider_charge_id,
        "payment_url": charge.payment_url,
        "payment_link": charge.as_link,
        "max_installments": charge.max_installments,
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
    document: Annotated[
        str | None, typer.Option("--cpf", help="CPF/CNPJ do pagador (exigido pelo Asaas).")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option("--email", help="E-mail do pagador (exigido pelo Mercado Pago)."),
    ] = None,
    link: Annotated[
        bool,
        typer.Option(
            "--link",
            help="Link de pagamento do Asaas: o paciente escolhe PIX, boleto ou cartão.",
        ),
    ] = False,
    installments: Annotated[
        int,
        typer.Option(
            "--installments", min=1, max=12, help="Parcelas no cartão, até 12 (com --link)."
        ),
    ] = 1,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Emite uma cobrança PIX (copia e cola e QR code), ou um link de pagamento (--link), e a
    envia na conversa do paciente."""
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
                payer_document=document,
                payer_email=email,
                payment_link=link,
                max_installments=installments,
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
    if charge["payment_link"] and charge["payment_url"]:
        typer.echo(f"Link de pagamento: {charge['payment_url']}")
        return
    if charge["br_code"] is None:
        typer.echo("O gateway ainda não criou a cobrança; o Porfin tentará de novo e a enviará.")
        return
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


def _change(
    charge_id: str,
    data_dir: Path | None,
    as_json: bool,
    act: Any,
    done: str,
) -> None:
    """Run ``act(container, clinic_id)`` on the charge and show it as it ends up."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        clinic = (await container.set_up_installation()()).clinic
        await act(container, clinic.id)
        details = await container.get_charge()(clinic.id, charge_id)
        return _charge_json(details.charge, details.transactions)

    charge = run_local(settings, work)
    if as_json:
        print_json(charge)
        return
    status = STATUS_PT.get(charge["status"], charge["status"])
    typer.echo(
        f"{done} Cobrança {status}: pago {money(charge['paid_cents'])} de "
        f"{money(charge['amount_cents'])}."
    )


@app.command("cancel")
def cancel(
    charge_id: ChargeId,
    reason: Annotated[str, typer.Option("--reason", help="Motivo (opcional).")] = "",
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Cancela uma cobrança pendente (também no gateway, se houver)."""

    async def act(container: Container, clinic_id: str) -> None:
        from porfin_core.use_cases.cancel_charge import ChargeCancellation

        await container.cancel_charge()(
            ChargeCancellation(
                clinic_id=clinic_id, charge_id=charge_id, reason=reason, actor=cli_actor()
            )
        )

    _change(charge_id, data_dir, as_json, act, "Cancelada.")


@app.command("refund")
def refund(
    charge_id: ChargeId,
    reference: Annotated[
        str | None, typer.Option("--reference", help="Identificador da devolução PIX.")
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Registra o estorno de uma cobrança paga por PIX da clínica (sem gateway)."""

    async def act(container: Container, clinic_id: str) -> None:
        from porfin_core.use_cases.refund_charge import Refund

        await container.refund_charge()(
            Refund(clinic_id=clinic_id, charge_id=charge_id, reference=reference, actor=cli_actor())
        )

    _change(charge_id, data_dir, as_json, act, "Estorno registrado.")


@app.command("sync")
def sync(charge_id: ChargeId, data_dir: DataDir = None, as_json: Json = False) -> None:
    """Consulta o gateway: cria a cobrança se ainda não existir lá, ou aplica o estado dela
    (um pagamento cujo webhook se perdeu)."""

    async def act(container: Container, clinic_id: str) -> None:
        from porfin_core.use_cases.sync_charge import ChargeSync

        await container.sync_charge()(
            ChargeSync(clinic_id=clinic_id, charge_id=charge_id, source="staff", actor=cli_actor())
        )

    _change(charge_id, data_dir, as_json, act, "Consultado.")


@app.command("gateway")
def gateway(
    provider: Annotated[
        str | None,
        typer.Argument(help="asaas, mercadopago ou embedded (PIX da clínica, sem gateway)."),
    ] = None,
    setting: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Configuração NOME=VALOR (asaas: api_key, webhook_token, base_url; "
            "mercadopago: access_token, webhook_secret, base_url).",
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Mostra ou escolhe o gateway de pagamento das novas cobranças."""
    values: dict[str, str] = {}
    for item in setting or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            fail(f"configuração inválida: {item!r} (use NOME=VALOR)")
        values[name.strip()] = value
    settings = settings_for(data_dir)

    async def work(container: Container) -> dict[str, Any]:
        from porfin_core.use_cases.configure_payment_gateway import GatewayChoice

        clinic = (await container.set_up_installation()()).clinic
        if provider is not None:
            clinic = await container.configure_payment_gateway()(
                GatewayChoice(
                    clinic_id=clinic.id,
                    provider=None if provider == "embedded" else provider,
                    settings=values,
                    actor=cli_actor(),
                )
            )
        config = clinic.payment_gateway
        if config is None:
            return {"provider": "embedded", "settings": {}, "secret_hints": {}}
        return {
            "provider": config.provider.value,
            "settings": dict(config.settings),
            "secret_hints": {name: ref.hint for name, ref in config.secrets.items()},
            "webhook_path": f"/webhooks/payments/{config.provider.value}/{clinic.id}",
        }

    shown = run_local(settings, work)
    if as_json:
        print_json(shown)
        return
    if shown["provider"] == "embedded":
        typer.echo("Sem gateway: cobranças por PIX estático da clínica, confirmadas pela equipe.")
        return
    typer.echo(f"Gateway: {shown['provider']}")
    for name, value in shown["settings"].items():
        typer.echo(f"  {name}: {value}")
    for name, hint in shown["secret_hints"].items():
        typer.echo(f"  {name}: ••••{hint or ''}")
    typer.echo(f"Webhook: {shown['webhook_path']}")
