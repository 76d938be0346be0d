"""``porfin audit``: reading the log, and ``verify`` catching records changed behind its back."""

from __future__ import annotations

import json
import sqlite3

import pytest
from typer.testing import CliRunner

from porfin_cli.main import app


@pytest.fixture
def porfin(tmp_path, monkeypatch):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path)])

    return run


@pytest.fixture
def history(porfin) -> str:
    """An installation where a patient wrote and the chat was read at the terminal."""
    sent = porfin("simulate", "Olá", "--from", "+55 11 98765-4321", "--json")
    assert sent.exit_code == 0, sent.output
    chat_id = json.loads(sent.stdout)["chat_id"]
    shown = porfin("chats", "show", chat_id)
    assert shown.exit_code == 0, shown.output
    return chat_id


def _tamper(tmp_path, *statements: str) -> None:
    conn = sqlite3.connect(tmp_path / "porfin.db", isolation_level=None)
    try:
        conn.execute("DROP TRIGGER audit_log_no_update")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def test_list_shows_what_the_terminal_read(porfin, history):
    listed = porfin("audit", "list", "--json")
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)
    assert [r["action"] for r in records] == [
        "messages.read",
        "chat.read",
        "channel.create",
        "clinic.create",
    ]
    assert records[0]["resource_id"] == history
    assert records[0]["source"] == "cli"
    assert records[0]["actor_id"].startswith("cli:")
    text = porfin("audit", "list", "--limit", "1")
    assert text.exit_code == 0
    assert text.stdout.startswith("#4 ") and "messages.read" in text.stdout
    only = json.loads(porfin("audit", "list", "--json", "--action", "chat.read").stdout)
    assert [r["seq"] for r in only] == [3]


def test_verify_an_intact_chain(porfin, history):
    result = porfin("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Cadeia íntegra: 4 registros\n"
    report = json.loads(porfin("audit", "verify", "--json").stdout)
    assert report["ok"] is True and report["records"] == 4
    [clinic] = report["clinics"]
    assert (clinic["ok"], clinic["last_seq"], clinic["broken"]) == (True, 4, None)


def test_verify_on_an_empty_installation(porfin):
    result = porfin("audit", "verify")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Cadeia íntegra: 0 registros\n"


@pytest.mark.parametrize(
    ("statement", "seq", "words"),
    [
        ("UPDATE audit_log SET actor_id = 'ninguem' WHERE seq = 3", 3, "alterado"),
        ("DELETE FROM audit_log WHERE seq = 2", 2, "ausente"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "fim da cadeia"),
    ],
)
def test_verify_detects_a_modified_or_deleted_record(
    porfin, history, tmp_path, statement, seq, words
):
    _tamper(tmp_path, statement)
    result = porfin("audit", "verify")
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    clinic_id = json.loads(porfin("audit", "list", "--json").stdout)[0]["clinic_id"]
    assert line.startswith(f"erro: cadeia de auditoria violada na clínica {clinic_id}, ")
    assert f"registro {seq}:" in line and words in line

    report = porfin("audit", "verify", "--json")
    assert report.exit_code == 1
    body = json.loads(report.stdout)
    assert body["ok"] is False
    assert body["clinics"][0]["broken"]["seq"] == seq
