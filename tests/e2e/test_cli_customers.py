"""``porfin customers merge``: two records of one person become one, with their chats."""

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


@pytest.fixture
def twins(porfin) -> tuple[dict, dict]:
    """Maria wrote from her old number, then from her new one: two customers."""
    sent = []
    for number, text in (("+55 11 98765-4321", "Bom dia"), ("+55 11 91234-5678", "Sou eu")):
        answer = porfin("simulate", text, "--from", number, "--name", "Maria Silva", "--json")
        assert answer.exit_code == 0, answer.output
        sent.append(json.loads(answer.stdout))
    return sent[0], sent[1]


def test_merge_two_customers_with_their_chats(porfin, twins):
    old, new = twins
    merged = porfin("customers", "merge", old["customer_id"], new["customer_id"])
    assert merged.exit_code == 0, merged.output
    assert "Cadastros unidos" in merged.stdout
    assert "0 transferidas, 1 unida (1 mensagem movida)" in merged.stdout
    chats = json.loads(porfin("chats", "list", "--json").stdout)
    assert [(c["id"], c["unread_count"]) for c in chats] == [(old["chat_id"], 2)]
    later = porfin("simulate", "Cheguei", "--from", "5511912345678", "--json")
    assert json.loads(later.stdout)["customer_id"] == old["customer_id"]


def test_merge_as_json_shows_the_customer_that_stays(porfin, twins):
    old, new = twins
    merged = porfin("customers", "merge", old["customer_id"], new["customer_id"], "--json")
    assert merged.exit_code == 0, merged.output
    body = json.loads(merged.stdout)
    assert (body["id"], body["phone"]) == (old["customer_id"], "+5511987654321")
    assert {"kind": "phone", "value": "+5511912345678"} in body["identities"]


@pytest.mark.parametrize(
    ("which", "message"),
    [("same", "dados inválidos"), ("unknown", "não encontrado"), ("again", "conflito")],
)
def test_refused_merges_are_one_line_on_stderr(porfin, twins, which, message):
    old, new = twins
    ids = {
        "same": (old["customer_id"], old["customer_id"]),
        "unknown": (old["customer_id"], "nope"),
        "again": (old["customer_id"], new["customer_id"]),
    }[which]
    if which == "again":
        assert porfin("customers", "merge", *ids).exit_code == 0
    result = porfin("customers", "merge", *ids)
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erro: ")
    assert message in lines[0]
