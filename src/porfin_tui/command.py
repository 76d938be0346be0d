"""``porfin inbox``: the command that opens the terminal inbox.

Registered in the ``porfin`` command through the ``porfin.commands`` entry point (the CLI
package does not import this one). With ``--url`` the inbox talks to a running Porfin API;
without it, it serves the local installation itself: the same API, started in this process on
a free loopback port, on the data directory of ``porfin serve``.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer


def inbox(
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="PORFIN_URL",
            help="API do Porfin (ex.: http://127.0.0.1:8000). Sem ela, abre a instalação local.",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option("--data-dir", help="Pasta dos dados da instalação local (sem --url)."),
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="E-mail para entrar (preenche o login).")
    ] = None,
) -> None:
    """Abre a caixa de entrada da recepção no terminal (conversas, agenda, cobranças)."""
    from porfin_tui.app import InboxApp

    def run(base_url: str) -> None:
        InboxApp.for_server(base_url, email=email).run()

    if url:
        if not url.startswith(("http://", "https://")):
            typer.echo("erro: --url deve começar com http:// ou https://", err=True)
            raise typer.Exit(2)
        run(url)
        return
    try:
        with embedded_server(data_dir) as local_url:
            run(local_url)
    except OSError as exc:
        typer.echo(f"erro: não foi possível abrir a instalação local: {exc}", err=True)
        raise typer.Exit(1) from exc


@contextmanager
def embedded_server(data_dir: Path | None) -> Iterator[str]:
    """The local installation's API on a free loopback port, in a thread, for the block.

    Its logs go to ``<data_dir>/inbox-server.log`` so they never draw over the screen.
    """
    import uvicorn

    if data_dir is not None:
        os.environ["PORFIN_DATA_DIR"] = str(data_dir)
    directory = Path(os.environ.get("PORFIN_DATA_DIR") or _default_data_dir())
    directory.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("PORFIN_LOG_FILE", str(directory / "inbox-server.log"))
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    server = uvicorn.Server(
        uvicorn.Config(
            # By name: the HTTP shell is not imported by this one.
            "porfin_http.app:create_app_from_env",
            factory=True,
            log_config=None,
            log_level="warning",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise OSError(f"o servidor local não iniciou (veja {directory}/inbox-server.log)")
            thread.join(0.05)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def _default_data_dir() -> Path:
    from porfin_adapters.settings import default_data_dir

    return default_data_dir()
