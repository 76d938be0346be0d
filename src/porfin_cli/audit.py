"""``porfin audit``: read the audit log and check that nobody tampered with it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_core.domain.audit import ChainReport

app = typer.Typer(help="Registro de auditoria: quem fez ou viu o quê.", no_args_is_help=True)

DataDir = Annotated[Path | None, typer.Option("--data-dir")]
Json = Annotated[bool, typer.Option("--json", help="Saída em JSON.")]

BREAKS_PT = {
    "modified": "registro alterado: o conteúdo não confere com o hash",
    "missing": "registro ausente (apagado ou fora de ordem); no lugar dele está o {found}",
    "out_of_order": "registros fora de ordem ou duplicados; no lugar está o {found}",
    "broken_link": "elo quebrado: prev_hash não é o hash do registro anterior "
    "(o anterior foi substituído)",
    "foreign": "registro de outra clínica no meio da cadeia",
    "truncated": "registros apagados do fim da cadeia: ela termina no {last}, "
    "mas o cabeçalho guardado aponta um registro posterior",
    "head_mismatch": "o registro não confere com o cabeçalho guardado da cadeia",
}


def _report_json(report: ChainReport) -> dict[str, Any]:
    broken = report.broken
    return {
        "clinic_id": report.clinic_id,
        "ok": report.ok,
        "records": report.records,
        "last_seq": report.last_seq,
        "last_hash": report.last_hash,
        "broken": None
        if broken is None
        else {
            "seq": broken.seq,
            "kind": broken.kind.value,
            "detail": broken.detail,
            "found_seq": broken.found_seq,
        },
    }


def _problem(report: ChainReport) -> str:
    broken = report.broken
    assert broken is not None
    what = BREAKS_PT.get(broken.kind.value, broken.detail).format(
        found=broken.found_seq, last=report.last_seq
    )
    return (
        f"cadeia de auditoria violada na clínica {report.clinic_id}, registro {broken.seq}: {what}"
    )


@app.command("verify")
def verify(data_dir: DataDir = None, as_json: Json = False) -> None:
    """Confere a cadeia de hashes do registro de auditoria de cada clínica.

    Sai com 0 se estiver íntegra; com 1 e uma linha dizendo a clínica, o registro e o problema
    se algum registro foi alterado, apagado ou reordenado.
    """
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[ChainReport]:
        reports: list[ChainReport] = await container.verify_audit_log()()
        return reports

    reports = run_local(settings, work)
    total = sum(r.records for r in reports)
    broken = [r for r in reports if not r.ok]
    if as_json:
        print_json(
            {"ok": not broken, "records": total, "clinics": [_report_json(r) for r in reports]}
        )
    if broken:
        others = f" (e mais {len(broken) - 1} clínica(s))" if len(broken) > 1 else ""
        fail(_problem(broken[0]) + others)
    if not as_json:
        typer.echo(f"Cadeia íntegra: {total} registros")


@app.command("list")
def list_records(
    limit: Annotated[int, typer.Option(min=1, max=200, help="Quantos registros.")] = 50,
    action: Annotated[str | None, typer.Option(help="Só esta ação (ex.: chat.read).")] = None,
    actor: Annotated[str | None, typer.Option(help="Só o que este ator fez.")] = None,
    data_dir: DataDir = None,
    as_json: Json = False,
) -> None:
    """Lista os registros de auditoria, os mais recentes primeiro."""
    settings = settings_for(data_dir)

    async def work(container: Container) -> list[dict[str, Any]]:
        from porfin_adapters.serialization import to_document
        from porfin_core.ports.audit import AuditQuery

        clinic_id = (await container.set_up_installation()()).clinic.id
        page = await container.list_audit_records()(
            AuditQuery(clinic_id=clinic_id, action=action, actor_id=actor, limit=limit)
        )
        return [to_document(record) for record in page.items]

    items = run_local(settings, work)
    if as_json:
        print_json(items)
        return
    if not items:
        typer.echo("Nenhum registro.")
        return
    from datetime import datetime

    for item in items:
        when = datetime.fromisoformat(item["at"]).astimezone().strftime("%d/%m/%Y %H:%M:%S")
        typer.echo(
            f"#{item['seq']:<6} {when}  {item['action']:<15} "
            f"{item['resource_type']}:{item['resource_id']}  "
            f"por {item['actor_id']} ({item['actor_kind']}) de {item['source']}"
        )
