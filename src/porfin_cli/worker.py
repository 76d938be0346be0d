"""``porfin worker``: the background work of an installation, without the HTTP API.

Runs what ``porfin serve`` runs beside the API (the job worker, the outbound sender, the
event dispatcher) until SIGINT or SIGTERM, then lets the work in progress finish. Start one
or more next to the API processes, or alone where nothing serves HTTP; they share the work
through the store.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import TYPE_CHECKING

import typer

from porfin_cli.runtime import porfin_errors, settings_for
from porfin_cli.serve import DataDir

if TYPE_CHECKING:
    import asyncio

    from porfin_adapters.container import Container
    from porfin_adapters.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def run_workers(
    container: Container, stop: asyncio.Event, ready: Callable[[], None] | None = None
) -> None:
    """Start ``container``'s background work, call ``ready``, wait for ``stop``, then stop
    it (jobs and sends in progress finish and are recorded)."""
    import porfin_adapters.container as composition

    await composition.start(container)
    try:
        if ready is not None:
            ready()
        await stop.wait()
    finally:
        await composition.stop(container)


def _worker_settings(settings: Settings) -> Settings:
    import attrs

    # The API's processes watch the Evolution numbers: they see the webhooks.
    return attrs.evolve(settings, evolution_health_interval_seconds=0)


async def _main(settings: Settings) -> None:
    import asyncio

    import porfin_adapters.container as composition

    container = composition.create_container(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop.set)
    try:

        def ready() -> None:
            typer.echo(
                f"Porfin worker em execução (dados: {settings.data_dir}, armazenamento: "
                f"{settings.storage}, tarefas simultâneas: {settings.job_worker_concurrency}). "
                "Ctrl-C para parar."
            )

        await run_workers(container, stop, ready)
    finally:
        for signum in STOP_SIGNALS:
            loop.remove_signal_handler(signum)
    typer.echo("Porfin worker parado.")


def worker(data_dir: DataDir = None) -> None:
    """Executa o trabalho em segundo plano (tarefas agendadas, envios, eventos) sem a API."""
    import asyncio

    from porfin_adapters.logs import configure_logging

    settings = _worker_settings(settings_for(data_dir))
    configure_logging(settings)
    with porfin_errors():
        asyncio.run(_main(settings))
