"""Test doubles that are real code: a clock you set and ids you can predict."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 13, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> datetime:
        self.current += timedelta(**delta)
        return self.current


class SequentialIds:
    """Ids ``<prefix>0001``, ``<prefix>0002``...: sortable and readable in failures."""

    def __init__(self, prefix: str = "id") -> None:
        self._counter = itertools.count(1)
        self._prefix = prefix

    def new_id(self) -> str:
        return f"{self._prefix}{next(self._counter):06d}"


def vendor_fixtures(vendor: str) -> Path:
    """The folder of one vendor's recorded payloads (``shared/fixtures/<vendor>``): from
    ``PORFIN_FIXTURES_DIR``, else the ``shared`` folder beside the checkout, else
    ``/work/shared`` (a clone elsewhere, e.g. CI's)."""

    candidates = [
        Path(os.environ["PORFIN_FIXTURES_DIR"]) if os.environ.get("PORFIN_FIXTURES_DIR") else None,
        Path(__file__).resolve().parents[2] / "shared" / "fixtures",
        Path("/work/shared/fixtures"),
    ]
    for folder in candidates:
        if folder is not None and (folder / vendor).is_dir():
            return folder / vendor
    raise FileNotFoundError(
        f"no recorded payloads for {vendor}: set PORFIN_FIXTURES_DIR to the shared/fixtures folder"
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(port: int, env: dict[str, str], workers: int = 2, **popen: Any) -> subprocess.Popen[Any]:
    """Start ``porfin serve`` on ``port`` with ``workers`` worker processes in a session of its
    own (stop it with ``os.killpg(proc.pid, SIGTERM)``); ``popen`` goes to ``subprocess.Popen``."""
    command = ["serve", "--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        [sys.executable, "-m", "porfin_cli", *command], env=env, start_new_session=True, **popen
    )
