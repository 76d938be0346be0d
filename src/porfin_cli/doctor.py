"""``porfin doctor``: check the configuration and every service the installation uses, and
say what to do about each problem."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import print_json, settings_for

if TYPE_CHECKING:
    from porfin_adapters.health import CheckResult

DataDir = Annotated[Path | None, typer.Option("--data-dir", help="Pasta dos dados.")]

SYMBOLS = {"ok": "✓", "warning": "!", "failed": "✗", "skipped": "-"}

CHECKS_PT = {
    "config": "Configuração",
    "data_dir": "Pasta de dados",
    "disk": "Espaço em disco",
    "storage": "Armazenamento",
    "redis": "Redis",
    "openai": "OpenAI",
    "channel": "WhatsApp",
    "calendar": "Google Agenda",
    "payment_gateway": "Gateway de pagamento",
    "records": "Canais, agendas e pagamentos",
}

PROVIDERS_PT = {"simulator": "simulador", "cloud_api": "Meta Cloud API", "evolution": "Evolution"}

# (check, problem) -> (what is wrong, what to do). A problem of any check: (None, problem).
PROBLEMS_PT: dict[tuple[str | None, str], tuple[str, str]] = {
    (None, "timeout"): (
        "sem resposta no tempo limite",
        "verifique se o serviço está no ar e acessível desta máquina (rede, firewall, DNS).",
    ),
    (None, "error"): ("a verificação falhou", "veja o detalhe; se persistir, abra um chamado."),
    ("data_dir", "missing"): (
        "a pasta não existe",
        "rode `porfin init` (ou aponte --data-dir / PORFIN_DATA_DIR para a pasta certa).",
    ),
    ("data_dir", "not_writable"): (
        "sem permissão de escrita",
        "rode o Porfin com o usuário dono da pasta, ou ajuste as permissões (chown/chmod).",
    ),
    ("disk", "low_disk"): (
        "pouco espaço livre",
        "libere espaço no disco (backups antigos, logs) ou mova a pasta de dados.",
    ),
    ("storage", "no_database"): (
        "o banco de dados não existe",
        "rode `porfin init` para criar a instalação nesta pasta.",
    ),
    ("storage", "not_writable"): (
        "sem permissão de leitura e escrita no banco",
        "rode o Porfin com o usuário dono de porfin.db, ou ajuste as permissões.",
    ),
    ("storage", "unreadable"): (
        "o arquivo não pôde ser lido como banco SQLite",
        "restaure o último backup (docs/operations.md, Backups).",
    ),
    ("storage", "schema_behind"): (
        "o banco precisa de atualização (migrações pendentes)",
        "rode `porfin init` ou reinicie o `porfin serve`: as migrações são aplicadas ao abrir.",
    ),
    ("storage", "schema_ahead"): (
        "o banco é de uma versão mais nova do Porfin",
        "atualize o Porfin nesta máquina para a versão que gravou o banco.",
    ),
    ("storage", "memory_storage"): (
        "armazenamento em memória: nada é guardado",
        "use PORFIN_STORAGE=sqlite (padrão) ou firestore em produção.",
    ),
    ("storage", "unreachable"): (
        "o Firestore não respondeu",
        "verifique as credenciais (Application Default Credentials), firestore_project e a "
        "rede; com o emulador, FIRESTORE_EMULATOR_HOST.",
    ),
    ("records", "storage_unavailable"): (
        "não verificados: o armazenamento não está disponível",
        "corrija o armazenamento primeiro e rode `porfin doctor` de novo.",
    ),
    ("redis", "unreachable"): (
        "sem conexão",
        "inicie o Redis (ex.: `systemctl start redis`) ou corrija PORFIN_REDIS_URL "
        "(redis://host:porta/0); sem Redis, remova a variável (uma instância só).",
    ),
    ("redis", "auth"): (
        "o Redis recusou a senha",
        "corrija o usuário/senha em PORFIN_REDIS_URL (redis://:senha@host:porta/0).",
    ),
    ("redis", "refused"): (
        "o Redis recusou o comando",
        "veja o detalhe e a configuração do Redis.",
    ),
    ("openai", "invalid_key"): (
        "chave da OpenAI inválida",
        "crie uma chave em https://platform.openai.com/api-keys e rode "
        "`porfin init --openai-key NOVA` (ou defina PORFIN_OPENAI_API_KEY).",
    ),
    ("openai", "quota"): (
        "a conta da OpenAI está sem crédito",
        "adicione crédito em https://platform.openai.com/settings/organization/billing.",
    ),
    ("openai", "permission"): (
        "a chave não tem permissão",
        "dê à chave acesso aos modelos (permissões do projeto na OpenAI).",
    ),
    ("openai", "unreachable"): (
        "a OpenAI não respondeu",
        "verifique a rede e PORFIN_OPENAI_BASE_URL; enquanto isso a IA usa o motor offline.",
    ),
    ("openai", "refused"): ("a OpenAI recusou a chamada", "veja o detalhe e a configuração."),
    ("channel", "invalid_token"): (
        "token de acesso inválido ou expirado",
        "gere um token permanente de usuário do sistema no Meta Business Manager e rode "
        "`porfin init --channel cloud --cloud-phone-number-id ID --cloud-access-token NOVO` "
        "(ou PATCH /api/v1/channels/<id>).",
    ),
    ("channel", "unknown_phone_number_id"): (
        "o phone_number_id não existe ou o token não tem acesso a ele",
        "confira o ID do número em WhatsApp > Configuração da API no painel da Meta e as "
        "permissões do token (whatsapp_business_messaging, whatsapp_business_management).",
    ),
    ("channel", "permission"): (
        "o token não tem as permissões necessárias",
        "dê ao usuário do sistema as permissões whatsapp_business_messaging e "
        "whatsapp_business_management e gere um novo token.",
    ),
    ("channel", "unreachable"): (
        "o provedor não respondeu",
        "verifique a rede, o endereço do servidor e se o serviço está no ar.",
    ),
    ("channel", "refused"): ("o provedor recusou a chamada", "veja o detalhe e o canal."),
    ("channel", "not_configured"): (
        "o canal está sem configuração ou credencial",
        "configure o canal de novo (`porfin init --channel ...` ou PATCH /api/v1/channels/<id>).",
    ),
    ("channel", "invalid_api_key"): (
        "a chave do Evolution foi recusada",
        "confira a apikey (token da instância ou chave global) e configure o canal de novo.",
    ),
    ("channel", "unknown_instance"): (
        "a instância não existe no servidor Evolution",
        "crie a instância no Evolution (ou corrija o nome) e configure o canal de novo.",
    ),
    ("channel", "disconnected"): (
        "o celular não está conectado",
        "rode `porfin whatsapp connect <canal>` e leia o QR code no celular.",
    ),
    ("channel", "connecting"): (
        "conectando",
        "termine o pareamento: `porfin whatsapp connect <canal>`.",
    ),
    ("calendar", "revoked"): (
        "o acesso à agenda foi retirado",
        "conecte de novo: `porfin calendar connect <profissional>`.",
    ),
    ("calendar", "not_configured"): (
        "o Google Agenda não está configurado",
        "defina PORFIN_GOOGLE_CLIENT_ID e PORFIN_GOOGLE_CLIENT_SECRET (docs/google-calendar.md).",
    ),
    ("calendar", "refresh_failed"): (
        "não foi possível renovar o acesso",
        "verifique a rede e o cliente OAuth no Google Cloud; se persistir, conecte de novo.",
    ),
    ("calendar", "sync_error"): (
        "a última sincronização falhou",
        "veja `porfin calendar status`; a próxima sincronização tenta de novo.",
    ),
    ("payment_gateway", "invalid_credentials"): (
        "credenciais recusadas",
        "gere uma nova chave no painel do gateway e rode "
        "`porfin charges gateway <asaas|mercadopago> --set ...`.",
    ),
    ("payment_gateway", "missing_settings"): (
        "configuração incompleta",
        "rode `porfin charges gateway <asaas|mercadopago> --set NOME=VALOR`.",
    ),
    ("payment_gateway", "unreachable"): (
        "o gateway não respondeu",
        "verifique a rede e o base_url do gateway.",
    ),
    ("payment_gateway", "refused"): ("o gateway recusou a chamada", "veja o detalhe."),
}


def explain(result: CheckResult) -> tuple[str, str] | None:
    """What is wrong and what to do, in Portuguese, for a result with a problem."""
    if result.problem is None:
        return None
    return PROBLEMS_PT.get((result.check, result.problem)) or PROBLEMS_PT.get(
        (None, result.problem), (result.problem, "veja o detalhe.")
    )


def _name(result: CheckResult) -> str:
    label = CHECKS_PT.get(result.check, result.check)
    if result.check == "channel":
        provider = PROVIDERS_PT.get(str(result.facts.get("provider")), "")
        return f'{label} "{result.target}"' + (f" ({provider})" if provider else "")
    if result.check in ("calendar", "payment_gateway"):
        return f"{label}: {result.target}"
    if result.check == "storage":
        kind = {"memory": "memória"}.get(result.target, str(result.facts.get("kind", "")))
        return f"{label} ({kind or result.target})" if kind or result.target != "-" else label
    if result.check == "redis" and result.target != "-":
        return f"{label} ({result.target})"
    return label


_SKIPPED_PT = {
    "redis": "não configurado (PORFIN_REDIS_URL): estado mantido no processo",
    "openai": "sem chave: a IA usa o motor offline",
    "channel": "canal desligado: não verificado",
}


def _detail(result: CheckResult) -> str:
    status = result.status.value
    if status == "skipped" and result.problem is None:
        return _SKIPPED_PT.get(result.check, "não verificado")
    if result.check == "disk":
        free = int(result.facts.get("free_bytes", 0)) / 1024**3
        total = int(result.facts.get("total_bytes", 0)) / 1024**3
        text = f"{free:.1f} GiB livres de {total:.1f} GiB"
    elif result.check == "storage" and "schema_version" in result.facts and status == "ok":
        text = f"{result.target}, esquema versão {result.facts['schema_version']}"
    elif result.check == "config":
        source = result.facts.get("config_file")
        origin = f"arquivo {source}" if source else "variáveis de ambiente (sem porfin.toml)"
        text = f"{origin}; armazenamento {result.facts.get('storage')}"
    elif result.check == "channel" and status == "ok":
        text = str(result.facts.get("display_phone_number") or "ok")
        if result.facts.get("provider") == "simulator":
            text = "sempre disponível"
        elif result.facts.get("state") == "open":
            text = "conectado"
    elif status == "ok":
        text = result.detail or ("ok" if result.target in ("-", "") else result.target)
    else:
        text = ""
    explained = explain(result)
    if explained is not None:
        summary = explained[0]
        text = f"{text} — {summary}" if text else summary
        if result.detail:
            text += f" ({result.detail})"
    return text


def report_lines(results: list[CheckResult]) -> list[str]:
    """The report, one line per check, with the remedy under each problem."""
    lines = []
    for result in results:
        lines.append(f"{SYMBOLS[result.status.value]} {_name(result)}: {_detail(result)}")
        explained = explain(result)
        if explained is not None and result.status.value in ("failed", "warning"):
            lines.append(f"    → {explained[1]}")
    return lines


def result_json(result: CheckResult) -> dict[str, Any]:
    """A result with the API's field names, plus the Portuguese summary and remedy."""
    explained = explain(result)
    return {
        "check": result.check,
        "target": result.target,
        "status": result.status.value,
        "problem": result.problem,
        "detail": result.detail,
        "summary": explained[0] if explained else None,
        "remedy": explained[1] if explained else None,
        "facts": dict(result.facts),
    }


