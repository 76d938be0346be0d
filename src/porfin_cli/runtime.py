"""What every command needs: settings, a running container or an API client, and errors
printed as one line on stderr with a non-zero exit."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_adapters.settings import Settings
    from porfin_core.domain.audit import Actor

T = TypeVar("T")

# Portuguese for the error codes a person meets at the terminal; the English detail follows.
MESSAGES_PT = {
    "validation_error": "dados inválidos",
    "invalid_phone": "telefone inválido",
    "not_found": "não encontrado",
    "conflict": "conflito com dados existentes",
    "slot_taken": "horário ocupado",
    "invalid_state": "operação não permitida no estado atual",
    "window_closed": "a janela de 24 horas do WhatsApp está fechada; use um modelo aprovado",
    "gateway_error": "o provedor de mensagens recusou ou falhou",
    "calendar_error": "o Google Agenda recusou ou falhou",
    "calendar_resync_required": "o Google Agenda pediu uma sincronização completa",
    "calendar_event_changed": "o evento mudou no Google Agenda enquanto isso",
    "calendar_access_revoked": "o acesso à agenda foi retirado; conecte a agenda de novo",
    "calendar_not_configured": "o Google Agenda não está configurado nesta instalação "
    "(google_client_id e google_client_secret)",
    "storage_unavailable": "o armazenamento não está disponível",
    "transaction_conflict": "muitas alterações ao mesmo tempo; tente de novo",
    "invalid_credentials": "credenciais inválidas",
    "account_locked": "conta bloqueada temporariamente",
    "mfa_required": "informe o código do aplicativo autenticador",
    "forbidden": "sem permissão",
    "payload_too_large": "arquivo grande demais",
    "unsupported_media_type": "formato de arquivo não aceito",
    "model_unavailable": "o modelo de IA não está disponível",
}

EXIT_ERROR = 1


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``message`` as one line on stderr and exit with ``code``."""
    typer.echo(f"erro: {message}", err=True)
    raise typer.Exit(code)


def describe(code: str, detail: str | None) -> str:
    """One line for an error: Portuguese summary, the detail, and the stable code."""
    summary = MESSAGES_PT.get(code)
    parts = [p for p in (summary, detail) if p]
    return f"{' — '.join(parts)} [{code}]"


def _alternatives(slots: Any) -> str:
    """The free times a refused booking offers (``slot_taken``), in the clinic's time, on the
    same line: `` — livres: 26/11 08:15, 26/11 09:45``."""
    if not slots:
        return ""
    times = [f"{s.start:%d/%m %H:%M}" for s in slots if hasattr(s, "start")]
    return f" — livres: {', '.join(times)}" if times else ""


@contextmanager
def porfin_errors() -> Iterator[None]:
    """Turn Porfin's and the network's errors into one line on stderr."""
    import httpx

    from porfin_core.errors import PorfinError

    try:
        yield
    except PorfinError as exc:
        fail(describe(exc.code, exc.message) + _alternatives(exc.fields.get("alternatives")))
    except httpx.HTTPError as exc:
        fail(f"não foi possível falar com o servidor: {exc}")
    except OSError as exc:
        fail(str(exc))


def settings_for(data_dir: Path | None) -> Settings:
    """Settings from the environment and porfin.toml, with ``--data-dir`` on top."""
    from porfin_adapters.settings import load_settings

    with porfin_errors():
        return load_settings(data_dir=data_dir)


def run_local(settings: Settings, work: Callable[[Container], Awaitable[T]]) -> T:
    """Run ``work`` against the local installation (storage opened, events dispatched)."""
    import asyncio

    import attrs

    import porfin_adapters.container as composition

    async def main() -> T:
        # A command watches no WhatsApp connections and runs no jobs: the server (or
        # `porfin worker`) does.
        local = attrs.evolve(
            settings, evolution_health_interval_seconds=0, job_worker_concurrency=0
        )
        container = composition.create_container(local)
        await composition.start(container)
        try:
            return await work(container)
        finally:
            await composition.stop(container)

    with porfin_errors():
        return asyncio.run(main())


class ApiClient:
    """A small client of a running Porfin API."""

    def __init__(self, url: str, token: str | None) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=10)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call the API; a problem-details answer becomes a one-line error."""
        with porfin_errors():
            response = self._client.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                problem = response.json()
                detail = problem.get("detail") or problem.get("title")
                code = str(problem.get("code", response.status_code))
            except ValueError:
                detail, code = response.text[:200], str(response.status_code)
            fail(describe(code, detail))
        return response.json()


def api_client(url: str, token: str | None, settings: Settings) -> ApiClient:
    """A client for ``url``; the token comes from ``--token``, PORFIN_TOKEN or the data dir."""
    from porfin_adapters.tokens import read_admin_token

    return ApiClient(url, token or read_admin_token(settings))


def print_json(value: Any) -> None:
    """Pretty JSON on stdout (UTF-8, accents kept)."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def cli_actor() -> Actor:
    """Who acts at the terminal, for the audit log: the operating-system user running the
    command (``cli:<login>``), with source ``cli``."""
    import getpass

    from porfin_core.domain.audit import Actor, ActorKind

    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        login = "unknown"
    return Actor(id=f"cli:{login}", kind=ActorKind.SYSTEM, source="cli")
