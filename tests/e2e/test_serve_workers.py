"""``porfin serve --workers N``: each worker listens on a socket of its own, so the kernel
spreads connections evenly across the workers (porfin_cli.own_sockets)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from porfin_cli.own_sockets import SPREADS_CONNECTIONS
from tests.support import free_port, serve

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not SPREADS_CONNECTIONS, reason="SO_REUSEPORT spreads connections on Linux"),
]

LISTEN, ESTABLISHED = "0A", "01"


def _sockets_on(port: int) -> dict[str, list[int]]:
    """Inodes of the TCP sockets on local port ``port``, by state (``/proc/net/tcp``)."""
    found: dict[str, list[int]] = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            found.setdefault(fields[3], []).append(int(fields[9]))
    return found


def _owners(pids: list[int]) -> dict[int, int]:
    """Socket inode -> the process (of ``pids``) that holds it open."""
    owners = {}
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:  # closed meanwhile
                continue
            if target.startswith("socket:["):
                owners[int(target[8:-1])] = pid
    return owners


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(child) for child in out.split()]


def test_each_worker_listens_on_its_own_socket_and_connections_spread(tmp_path):
    port = free_port()
    env = {**os.environ, "PORFIN_DATA_DIR": str(tmp_path)}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = serve(port, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    clients: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 30
        while len(_sockets_on(port).get(LISTEN, [])) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            assert response.status == 200
        listening = _sockets_on(port)[LISTEN]
        owners = _owners([proc.pid, *_children(proc.pid)])
        # One listening socket per worker process, none in the supervisor.
        workers = [owners[inode] for inode in listening]
        assert len(set(workers)) == 2
        assert proc.pid not in workers

        # A burst of 64 connections opened together: the kernel hashes them across both
        # sockets (each gets at least 12 but with a chance below one in ten million).
        for _ in range(64):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        deadline = time.monotonic() + 10
        while True:
            owners = _owners(workers)
            served = [owners[i] for i in _sockets_on(port).get(ESTABLISHED, []) if i in owners]
            if len(served) == 64 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(served) == 64
        assert min(served.count(worker) for worker in workers) >= 12
    finally:
        for client in clients:
            client.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
