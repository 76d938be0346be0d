"""``porfin init``: set up (or complete) an installation: the clinic, the first administrator,
the first WhatsApp number, the OpenAI key and the PIX key.

At a terminal, what was not given as an option is asked; with ``--no-input`` (or without a
terminal) only the options count. Credentials are checked live with their provider before
anything is saved. Running it again changes what is given and keeps the rest.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from porfin_cli.runtime import cli_actor, describe, fail, print_json, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_adapters.health import CheckResult
    from porfin_adapters.settings import Settings
    from porfin_core.domain.channel import Channel
    from porfin_core.domain.clinic import Clinic

T = TypeVar("T")

CHANNELS = ("simulator", "cloud", "evolution")
PROVIDER_OF = {"simulator": "simulator", "cloud": "cloud_api", "evolution": "evolution"}
DEFAULT_CHANNEL_NAME = "WhatsApp"


@dataclass
class Plan:
    """What this run sets: the options given, completed by the answers at the terminal."""

    clinic_name: str | None = None
    timezone: str | None = None
    city: str | None = None
    state: str | None = None
    admin_name: str | None = None
    admin_email: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    channel: str | None = None
    channel_name: str = DEFAULT_CHANNEL_NAME
    phone: str | None = None
    provider_settings: dict[str, str] = field(default_factory=dict, repr=False)
    openai_key: str | None = field(default=None, repr=False)
    pix_key: str | None = None
    checks: list[CheckResult] = field(default_factory=list)


@dataclass(frozen=True)
class Existing:
    """What the installation already has (nothing when it is new)."""

    clinic: Clinic | None
    admins: list[str]
    """E-mails of the clinic's active administrators."""
    emails: list[str]
    """E-mails of every account of the clinic."""
    numbers: list[str]
    """Names of the clinic's live WhatsApp channels other than the simulator."""


# -- validation (the core's rules, applied as soon as a value is typed) ----------------------


def _timezone(value: str) -> str:
    from porfin_core.domain.clinic import Clinic

    Clinic(id="check", name="check", timezone=value.strip())  # the clinic's own rule
    return value.strip()


def _state(value: str) -> str:
    from porfin_core.domain.clinic import BRAZILIAN_STATES
    from porfin_core.errors import ValidationError

    uf = value.strip().upper()
    if uf not in BRAZILIAN_STATES:
        raise ValidationError("state must be a Brazilian state's two-letter code (UF)")
    return uf


def _email(value: str) -> str:
    from porfin_core.domain.staff import normalize_email

    return normalize_email(value)


def _password(value: str) -> str:
    from porfin_core.use_cases.create_staff_user import check_password

    return check_password(value)


def _pix_key(value: str) -> str:
    from porfin_core.domain.pix_keys import parse_pix_key

    return parse_pix_key(value).value


def _phone(value: str) -> str:
    from porfin_core.domain.phone import normalize_phone

    return normalize_phone(value)


LABELS_PT = {
    "_timezone": "fuso horário",
    "_state": "estado",
    "_email": "e-mail do administrador",
    "_password": "senha do administrador",
    "_pix_key": "chave PIX",
    "_phone": "número do canal",
}


def _checked(check: Callable[[str], T], value: str) -> T:
    """``check(value)``, or one line on stderr (naming the value) and exit 1."""
    from porfin_core.errors import PorfinError

    try:
        return check(value)
    except PorfinError as exc:
        label = LABELS_PT.get(check.__name__, check.__name__)
        fail(f"{label}: {describe(exc.code, exc.message)}")


# -- prompts ------------------------------------------------------------------------------


def _ask(
    text: str,
    *,
    default: str | None = None,
    optional: bool = False,
    hide: bool = False,
    confirm: bool = False,
    check: Callable[[str], str] | None = None,
) -> str | None:
    """Ask until the answer passes ``check``; an empty answer to an optional question is
    None."""
    from porfin_core.errors import PorfinError

    while True:
        answer: str = typer.prompt(
            text,
            default=default if default is not None else ("" if optional else None),
            show_default=default is not None and not hide,
            hide_input=hide,
            confirmation_prompt="Repita" if confirm else False,
        ).strip()
        if optional and not answer:
            return None
        if not answer:
            continue
        if check is None:
            return answer
        try:
            return check(answer)
        except PorfinError as exc:
            typer.echo(f"  {describe(exc.code, exc.message)}", err=True)


