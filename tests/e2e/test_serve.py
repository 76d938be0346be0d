"""``porfin serve`` as a person runs it: a real server process, driven over HTTP and the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request

import pytest
import websockets

from porfin_adapters.settings import load_settings
from porfin_adapters.tokens import ensure_admin_token
from tests.support import free_port

pytestmark = pytest.mark.slow


def _porfin(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "porfin_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def server(tmp_path):
    port = free_port()
    env = {**os.environ, "PORFIN_DATA_DIR": str(tmp_path)}
    env.pop("PORFIN_ADMIN_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "porfin_cli", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                assert response.status == 200
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start: {proc.stderr.read() if proc.stderr else ''}")
            time.sleep(0.1)
    yield url, env, proc
    if proc.poll() is None:
        proc.terminate()
    proc.communicate(timeout=30)  # also closes the pipes


def test_first_start_serves_the_api_and_the_cli_talks_to_it(server, tmp_path):
    url, env, proc = server
    with urllib.request.urlopen(f"{url}/ready", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok", "storage": "sqlite"}
    sent = _porfin(
        "simulate",
        "Olá, quero marcar uma limpeza",
        "--from",
        "+5511987654321",
        "--name",
        "Maria Silva",
        "--url",
        url,
        "--json",
        env=env,
    )
    assert sent.returncode == 0, sent.stderr
    listed = _porfin("chats", "list", "--url", url, "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    chats = (
        json.loads(listed.stdout)["items"]
        if listed.stdout.startswith("{")
        else json.loads(listed.stdout)
    )
    assert [c["customer_name"] for c in chats] == ["Maria Silva"]
    denied = _porfin("chats", "list", "--url", url, "--token", "wrong", env=env)
    assert denied.returncode == 1
    assert "unauthorized" in denied.stderr
    proc.terminate()
    output = proc.communicate(timeout=30)[0]
    assert "Token de administrador" in output
    assert f"{url}/schema" in output


def test_the_realtime_websocket_works_through_the_served_protocol(server):
    """``porfin serve`` hands uvicorn a transport that writes once per loop turn; the
    WebSocket upgraded from it carries the realtime events."""
    url, env, _ = server
    admin = ensure_admin_token(load_settings(data_dir=env["PORFIN_DATA_DIR"]))[0]

    async def listen() -> list[str]:
        async with websockets.connect(
            url.replace("http", "ws") + "/api/v1/ws",
            additional_headers={"Authorization": f"Bearer {admin}"},
        ) as live:
            assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "ready"
            await live.send(json.dumps({"action": "subscribe", "topic": "inbox"}))
            assert json.loads(await asyncio.wait_for(live.recv(), 10))["type"] == "subscribed"
            sent = await asyncio.to_thread(
                _porfin,
                "simulate",
                "Quero marcar uma limpeza",
                "--from",
                "+5511987654321",
                "--url",
                url,
                env=env,
            )
            assert sent.returncode == 0, sent.stderr
            types = []
            while "message.created" not in types:
                types.append(json.loads(await asyncio.wait_for(live.recv(), 10))["type"])
            return types

    assert "message.created" in asyncio.run(listen())
