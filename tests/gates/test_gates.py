"""The project's own rules, checked by the test suite: lint, types, layering, pure core."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.gates


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_and_format() -> None:
    lint = _run(str(BIN / "ruff"), "check", "src", "tests", "features", "bench")
    assert lint.returncode == 0, lint.stdout + lint.stderr
    fmt = _run(str(BIN / "ruff"), "format", "--check", "src", "tests", "features", "bench")
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.slow
def test_mypy_strict_on_core() -> None:
    result = _run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_linter_contracts() -> None:
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


FORBIDDEN_IN_CORE = [
    "litestar",
    "textual",
    "typer",
    "click",
    "redis",
    "google",
    "openai",
    "httpx",
    "aiohttp",
    "sqlite3",
    "cattrs",
    "dependency_injector",
    "uvicorn",
    "structlog",
    "msgspec",
    "asyncio",
    "porfin_adapters",
    "porfin_http",
    "porfin_cli",
    "porfin_tui",
]


def test_importing_the_core_loads_no_framework_or_io_library() -> None:
    probe = (
        "import json, pkgutil, importlib, sys\n"
        "import porfin_core\n"
        "for m in pkgutil.walk_packages(porfin_core.__path__, 'porfin_core.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = json.loads(result.stdout)
    leaked = [m for m in loaded if m.split(".")[0] in FORBIDDEN_IN_CORE]
    assert leaked == []