def _choose_channel(default: str) -> str:
    typer.echo("Primeiro número de WhatsApp:")
    typer.echo("  1) simulador (experimentar sem WhatsApp)")
    typer.echo("  2) Meta Cloud API (API oficial)")
    typer.echo("  3) Evolution API (WhatsApp Web, servidor próprio)")
    while True:
        answer = str(typer.prompt("Escolha", default=str(CHANNELS.index(default) + 1))).strip()
        if answer in ("1", "2", "3"):
            return CHANNELS[int(answer) - 1]
        if answer in CHANNELS:
            return answer
        typer.echo("  responda 1, 2 ou 3", err=True)


def _ask_channel_settings(plan: Plan) -> None:
    assert plan.channel in ("cloud", "evolution")
    plan.channel_name = _ask("Nome do canal", default=plan.channel_name) or plan.channel_name
    plan.phone = _ask("Número do WhatsApp (com DDD)", default=plan.phone, check=_phone)
    given = plan.provider_settings
    if plan.channel == "cloud":
        questions = [
            ("phone_number_id", "ID do número de telefone (phone_number_id)", False),
            ("waba_id", "ID da conta do WhatsApp Business (waba_id)", False),
            ("access_token", "Token de acesso (usuário do sistema)", True),
            ("app_secret", "Chave secreta do app (app secret)", True),
        ]
    else:
        questions = [
            ("base_url", "Endereço do servidor Evolution (https://...)", False),
            ("instance", "Nome da instância", False),
            ("api_key", "Chave da API (apikey)", True),
        ]
    for name, text, secret in questions:
        if secret and given.get(name):
            continue
        given[name] = _ask(text, default=given.get(name), hide=secret) or ""


def _interactive_plan(
    plan: Plan, existing: Existing, settings: Settings, skip_checks: bool
) -> None:
    """Ask for everything the options did not give, checking each answer at once."""
    from porfin_core.domain.clinic import DEFAULT_TIMEZONE

    clinic = existing.clinic
    typer.echo("Vamos configurar o Porfin. Enter aceita o valor entre colchetes.")
    typer.echo("")
    if plan.clinic_name is None:
        plan.clinic_name = _ask("Nome da clínica", default=clinic.name if clinic else None)
    if plan.timezone is None:
        current = clinic.timezone if clinic else DEFAULT_TIMEZONE
        plan.timezone = _ask("Fuso horário", default=current, check=_timezone)
    if plan.city is None:
        plan.city = _ask("Cidade", default=clinic.city if clinic else None, optional=True)
    if plan.state is None:
        current_state = clinic.state if clinic else None
        plan.state = _ask("Estado (UF)", default=current_state, optional=True, check=_state)
    if plan.admin_email is None and not existing.admins:
        typer.echo("")
        typer.echo("Conta de administrador (acesso ao painel):")
        plan.admin_name = plan.admin_name or _ask("Nome")
        plan.admin_email = _ask("E-mail", check=_email)
    if plan.admin_email is not None and plan.admin_email not in existing.emails:
        if plan.admin_password is None:
            plan.admin_password = _ask(
                "Senha (mín. 10 caracteres)", hide=True, confirm=True, check=_password
            )
        else:
            _checked(_password, plan.admin_password)
    if plan.channel is None and not existing.numbers:
        typer.echo("")
        plan.channel = _choose_channel("simulator")
    while plan.channel in ("cloud", "evolution"):
        _ask_channel_settings(plan)
        result = None if skip_checks else _check_channel(plan, settings)
        if result is None or _channel_usable(result):
            _say_check(result)
            break
        _say_check(result)
        if not typer.confirm("Tentar de novo?", default=True):
            typer.echo("Canal não configurado; o simulador continua disponível.")
            plan.channel = "simulator"
            plan.provider_settings = {}
            break
        secret = "access_token" if plan.channel == "cloud" else "api_key"
        plan.provider_settings.pop(secret, None)
    if plan.openai_key is None and not settings.openai_api_key:
        typer.echo("")
        typer.echo("OpenAI (opcional): a recepcionista virtual conversa melhor com um modelo da")
        typer.echo("OpenAI. Sem chave, ela usa o motor offline.")
        while True:
            plan.openai_key = _ask("Chave da OpenAI (Enter para pular)", optional=True, hide=True)
            if plan.openai_key is None:
                break
            if skip_checks:
                break
            result = _check_openai(plan.openai_key, settings)
            _say_check(result)
            if not result.failed:
                break
            if not typer.confirm("Tentar outra chave?", default=False):
                plan.openai_key = None
                typer.echo("Sem OpenAI por enquanto: `porfin init --openai-key` quando quiser.")
                break
    if plan.pix_key is None and not (clinic and clinic.pix_key):
        typer.echo("")
        plan.pix_key = _ask(
            "Chave PIX da clínica (CPF, CNPJ, e-mail, +55... ou aleatória; Enter para pular)",
            optional=True,
            check=_pix_key,
        )