def doctor(
    data_dir: DataDir = None,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=0.1, max=120, help="Segundos por verificação (padrão 5)."),
    ] = 5.0,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Verifica a configuração e cada serviço usado (armazenamento, Redis, WhatsApp, OpenAI,
    Google Agenda, pagamentos, disco) e diz o que fazer em cada problema."""
    import asyncio

    from porfin_adapters.health import run_checks

    settings = settings_for(data_dir)
    results = asyncio.run(run_checks(settings, seconds=timeout))
    failed = sum(1 for r in results if r.failed)
    warnings = sum(1 for r in results if r.status.value == "warning")
    if as_json:
        print_json(
            {
                "healthy": failed == 0,
                "failed": failed,
                "warnings": warnings,
                "checks": [result_json(r) for r in results],
            }
        )
    else:
        typer.echo(f"Porfin doctor — dados em {settings.data_dir}")
        typer.echo("")
        for line in report_lines(results):
            typer.echo(line)
        typer.echo("")
        if failed:
            typer.echo(f"{failed} problema(s) e {warnings} aviso(s) encontrados.")
        elif warnings:
            typer.echo(f"Tudo funcionando, com {warnings} aviso(s).")
        else:
            typer.echo("Tudo funcionando.")
    if failed:
        raise typer.Exit(1)
