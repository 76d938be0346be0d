"""``porfin serve``: set up the embedded installation and run the API (``porfin init``, the
onboarding, lives in init.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from porfin_cli.runtime import fail, run_local, settings_for

if TYPE_CHECKING:
    from porfin_adapters.container import Container
    from porfin_adapters.settings import Settings
    from porfin_core.use_cases.set_up_installation import Installation

DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Pasta dos dados (padrão: ~/.local/share/porfin)."),
]


def _set_up(data_dir: Path | None) -> tuple[Settings, Installation, str, bool]:
    """Create (or find) the installation; returns it with the admin token."""
    from porfin_adapters.tokens import ensure_admin_token

    settings = settings_for(data_dir)

    async def work(container: Container) -> Installation:
        return await container.set_up_installation()()

    installation = run_local(settings, work)
    token, token_created = ensure_admin_token(settings)
    return settings, installation, token, token_created or installation.created


def _check_free(host: str, port: int, url: str) -> None:
    """Fail with one line if nothing can listen on ``host:port``."""
    import socket

    try:
        with socket.create_server((host, port)):
            pass
    except OSError as exc:
        fail(f"não foi possível escutar em {url}: {exc.strerror or exc}")


APP = "porfin_http.app:create_app_from_env"
"""The application factory uvicorn runs in each worker."""

PROMETHEUS_FILES = ("counter_", "gauge_", "histogram_", "summary_")


def _share_metrics(settings: Settings, workers: int) -> None:
    """With several workers, /metrics must add up every worker's values: prometheus-client's
    multiprocess mode keeps them in files of ``PROMETHEUS_MULTIPROC_DIR`` (set here to
    ``<data_dir>/prometheus`` unless already set). A previous run's files are removed."""
    if not settings.metrics_enabled:
        return
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not directory:
        if workers <= 1:
            return
        directory = str(settings.data_dir / "prometheus")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        if stale.name.startswith(PROMETHEUS_FILES):
            stale.unlink(missing_ok=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Endereço (padrão 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Porta (padrão 8000).", min=1, max=65535)] = None,
    data_dir: DataDir = None,
    workers: Annotated[
        int | None, typer.Option(help="Processos HTTP (padrão 1).", min=1, max=32)
    ] = None,
) -> None:
    """Inicia a API (Litestar + uvicorn) sobre a instalação local."""
    import uvicorn

    from porfin_cli.own_sockets import SPREADS_CONNECTIONS, run_on_own_sockets

    settings, installation, token, created = _set_up(data_dir)
    host = host or settings.host
    port = port or settings.port
    url = f"http://{host}:{port}"
    _check_free(host, port, url)
    if created:
        typer.echo("Primeira execução: instalação criada.")
    typer.echo(f"Porfin em {url}  (dados: {settings.data_dir}, armazenamento: {settings.storage})")
    typer.echo(f"Documentação da API: {url}/schema")
    typer.echo(f"Token de administrador: {token}")
    typer.echo(f"Canal simulador: {installation.channel.id}")
    typer.echo(
        f'Experimente: porfin simulate "Olá, quero marcar uma limpeza" '
        f"--from +5511987654321 --url {url}"
    )
    # The server (and each worker process) reads its settings from the environment.
    os.environ["PORFIN_DATA_DIR"] = str(settings.data_dir)
    workers = workers or settings.workers
    _share_metrics(settings, workers)
    options: dict[str, Any] = {
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "uvloop",
        "http": "porfin_http.server:CoalescingHttpToolsProtocol",  # one write per response
        "access_log": False,  # Porfin's own (PORFIN_ACCESS_LOG) has the route and request id
        "log_level": "warning",
        "log_config": None,  # uvicorn's records go through Porfin's logging (same format)
    }
    try:
        if workers > 1 and SPREADS_CONNECTIONS:
            # Each worker on a socket of its own, so connections spread evenly across them.
            run_on_own_sockets(uvicorn.Config(APP, **options))
        else:
            uvicorn.run(APP, **options)
    except OSError as exc:
        fail(f"não foi possível iniciar o servidor em {url}: {exc}")