# -- live checks -----------------------------------------------------------------------------


def _check_channel(plan: Plan, settings: Settings) -> CheckResult | None:
    """Ask the provider about the channel's credentials (None: nothing to ask)."""
    import asyncio

    from porfin_adapters import health

    given = plan.provider_settings
    if plan.channel == "cloud" and given.get("phone_number_id") and given.get("access_token"):
        probe = health.probe_cloud_api(
            settings.whatsapp_graph_url,
            given["phone_number_id"],
            given["access_token"],
            api_version=given.get("api_version"),
            target=plan.channel_name,
        )
    elif plan.channel == "evolution" and given.get("api_key") and given.get("base_url"):
        probe = health.probe_evolution(
            given["base_url"], given["api_key"], given.get("instance", ""), target=plan.channel_name
        )
    else:
        return None
    result = asyncio.run(
        health.guarded("channel", plan.channel_name, probe, health.DEFAULT_TIMEOUT)
    )
    plan.checks.append(result)
    return result


def _check_openai(key: str, settings: Settings) -> CheckResult:
    import asyncio

    from porfin_adapters import health

    probe = health.probe_openai(settings.openai_base_url, key)
    result = asyncio.run(health.guarded("openai", "openai", probe, health.DEFAULT_TIMEOUT))
    return result


def _channel_usable(result: CheckResult) -> bool:
    """The credentials work (an Evolution number still to pair is fine: that comes next)."""
    return not result.failed or result.problem == "disconnected"


def _say_check(result: CheckResult | None) -> None:
    from porfin_cli.doctor import report_lines

    if result is not None:
        for line in report_lines([result]):
            typer.echo(line, err=result.failed and result.problem != "disconnected")


def _check_or_fail(result: CheckResult | None, usable: Callable[[CheckResult], bool]) -> None:
    from porfin_cli.doctor import explain

    if result is None or usable(result):
        return
    summary, remedy = explain(result) or (result.problem or "falhou", "veja o detalhe.")
    detail = f" ({result.detail})" if result.detail else ""
    fail(f"{summary}{detail}. O que fazer: {remedy} Para gravar sem verificar: --skip-checks.")


# -- saving -------------------------------------------------------------------------------


async def _existing(container: Container) -> Existing:
    from porfin_core.domain.channel import Provider
    from porfin_core.domain.clinic import Role

    async with container.uow_factory()(read_only=True) as uow:
        clinics = await uow.clinics.list()
        if not clinics:
            return Existing(clinic=None, admins=[], emails=[], numbers=[])
        staff = await uow.staff.list(clinics[0].id)
    channels = await container.list_channels()(clinics[0].id, include_archived=False)
    return Existing(
        clinic=clinics[0],
        admins=[str(u.email) for u in staff if u.role is Role.ADMIN and u.active],
        emails=[str(u.email) for u in staff],
        numbers=[c.name for c in channels if c.provider is not Provider.SIMULATOR],
    )


