"""The ``porfin`` command on a local data directory."""

from __future__ import annotations

import json

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


def test_init_creates_the_installation_once(porfin, tmp_path):
    first = porfin("init")
    assert first.exit_code == 0, first.output
    assert "Instalação criada" in first.stdout
    token = (tmp_path / "admin-token").read_text().strip()
    assert token in first.stdout
    assert oct((tmp_path / "admin-token").stat().st_mode & 0o777) == "0o600"
    again = porfin("init")
    assert "já existia" in again.stdout
    assert token in again.stdout


def test_simulate_then_list_and_show(porfin):
    sent = porfin(
        "simulate",
        "Olá, quero marcar uma limpeza",
        "--from",
        "+55 11 98765-4321",
        "--name",
        "Maria Silva",
        "--json",
    )
    assert sent.exit_code == 0, sent.output
    chat_id = json.loads(sent.stdout)["chat_id"]
    porfin("simulate", "Oi de novo", "--from", "551187654321")  # same person, legacy format
    listed = porfin("chats", "list", "--json")
    chats = json.loads(listed.stdout)
    assert [c["id"] for c in chats] == [chat_id]
    assert chats[0]["customer_name"] == "Maria Silva"
    assert chats[0]["unread_count"] == 2
    table = porfin("chats", "list")
    assert "Maria Silva" in table.stdout
    shown = porfin("chats", "show", chat_id)
    assert shown.exit_code == 0
    assert "Olá, quero marcar uma limpeza" in shown.stdout
    assert shown.stdout.index("Olá, quero") < shown.stdout.index("Oi de novo")
    as_json = json.loads(porfin("chats", "show", chat_id, "--json").stdout)
    assert [m["body"] for m in as_json["messages"]] == [
        "Oi de novo",
        "Olá, quero marcar uma limpeza",
    ]


def test_the_same_simulated_id_is_stored_once(porfin):
    porfin("simulate", "Oi", "--from", "+5511987654321", "--id", "x1")
    again = porfin("simulate", "Oi", "--from", "+5511987654321", "--id", "x1")
    assert "repetida" in again.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("simulate", "Oi", "--from", "abc"), "telefone inválido"),
        (("simulate", "Oi", "--from", "+5511987654321", "--channel", "nope"), "não encontrado"),
        (("chats", "show", "nope"), "não encontrado"),
        (("chats", "list", "--mode", "robot"), "inválido"),
    ],
)
def test_errors_are_one_line_on_stderr_with_a_non_zero_exit(porfin, args, message):
    result = porfin(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("erro: ")
    assert message in lines[0]


def test_usage_errors_exit_with_2(porfin):
    assert porfin("chats", "list", "--limit", "0").exit_code == 2
    assert porfin("simulate", "Oi").exit_code == 2  # --from is required


def test_users_add_and_list(porfin):
    added = porfin(
        "users",
        "add",
        "--email",
        "Ana@Clinica.com.br",
        "--name",
        "Ana Souza",
        "--role",
        "secretary",
        "--password",
        "uma senha longa",
        "--json",
    )
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["email"] == "ana@clinica.com.br"
    listed = json.loads(porfin("users", "list", "--json").stdout)
    assert [(u["email"], u["role"]) for u in listed] == [("ana@clinica.com.br", "secretary")]
    again = porfin(
        "users",
        "add",
        "--email",
        "ana@clinica.com.br",
        "--name",
        "Ana",
        "--role",
        "secretary",
        "--password",
        "uma senha longa",
    )
    assert again.exit_code == 1
    assert "conflito" in again.stderr
    short = porfin(
        "users",
        "add",
        "--email",
        "b@clinica.com.br",
        "--name",
        "B",
        "--role",
        "manager",
        "--password",
        "curta",
    )
    assert short.exit_code == 1
    assert "password" in short.stderr


def test_users_invite_disable_enable_and_reset_password(porfin):
    invited = porfin(
        "users", "invite", "--email", "caio@clinica.com.br", "--name", "Caio", "--role", "admin"
    )
    assert invited.exit_code == 0, invited.output
    assert "Código do convite" in invited.stdout
    listed = json.loads(porfin("users", "list", "--json").stdout)
    assert [u["status"] for u in listed] == ["invited"]
    assert "convite pendente" in porfin("users", "list").stdout
    # an invited account has no password to reset yet
    refused = porfin("users", "reset-password", "caio@clinica.com.br", "--password", "x" * 12)
    assert refused.exit_code == 1 and "[invalid_state]" in refused.stderr

    porfin(
        "users",
        "add",
        "--email",
        "ana@clinica.com.br",
        "--name",
        "Ana",
        "--role",
        "admin",
        "--password",
        "uma senha longa",
    )
    disabled = porfin("users", "disable", "ana@clinica.com.br", "--json")
    assert disabled.exit_code == 0, disabled.output
    assert json.loads(disabled.stdout)["status"] == "disabled"
    assert porfin("users", "enable", "ana@clinica.com.br").exit_code == 0
    reset = porfin(
        "users", "reset-password", "ana@clinica.com.br", "--password", "outra senha longa"
    )
    assert reset.exit_code == 0, reset.output
    assert "Senha redefinida" in reset.stdout
    assert porfin("users", "mfa-off", "ana@clinica.com.br").exit_code == 0
    missing = porfin("users", "disable", "nobody@clinica.com.br")
    assert missing.exit_code == 1 and missing.stderr.startswith("erro: não encontrado")
    audit = porfin("audit", "list", "--json")
    actions = {r["action"] for r in json.loads(audit.stdout)}
    assert {"user.invite", "user.update", "user.password_reset"} <= actions
