"""``porfin assistant``: create an assistant, talk to it in the terminal (the sandbox shows
each tool it uses), change it, and read what the AI did in a chat."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from porfin_cli.main import app


@pytest.fixture
def porfin(tmp_path, monkeypatch):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path)], input=input)

    return run


def test_create_chat_update_and_trace(porfin):
    empty = porfin("assistant", "chat", input="oi\n")
    assert empty.exit_code == 1 and "nenhum assistente" in empty.stderr
    created = porfin(
        "assistant",
        "create",
        "Sofia",
        "--fact",
        "address=Rua das Flores, 100 - Centro",
        "--fact",
        "insurance=Amil Dental e OdontoPrev",
        "--json",
    )
    assert created.exit_code == 0, created.output
    assistant = json.loads(created.stdout)
    assert (assistant["name"], assistant["engine"]) == ("Sofia", "offline")
    bad = porfin("assistant", "create", "Bia", "--fact", "sem-igual")
    assert bad.exit_code == 1 and "TEMA=TEXTO" in bad.stderr

    talk = porfin(
        "assistant", "chat", input="vcs aceitam amil?\nquero falar com uma pessoa\nsair\n"
    )
    assert talk.exit_code == 0, talk.output
    assert "Amil Dental" in talk.stdout
    assert "→ hand_off" in talk.stdout and "passaria para a equipe" in talk.stdout

    changed = porfin("assistant", "update", assistant["id"], "--tone", "informal", "--json")
    assert json.loads(changed.stdout)["tone"] == "informal"
    listed = json.loads(porfin("assistant", "list", "--json").stdout)
    assert [a["id"] for a in listed] == [assistant["id"]]
    unknown = porfin("assistant", "update", "nope", "--tone", "x")
    assert unknown.exit_code == 1 and "not_found" in unknown.stderr
    patient = json.loads(porfin("simulate", "Oi", "--from", "+5511987654321", "--json").stdout)
    trace = porfin("assistant", "trace", patient["chat_id"])
    assert trace.exit_code == 0 and "ainda não respondeu" in trace.stdout
