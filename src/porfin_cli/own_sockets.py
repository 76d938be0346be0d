"""Several uvicorn worker processes, each listening on a socket of its own.

uvicorn's supervisor binds one socket and every worker accepts from it. A worker accepts every
connection waiting when its event loop looks, so whichever worker looks first takes a whole
burst of new connections: a client that opens its keep-alive connections together (a reverse
proxy, Meta's webhook senders, the ingest benchmark) ends up with two thirds of them on one
worker, which then runs at its limit while the other is half idle, for as long as the
connections last. Measured with the ingest benchmark: 69-72% of the requests on one worker,
every run.

With ``SO_REUSEPORT`` each worker listens on a socket of its own, bound in the worker, and the
kernel spreads new connections across the sockets by a hash of their addresses. A worker that
dies takes its socket with it, so no connection waits on a socket nobody accepts from.
Linux only: on other systems ``porfin serve`` keeps uvicorn's shared socket (their
``SO_REUSEPORT`` does not spread connections).
"""

from __future__ import annotations

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess

log = logging.getLogger("uvicorn.error")

SPREADS_CONNECTIONS = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")
"""Whether the kernel spreads connections across sockets sharing a port (Linux)."""


def own_socket(config: uvicorn.Config) -> socket.socket:
    """A socket bound to the configured address that other workers may bind too
    (``SO_REUSEPORT``); exits with uvicorn's startup-failure code if it cannot be bound."""
    family = socket.AF_INET6 if config.host and ":" in config.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((config.host, config.port))
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, config.port, exc)
        sock.close()
        sys.exit(STARTUP_FAILURE)
    return sock


class OwnSocketProcess(multiprocess.Process):
    """A uvicorn worker process that listens on :func:`own_socket` instead of the socket the
    supervisor would share."""

    def target(self, sockets: list[socket.socket] | None = None) -> None:  # pragma: no cover
        # Runs in the worker process (the coverage of subprocesses is not collected).
        super().target([own_socket(self.config)])


def run_on_own_sockets(config: uvicorn.Config) -> None:
    """Run ``config.workers`` worker processes under uvicorn's supervisor (restarts of dead
    workers, ``SIGHUP`` reloads, ``SIGTERM``), each on a socket of its own; only where
    :data:`SPREADS_CONNECTIONS`."""
    # The supervisor makes every worker, the first ones and their replacements, through this
    # module-level name; this process does nothing else.
    multiprocess.Process = OwnSocketProcess  # type: ignore[misc]
    log.info(
        "%d workers on %s:%d, each on a socket of its own", config.workers, config.host, config.port
    )
    multiprocess.Multiprocess(config, sockets=[]).run()
