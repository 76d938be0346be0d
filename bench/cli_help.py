"""Cold start of the ``porfin`` command: ``porfin --help`` (the virtualenv's console script)
and ``python -m porfin_cli --help``, each run N times in fresh processes, wall time from
spawn to exit.

Prints, per way of starting::

    cli --help (porfin): p50 <x> ms p99 <y> ms (bar 400 ms)
    cli --help (python -m porfin_cli): p50 <x> ms p99 <y> ms (bar 400 ms)

and ``cli --help: p50 <x> ms p99 <y> ms (bar 400 ms)`` over both. The bar is met when p50 is
at most 400 ms. To see what startup imports: ``python -X importtime -m porfin_cli --help``.

Always exits 0, except with ``--strict``: 1 when a p50 is over the bar.

Usage: ``python bench/cli_help.py [-n 30] [--strict]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BAR_MS = 400.0


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _time(command: list[str], runs: int) -> list[float]:
    env = {**os.environ, "COLUMNS": "100"}
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm the OS caches
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _line(label: str, times: list[float]) -> str:
    return (
        f"{label}: p50 {statistics.median(times):.0f} ms "
        f"p99 {_percentile(times, 0.99):.0f} ms (bar {BAR_MS:.0f} ms)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, default=30)
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()

    bin_dir = Path(sys.executable).parent
    script = shutil.which("porfin", path=str(bin_dir)) or shutil.which("porfin")
    ways = {"python -m porfin_cli": [sys.executable, "-m", "porfin_cli", "--help"]}
    if script:
        ways = {"porfin": [script, "--help"], **ways}
    else:
        print("(no `porfin` console script found; run `pip install -e .`)")
    every: list[float] = []
    over = False
    for label, command in ways.items():
        times = _time(command, args.runs)
        every += times
        over = over or statistics.median(times) > BAR_MS
        print(_line(f"cli --help ({label})", times))
    print(_line("cli --help", every))
    return 1 if args.strict and over else 0


if __name__ == "__main__":
    sys.exit(main())