def _clinic_json(clinic: Clinic, status: str, changed: list[str]) -> dict[str, Any]:
    return {
        "id": clinic.id,
        "name": clinic.name,
        "timezone": clinic.timezone,
        "city": clinic.city,
        "state": clinic.state,
        "status": status,
        "changed": changed,
    }


async def _save_clinic(container: Container, plan: Plan) -> tuple[dict[str, Any], str, bool]:
    """Create the installation or apply the clinic's changes; returns the clinic's JSON, the
    simulator channel's id and whether the installation was just created."""
    from porfin_core.domain.clinic import DEFAULT_TIMEZONE
    from porfin_core.use_cases.update_clinic import ChangeClinic

    set_up = container.set_up_installation()
    installation = await set_up(
        plan.clinic_name or "Minha Clínica", plan.timezone or DEFAULT_TIMEZONE
    )
    clinic = installation.clinic
    wanted = {
        "name": plan.clinic_name,
        "timezone": plan.timezone,
        "city": plan.city,
        "state": plan.state,
        "pix_key": plan.pix_key,
    }
    changes = {k: v for k, v in wanted.items() if v is not None and getattr(clinic, k) != v}
    if changes:
        clinic = await container.update_clinic()(
            ChangeClinic(
                clinic_id=clinic.id,
                actor=cli_actor(),
                name=changes.get("name"),
                timezone=changes.get("timezone"),
                city=changes.get("city"),
                state=changes.get("state"),
                pix_key=changes.get("pix_key"),
            )
        )
    changed = sorted(changes)
    if installation.created:
        status = "created"
    else:
        status = "updated" if set(changed) - {"pix_key"} else "unchanged"
    return _clinic_json(clinic, status, changed), installation.channel.id, installation.created


async def _save_admin(container: Container, plan: Plan, clinic_id: str) -> dict[str, Any] | None:
    from porfin_core.use_cases.create_staff_user import NewStaffUser

    if plan.admin_email is None:
        return None
    async with container.uow_factory()(read_only=True) as uow:
        found = await uow.staff.find_by_email(plan.admin_email)
    if found is not None:
        return {
            "id": found.id,
            "name": found.name,
            "email": str(found.email),
            "role": found.role.value,
            "status": "existing",
        }
    user = await container.create_staff_user()(
        NewStaffUser(
            clinic_id=clinic_id,
            name=plan.admin_name or "Administrador",
            email=plan.admin_email,
            role="admin",
            password=plan.admin_password or "",
            actor=cli_actor(),
        )
    )
    return {
        "id": user.id,
        "name": user.name,
        "email": str(user.email),
        "role": user.role.value,
        "status": "created",
    }


async def _current(container: Container, channel: Channel, name: str) -> str | None:
    """The channel's value of the provider setting ``name`` (a secret read from the store)."""
    from porfin_core.errors import NotFound

    ref = channel.secrets.get(name)
    if ref is not None:
        try:
            return await container.secret_store().get(ref)
        except NotFound:
            return None
    return channel.external_ids.get(name) or channel.settings.get(name)


def _same_account(channel: Channel, plan: Plan) -> bool:
    """The channel is the number the plan describes (same Cloud API id or instance)."""
    key = "phone_number_id" if plan.channel == "cloud" else "instance"
    wanted = plan.provider_settings.get(key)
    return bool(wanted) and channel.external_ids.get(key) == wanted


