"""``porfin inbox``: registered in ``porfin`` through the entry point; without --url it serves
the local installation on a loopback port."""

from __future__ import annotations

import os
import subprocess
import sys

from typer.testing import CliRunner

from porfin_cli.main import app


def test_porfin_lists_the_inbox_command():
    result = CliRunner().invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "inbox" in result.output


def test_a_url_that_is_not_http_is_refused():
    result = CliRunner().invoke(app, ["inbox", "--url", "ftp://x"])
    assert result.exit_code == 2
    assert "http://" in result.output


SERVE_AND_PROBE = """
import sys, httpx
from pathlib import Path
from porfin_tui.command import embedded_server
with embedded_server(Path(sys.argv[1])) as url:
    assert url.startswith("http://127.0.0.1:"), url
    print(httpx.get(url + "/health").status_code, httpx.get(url + "/api/v1/chats").status_code)
"""


def test_the_local_installation_is_served_on_loopback(tmp_path):
    # In a process of its own: the embedded server configures logging for the whole process.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORFIN_")}
    result = subprocess.run(
        [sys.executable, "-c", SERVE_AND_PROBE, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["200", "401"]
    assert (tmp_path / "porfin.db").exists()
    assert (tmp_path / "inbox-server.log").exists()
