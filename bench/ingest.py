"""Inbound ingest benchmark: wrk -> HTTP simulator webhook -> use case -> SQLite -> 200.

Starts ``porfin serve`` on a fresh data directory, drives it from wrk (Debian package ``wrk``)
on loopback with unique messages from a pool of patients (new customers and chats at first,
then existing ones), and prints, for a paced run at the target rate and for a saturation run:

    ingest: <N> msg/s p50 <x> ms p99 <y> ms

Every response must be a 200 and no acknowledged message may be missing from the database
(duplicates are impossible: provider ids are unique); the script checks both.

``--route cloud`` drives the Meta Cloud API webhook instead
(``POST /webhooks/whatsapp/cloud/{channel_id}``, signature check included): the signed
text-message bodies are generated beforehand, one file per run, and the Lua script only cycles
through them.

Usage: ``python bench/ingest.py [--route simulator|cloud] [--rate 3000] [--workers 2]
[--seconds 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import hashlib
import hmac
import json
import os
import re
import resource
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

# Open-loop pacing, in place of both scripts' __PACING__ line: each wrk thread is a Poisson
# source of PP_RATE / PP_THREADS requests a second on its own clock (LuaJIT's ffi reads
# CLOCK_MONOTONIC). Every request a connection is about to send takes the thread's next
# arrival time and waits for it, so the offered rate does not depend on how fast the server
# answers (a closed loop with think times slows down as latency grows). Requests already due
# when a connection frees up leave at once: a server that falls behind shows in the achieved
# rate. wrk's timers count whole milliseconds, so a request may leave up to 1 ms early.
PACING = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } pp_timespec;
int clock_gettime(int clk_id, pp_timespec *tp);
]]
local clock = ffi.new("pp_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local gap_ms = 0
if os.getenv("PP_RATE") then
  gap_ms = 1000 * tonumber(os.getenv("PP_THREADS")) / tonumber(os.getenv("PP_RATE"))
end
local next_ms = nil
function delay()
  if gap_ms == 0 then return 0 end
  local now = now_ms()
  next_ms = (next_ms or now) - math.log(1 - math.random()) * gap_ms
  return math.max(0, next_ms - now)
end
"""

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
__PACING__
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


# Cloud API route: ``<X-Hub-Signature-256>\t<body>`` lines written by ``write_signed_bodies``;
# each thread takes every n-th line, so the threads never send the same message.
CLOUD_LUA = r"""
local threads = {}
local lines = {}
local counter = 0
local step = 1
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
function init(args)
  step = tonumber(os.getenv("PP_THREADS"))
  counter = tid
  for line in io.lines(os.getenv("PP_BODIES")) do
    local tab = string.find(line, "\t", 1, true)
    table.insert(lines, {string.sub(line, 1, tab - 1), string.sub(line, tab + 1)})
  end
  math.randomseed(tid * 7919 + 17)
end
__PACING__
function request()
  local entry = lines[(counter % #lines) + 1]
  counter = counter + step
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = entry[1],
  }, entry[2])
end
"""
CLOUD_SECRET = "bench-app-secret-0123456789abcdef"
CLOUD_NUMBER_ID = "106540352242922"
WRK_THREADS = 1
"""wrk's threads by default (``--wrk-threads``): wrk shares the server's two cores, and one
thread drives the paced connections with about a third less CPU per request than two."""