async def _save_channel(
    container: Container, plan: Plan, clinic_id: str, simulator_id: str
) -> dict[str, Any] | None:
    from porfin_core.use_cases.create_channel import NewChannel
    from porfin_core.use_cases.update_channel import ChangeChannel

    if plan.channel is None:
        return None
    if plan.channel == "simulator":
        return {"id": simulator_id, "provider": "simulator", "status": "existing"}
    provider = PROVIDER_OF[plan.channel]
    settings = {k: v for k, v in plan.provider_settings.items() if v}
    channels = await container.list_channels()(clinic_id, include_archived=False)
    found = next((c for c in channels if _same_account(c, plan)), None)
    changes: dict[str, str | None] = {}
    if found is not None:
        if found.provider.value != provider:
            fail(f"o canal {found.name!r} usa outro provedor ({found.provider.value})")
        changes = {k: v for k, v in settings.items() if await _current(container, found, k) != v}
        if changes or (plan.phone and plan.phone != found.phone):
            found = await container.update_channel()(
                ChangeChannel(
                    clinic_id=clinic_id,
                    channel_id=found.id,
                    phone=plan.phone if plan.phone != found.phone else None,
                    settings=changes,
                    actor=cli_actor(),
                )
            )
            status = "updated"
        else:
            status = "existing"
    else:
        found = await container.create_channel()(
            NewChannel(
                clinic_id=clinic_id,
                name=plan.channel_name,
                provider=provider,
                phone=plan.phone,
                settings=settings,
                actor=cli_actor(),
            )
        )
        status = "created"
    return {
        "id": found.id,
        "name": found.name,
        "provider": found.provider.value,
        "phone": found.phone,
        "status": status,
        "changed": sorted(changes) if status == "updated" else [],
    }


def _save_openai_key(settings: Settings, key: str) -> str:
    """Keep the key in the data directory (mode 0600); says whether it was new."""
    path = settings.openai_key_path
    if path.exists() and path.read_text(encoding="utf-8").strip() == key:
        return "unchanged"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    os.chmod(path, 0o600)
    return "saved"


# -- the command ------------------------------------------------------------------------


def stdin_is_terminal() -> bool:
    """True when a person can answer questions (tests replace it to drive the prompts)."""
    return sys.stdin.isatty()


def _presented(done: dict[str, Any]) -> list[str]:
    """The Portuguese report of what was created, changed or already there."""
    status_pt = {
        "created": "criada",
        "updated": "atualizada",
        "unchanged": "já existia",
        "existing": "já existia",
    }
    clinic = done["clinic"]
    lines = [
        f"Instalação {'criada' if done['created'] else 'já existia'} em {done['data_dir']}",
        f"Clínica: {clinic['name']} ({clinic['id']}) — {status_pt[clinic['status']]}",
        f"Fuso horário: {clinic['timezone']}"
        + (f" · {clinic['city']}" if clinic["city"] else "")
        + (f"/{clinic['state']}" if clinic["state"] else ""),
    ]
    admin = done["admin"]
    if admin is not None:
        state = "criada" if admin["status"] == "created" else "já existia (senha não alterada)"
        lines.append(f"Conta de administrador: {admin['name']} <{admin['email']}> — {state}")
    elif not done["admins"]:
        lines.append("Nenhuma conta de administrador: crie com `porfin init --admin-email ...`.")
    channel = done["channel"]
    if channel is not None and channel["provider"] != "simulator":
        done_pt = {"created": "criado", "updated": "atualizado", "existing": "já existia"}
        provider = {"cloud_api": "Meta Cloud API", "evolution": "Evolution API"}
        lines.append(
            f"Canal: {channel['name']} ({provider[channel['provider']]}, {channel['phone']}) "
            f"— {done_pt[channel['status']]}"
        )
        if channel["provider"] == "evolution" and channel.get("state") != "open":
            lines.append(f"  Conecte o celular: porfin whatsapp connect {channel['name']!r}")
    lines.append(f"Canal simulador: {done['simulator_channel_id']}")
    openai = done["openai"]
    if openai is not None:
        said = {
            "saved": f"chave verificada e guardada em {openai['path']}",
            "unchanged": "a chave já estava guardada",
        }
        lines.append(f"OpenAI: {said[openai['status']]}")
    if "pix_key" in clinic["changed"]:
        lines.append(f"PIX: chave {done['pix_key']} definida")
    elif done["pix_key"] is not None:
        lines.append("PIX: a chave já estava definida")
    lines.append(f"Token de administrador: {done['admin_token']}")
    lines.append("Próximos passos: porfin doctor · porfin serve")
    return lines


