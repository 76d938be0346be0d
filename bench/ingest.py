"""Inbound ingest benchmark: wrk -> HTTP simulator webhook -> use case -> SQLite -> 200.

Starts ``porfin serve`` on a fresh data directory, drives it from wrk (Debian package ``wrk``)
on loopback with unique messages from a pool of patients (new customers and chats at first,
then existing ones), and prints, for a paced run at the target rate and for a saturation run:

    ingest: <N> msg/s p50 <x> ms p99 <y> ms

Every response must be a 200 and no acknowledged message may be missing from the database
(duplicates are impossible: provider ids are unique); the script checks both.

Usage: ``python bench/ingest.py [--rate 3000] [--workers 2] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATIENTS = 2000
PACED_CONNECTIONS = 128

LUA = r"""
local counter = 0
local thread_id = 0
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  thread_id = tid
  math.randomseed(tid * 7919 + 17)
end
local per_conn_ms = 0
if os.getenv("PP_RATE") then
  per_conn_ms = 1000 * tonumber(os.getenv("PP_CONNS")) / tonumber(os.getenv("PP_RATE"))
end
-- Exponential think times: each connection is a Poisson source, so requests do not arrive in
-- synchronized bursts of one per connection.
function delay()
  if per_conn_ms == 0 then return 0 end
  return -math.log(1 - math.random()) * per_conn_ms
end
function request()
  counter = counter + 1
  local patient = (counter * 7919 + thread_id * 104729) % __PATIENTS__
  local body = string.format(
    '{"message":{"id":"bench-%s-%d-%d","from":"+55119%08d","name":"Paciente %d",' ..
    '"text":"Olá, gostaria de saber o valor de uma limpeza e se há horário na semana que ' ..
    'vem pela manhã. Tenho convênio, vocês aceitam? Obrigada!"}}',
    os.getenv("PP_RUN"), thread_id, counter, 60000000 + patient, patient)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("PP_TOKEN"),
  }, body)
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("server did not become healthy")


@contextlib.contextmanager
def serving(data_dir: Path, workers: int) -> Iterator[str]:
    """Run ``porfin serve`` on ``data_dir`` on a free port; yields its base URL once healthy."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "porfin_cli",
            "serve",
            "--data-dir",
            str(data_dir),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        # One admin token drives thousands of requests a second: a rate limit it never reaches
        # (the limiter still runs on every /api/v1 request, so its cost is measured).
        env={
            **os.environ,
            "PORFIN_LOG_LEVEL": "warning",
            "PORFIN_RATE_LIMIT_PER_MINUTE": "1000000",
            "PORFIN_RATE_LIMIT_BURST": "1000000",
        },
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base)
        yield base
    finally:
        server.terminate()
        server.wait(30)


def set_up(data_dir: Path) -> tuple[str, str]:
    """Create the installation; return (simulator channel id, admin token)."""
    sys.path.insert(0, str(ROOT / "src"))
    import porfin_adapters.container as composition
    from porfin_adapters.settings import load_settings
    from porfin_adapters.tokens import ensure_admin_token

    settings = load_settings(data_dir=data_dir)

    async def work() -> str:
        container = composition.create_container(settings)
        await composition.start(container)
        try:
            return (await container.set_up_installation()()).channel.id
        finally:
            await composition.stop(container)

    channel_id = asyncio.run(work())
    return channel_id, ensure_admin_token(settings)[0]


def run_wrk(
    url: str, script: Path, seconds: int, env: dict[str, str], connections: int = 64
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            "--latency",
            "--timeout",
            "5s",
            f"-d{seconds}s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        check=True,
    ).stdout
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"errors during the run:\n{out}")

    def latency(label: str) -> float:
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        if match is None:
            raise SystemExit(f"cannot read {label}% from wrk:\n{out}")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    assert rate and total
    return {
        "rate": float(rate.group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "count": int(total.group(1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=3000, help="paced target, msg/s")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    data_dir = Path(tempfile.mkdtemp(prefix="porfin-bench-"))
    channel_id, token = set_up(data_dir)
    with serving(data_dir, args.workers) as base:
        script = data_dir / "ingest.lua"
        script.write_text(LUA.replace("__PATIENTS__", str(PATIENTS)), encoding="utf-8")
        url = f"{base}/webhooks/simulator/{channel_id}"
        env = {"PP_TOKEN": token}
        run_wrk(url, script, 3, {**env, "PP_RUN": "warmup"})
        paced_env = {
            "PP_RUN": "paced",
            "PP_RATE": str(args.rate),
            "PP_CONNS": str(PACED_CONNECTIONS),
        }
        paced = run_wrk(url, script, args.seconds, {**env, **paced_env}, PACED_CONNECTIONS)
        saturated = run_wrk(url, script, args.seconds, {**env, "PP_RUN": "saturation"})
    with sqlite3.connect(data_dir / "porfin.db") as conn:
        stored = {
            run: conn.execute(
                "SELECT COUNT(*) FROM messages WHERE provider_message_id LIKE ?",
                (f"bench-{run}-%",),
            ).fetchone()[0]
            for run in ("paced", "saturation")
        }
        customers = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    print(f"workers={args.workers} patients={PATIENTS} customers={customers}")
    for name, run in (("paced", paced), ("saturation", saturated)):
        print(
            f"[{name}] ingest: {run['rate']:.0f} msg/s p50 {run['p50']:.2f} ms "
            f"p99 {run['p99']:.2f} ms  (sent {run['count']}, stored {stored[name]})"
        )
        if stored[name] < run["count"]:
            raise SystemExit(f"{name}: {run['count'] - stored[name]} acknowledged messages lost")
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