def write_signed_bodies(path: Path, run: str, count: int) -> int:
    """Write ``count`` signed Cloud API text-message webhooks (unique wamids) to ``path``."""
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            patient = (n * 7919) % PATIENTS
            wa_id = f"55119{60000000 + patient:08d}"
            body = {
                "object": "whatsapp_business_account",
                "entry": [
                    {
                        "id": "102290129340398",
                        "changes": [
                            {
                                "field": "messages",
                                "value": {
                                    "messaging_product": "whatsapp",
                                    "metadata": {
                                        "display_phone_number": "5511987654321",
                                        "phone_number_id": CLOUD_NUMBER_ID,
                                    },
                                    "contacts": [
                                        {"profile": {"name": f"Paciente {patient}"}, "wa_id": wa_id}
                                    ],
                                    "messages": [
                                        {
                                            "from": wa_id,
                                            "id": f"wamid.bench-{run}-{n}",
                                            "timestamp": "1750000000",
                                            "type": "text",
                                            "text": {
                                                "body": "Olá, gostaria de saber o valor de uma "
                                                "limpeza e se há horário na semana que vem pela "
                                                "manhã. Tenho convênio, vocês aceitam? Obrigada!"
                                            },
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                ],
            }
            raw = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
            digest = hmac.new(CLOUD_SECRET.encode(), raw, hashlib.sha256).hexdigest()
            out.write(f"sha256={digest}\t{raw.decode()}\n")
    return count


def _workload() -> float:
    """CPU seconds of a fixed Python workload: JSON encode and decode and an HMAC of a
    webhook-sized body, 20,000 times."""
    body = {
        "entry": [{"changes": [{"value": {"messages": [{"id": "wamid.x", "text": "Olá" * 40}]}}]}]
    }
    start = time.process_time()
    for _ in range(20_000):
        raw = json.dumps(body)
        hmac.new(b"calibration", raw.encode(), hashlib.sha256).hexdigest()
        json.loads(raw)
    return time.process_time() - start


def calibrate(rounds: int = 3) -> float:
    """Milliseconds of :func:`_workload` run by two processes at once (on both cores), the
    slower of the two, best of ``rounds``: how fast the machine is at the time of a run, to
    compare runs of different hours (lower is faster)."""
    best = float("inf")
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        for _ in range(rounds):
            both = [pool.submit(_workload), pool.submit(_workload)]
            best = min(best, max(future.result() for future in both))
    return 1000 * best


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


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of process ``pid`` and its living descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    tree, grown = {pid}, True
    while grown:
        found = {child for child, parent in parents.items() if parent in tree}
        grown = not found <= tree
        tree |= found
    return sum(times.get(member, 0.0) for member in tree)


@contextlib.contextmanager
def serving(data_dir: Path, workers: int) -> Iterator[tuple[str, int]]:
    """Run ``porfin serve`` on ``data_dir`` on a free port; yields its base URL and process id
    once healthy."""
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
        yield base, server.pid
    finally:
        server.terminate()
        server.wait(30)


def set_up(data_dir: Path, route: str = "simulator") -> tuple[str, str]:
    """Create the installation (and a Cloud API channel for ``route`` cloud); return (the
    channel id, admin token)."""
    sys.path.insert(0, str(ROOT / "src"))
    import porfin_adapters.container as composition
    from porfin_adapters.settings import load_settings
    from porfin_adapters.tokens import ensure_admin_token
    from porfin_core.use_cases.create_channel import NewChannel

    settings = load_settings(data_dir=data_dir)

    async def work() -> str:
        container = composition.create_container(settings)
        await composition.start(container)
        try:
            installation = await container.set_up_installation()()
            if route != "cloud":
                return installation.channel.id
            channel = await container.create_channel()(
                NewChannel(
                    clinic_id=installation.clinic.id,
                    name="Bench",
                    provider="cloud_api",
                    phone="+5511987654321",
                    settings={
                        "phone_number_id": CLOUD_NUMBER_ID,
                        "waba_id": "102290129340398",
                        "access_token": "EAAG-bench-" + "x" * 20,
                        "app_secret": CLOUD_SECRET,
                    },
                )
            )
            return channel.id
        finally:
            await composition.stop(container)

    channel_id = asyncio.run(work())
    return channel_id, ensure_admin_token(settings)[0]


def run_wrk(
    url: str,
    script: Path,
    seconds: int,
    env: dict[str, str],
    server_pid: int,
    connections: int = 64,
    threads: int = 2,
) -> dict[str, float]:
    """Run wrk; return its rate, p50, p99 and request count, and the CPU time per request of
    the server (all its processes) and of wrk, in microseconds."""
    server_cpu = tree_cpu_seconds(server_pid)
    wrk_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
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
    server_cpu = tree_cpu_seconds(server_pid) - server_cpu
    wrk_usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (wrk_usage.ru_utime - wrk_cpu.ru_utime) + (wrk_usage.ru_stime - wrk_cpu.ru_stime)
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
    count = int(total.group(1))
    return {
        "rate": float(rate.group(1)),
        "p50": latency("50"),
        "p99": latency("99"),
        "count": count,
        "server_us": 1e6 * server_cpu / max(count, 1),
        "wrk_us": 1e6 * wrk_cpu / max(count, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=int, default=3000, help="paced target, msg/s")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--route",
        choices=("simulator", "cloud"),
        default="simulator",
        help="simulator webhook (bearer token) or Meta Cloud API webhook (signed bodies)",
    )
    parser.add_argument("--wrk-threads", type=int, default=WRK_THREADS, help="wrk's threads")
    args = parser.parse_args()
    threads = args.wrk_threads
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    speed_before = calibrate()
    data_dir = Path(tempfile.mkdtemp(prefix="porfin-bench-"))
    channel_id, token = set_up(data_dir, args.route)
    cloud = args.route == "cloud"
    # Enough unique signed bodies per run for a generous 8,000 msg/s (the run cycles, and a
    # repeat would be a duplicate, if it outlasts them).
    bodies_per_run = max(20_000, 8_000 * args.seconds)
    unique: dict[str, int] = {}

    def run_env(run: str) -> dict[str, str]:
        if not cloud:
            return {"PP_RUN": run}
        path = data_dir / f"bodies-{run}.txt"
        unique[run] = write_signed_bodies(path, run, bodies_per_run)
        return {"PP_BODIES": str(path), "PP_THREADS": str(threads)}

    with serving(data_dir, args.workers) as (base, pid):
        script = data_dir / "ingest.lua"
        lua = CLOUD_LUA if cloud else LUA.replace("__PATIENTS__", str(PATIENTS))
        lua = lua.replace("__PACING__", PACING)
        script.write_text(lua, encoding="utf-8")
        url = f"{base}/webhooks/{'whatsapp/cloud' if cloud else 'simulator'}/{channel_id}"
        env = {"PP_TOKEN": token}
        run_wrk(url, script, 3, {**env, **run_env("warmup")}, pid, threads=threads)
        paced_env = {"PP_RATE": str(args.rate), "PP_THREADS": str(threads)}
        paced = run_wrk(
            url,
            script,
            args.seconds,
            {**env, **run_env("paced"), **paced_env},
            pid,
            PACED_CONNECTIONS,
            threads=threads,
        )
        saturated = run_wrk(
            url, script, args.seconds, {**env, **run_env("saturation")}, pid, threads=threads
        )
    prefix = "wamid.bench" if cloud else "bench"
    with sqlite3.connect(data_dir / "porfin.db") as conn:
        stored = {
            run: conn.execute(
                "SELECT COUNT(*) FROM messages WHERE provider_message_id LIKE ?",
                (f"{prefix}-{run}-%",),
            ).fetchone()[0]
            for run in ("paced", "saturation")
        }
        customers = conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0]
    print(
        f"route={args.route} workers={args.workers} wrk_threads={threads} patients={PATIENTS}"
        f" customers={customers}"
    )
    print(
        f"machine: calibration {speed_before:.0f} ms before, {calibrate():.0f} ms after"
        " (a fixed Python workload; lower is faster)"
    )
    for name, run in (("paced", paced), ("saturation", saturated)):
        print(
            f"[{name}] ingest: {run['rate']:.0f} msg/s p50 {run['p50']:.2f} ms "
            f"p99 {run['p99']:.2f} ms  (sent {run['count']}, stored {stored[name]}; "
            f"CPU per message: server {run['server_us']:.0f} us, wrk {run['wrk_us']:.0f} us)"
        )
        sent = min(run["count"], unique.get(name, run["count"]))
        if stored[name] < sent:
            raise SystemExit(f"{name}: {sent - stored[name]} acknowledged messages lost")
    shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