def init(
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Pasta dos dados (padrão: ~/.local/share/porfin)."),
    ] = None,
    clinic_name: Annotated[
        str | None, typer.Option("--clinic-name", help="Nome da clínica.")
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option("--timezone", help="Fuso horário IANA (padrão America/Sao_Paulo)."),
    ] = None,
    city: Annotated[str | None, typer.Option("--city", help="Cidade da clínica.")] = None,
    state: Annotated[str | None, typer.Option("--state", help="Estado (UF), ex.: SP.")] = None,
    admin_email: Annotated[
        str | None, typer.Option("--admin-email", help="E-mail da conta de administrador.")
    ] = None,
    admin_name: Annotated[
        str | None, typer.Option("--admin-name", help="Nome do administrador.")
    ] = None,
    admin_password: Annotated[
        str | None,
        typer.Option(
            "--admin-password",
            envvar="PORFIN_ADMIN_PASSWORD",
            show_envvar=True,
            help="Senha do administrador (mín. 10 caracteres).",
        ),
    ] = None,
    channel: Annotated[
        str | None,
        typer.Option("--channel", help="Primeiro canal: simulator, cloud ou evolution."),
    ] = None,
    channel_name: Annotated[
        str, typer.Option("--channel-name", help="Nome do canal.")
    ] = DEFAULT_CHANNEL_NAME,
    phone: Annotated[
        str | None, typer.Option("--phone", help="Número do WhatsApp do canal.")
    ] = None,
    cloud_phone_number_id: Annotated[
        str | None, typer.Option("--cloud-phone-number-id", help="Cloud API: phone_number_id.")
    ] = None,
    cloud_waba_id: Annotated[
        str | None, typer.Option("--cloud-waba-id", help="Cloud API: waba_id.")
    ] = None,
    cloud_access_token: Annotated[
        str | None,
        typer.Option(
            "--cloud-access-token",
            envvar="PORFIN_CLOUD_ACCESS_TOKEN",
            show_envvar=True,
            help="Cloud API: token de acesso.",
        ),
    ] = None,
    cloud_app_secret: Annotated[
        str | None,
        typer.Option(
            "--cloud-app-secret",
            envvar="PORFIN_CLOUD_APP_SECRET",
            show_envvar=True,
            help="Cloud API: app secret (assinatura dos webhooks).",
        ),
    ] = None,
    cloud_verify_token: Annotated[
        str | None,
        typer.Option("--cloud-verify-token", help="Cloud API: token de verificação do webhook."),
    ] = None,
    evolution_url: Annotated[
        str | None, typer.Option("--evolution-url", help="Evolution: endereço do servidor.")
    ] = None,
    evolution_instance: Annotated[
        str | None, typer.Option("--evolution-instance", help="Evolution: nome da instância.")
    ] = None,
    evolution_api_key: Annotated[
        str | None,
        typer.Option(
            "--evolution-api-key",
            envvar="PORFIN_EVOLUTION_API_KEY",
            show_envvar=True,
            help="Evolution: apikey.",
        ),
    ] = None,
    openai_key: Annotated[
        str | None, typer.Option("--openai-key", help="Chave da API da OpenAI.")
    ] = None,
    pix_key: Annotated[str | None, typer.Option("--pix-key", help="Chave PIX da clínica.")] = None,
    skip_checks: Annotated[
        bool,
        typer.Option("--skip-checks", help="Não verificar as credenciais com os provedores."),
    ] = False,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Nunca perguntar: só as opções valem.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Saída em JSON.")] = False,
) -> None:
    """Configura a instalação: clínica, administrador, primeiro WhatsApp, OpenAI e PIX.

    No terminal, pergunta o que faltar; com --no-input, só as opções valem. Pode ser rodado
    de novo: muda o que for dado e mantém o resto.
    """
    from porfin_adapters.tokens import ensure_admin_token

    if channel is not None and channel not in CHANNELS:
        fail(f"canal inválido: {channel!r} (use simulator, cloud ou evolution)")
    given: dict[str, str | None] = {
        "phone_number_id": cloud_phone_number_id,
        "waba_id": cloud_waba_id,
        "access_token": cloud_access_token,
        "app_secret": cloud_app_secret,
        "webhook_verify_token": cloud_verify_token,
    }
    if channel == "evolution":
        given = {
            "base_url": evolution_url,
            "instance": evolution_instance,
            "api_key": evolution_api_key,
        }
    plan = Plan(
        clinic_name=clinic_name.strip() if clinic_name else None,
        timezone=_checked(_timezone, timezone) if timezone else None,
        city=city.strip() if city else None,
        state=_checked(_state, state) if state else None,
        admin_name=admin_name,
        admin_email=_checked(_email, admin_email) if admin_email else None,
        admin_password=admin_password,
        channel=channel,
        channel_name=channel_name,
        phone=_checked(_phone, phone) if phone else None,
        provider_settings={k: v for k, v in given.items() if v},
        openai_key=openai_key.strip() if openai_key else None,
        pix_key=_checked(_pix_key, pix_key) if pix_key else None,
    )
    settings = settings_for(data_dir)
    existing = run_local(settings, _existing)
    at_terminal = not no_input and stdin_is_terminal()
    missing = (
        (plan.clinic_name is None and existing.clinic is None)
        or (plan.admin_email is None and not existing.admins)
        or (plan.channel is None and not existing.numbers)
    )
    if at_terminal and missing:
        _interactive_plan(plan, existing, settings, skip_checks)
    else:
        _complete_from_options(plan, existing, at_terminal, settings, skip_checks)

    async def work(container: Container) -> dict[str, Any]:
        clinic, simulator_id, created = await _save_clinic(container, plan)
        admin = await _save_admin(container, plan, clinic["id"])
        channel_done = await _save_channel(container, plan, clinic["id"], simulator_id)
        return {
            "clinic": clinic,
            "simulator_channel_id": simulator_id,
            "created": created,
            "admin": admin,
            "channel": channel_done,
        }

    done = run_local(settings, work)
    token, token_created = ensure_admin_token(settings)
    done["created"] = done["created"] or token_created
    done["data_dir"] = str(settings.data_dir)
    done["admins"] = existing.admins
    done["pix_key"] = plan.pix_key
    done["openai"] = None
    if plan.openai_key is not None:
        status = _save_openai_key(settings, plan.openai_key)
        done["openai"] = {"status": status, "path": str(settings.openai_key_path)}
    if done["channel"] is not None:
        for result in plan.checks:
            if result.check == "channel":
                done["channel"]["check"] = {
                    "status": result.status.value,
                    "problem": result.problem,
                    **{
                        k: v
                        for k, v in result.facts.items()
                        if k in ("state", "display_phone_number")
                    },
                }
                if "state" in result.facts:
                    done["channel"]["state"] = result.facts["state"]
    done["admin_token"] = token
    if as_json:
        print_json({k: v for k, v in done.items() if k != "admins"})
        return
    for line in _presented(done):
        typer.echo(line)


def _complete_from_options(
    plan: Plan, existing: Existing, at_terminal: bool, settings: Settings, skip_checks: bool
) -> None:
    """Without questions: check that the options are enough, and their credentials live."""
    new_account = plan.admin_email is not None and plan.admin_email not in existing.emails
    if new_account and plan.admin_password is None:
        if at_terminal:
            plan.admin_password = _ask(
                "Senha do administrador", hide=True, confirm=True, check=_password
            )
        else:
            fail("informe a senha do administrador: --admin-password ou PORFIN_ADMIN_PASSWORD")
    if new_account and plan.admin_password is not None:
        _checked(_password, plan.admin_password)
    if plan.channel in ("cloud", "evolution") and not skip_checks:
        _check_or_fail(_check_channel(plan, settings), _channel_usable)
    if plan.openai_key is not None and not skip_checks:
        _check_or_fail(_check_openai(plan.openai_key, settings), lambda r: not r.failed)
