"""``porfin kb``: add the clinic's files, list them, search as a patient asks, remove; the
same file is not added twice; errors are one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from porfin_cli.main import app

KB = Path(__file__).resolve().parents[1] / "data" / "assistant" / "kb"


@pytest.fixture
def porfin(tmp_path, monkeypatch):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])

    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_add_list_search_and_remove(porfin):
    added = porfin("kb", "add", str(KB / "tabela-precos.csv"), "--title", "Tabela de preços")
    assert added.exit_code == 0, added.output
    assert added.stdout.startswith("Adicionado: Tabela de preços (")
    faq = _json(porfin("kb", "add", str(KB / "faq.md"), "--json"))
    assert (faq["created"], faq["title"]) == (
        True,
        "Perguntas frequentes — Clínica Sorriso Paulista",
    )
    again = porfin("kb", "add", str(KB / "faq.md"))
    assert "já está na base" in again.stdout

    listed = _json(porfin("kb", "list", "--json"))
    assert [d["filename"] for d in listed] == ["faq.md", "tabela-precos.csv"]
    assert "faq.md" in porfin("kb", "list").stdout

    shown = porfin("kb", "search", "quanto custa clareamento", "--limit", "2")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.startswith("1. Tabela de preços")
    assert "Clareamento" in shown.stdout.split("\n")[1] and "R$" in shown.stdout
    [best] = _json(porfin("kb", "search", "aceita amil", "--limit", "1", "--json"))
    assert best["document_id"] == faq["id"]
    assert "Amil Dental" in best["snippet"]

    removed = porfin("kb", "remove", faq["id"])
    assert removed.stdout.strip() == f"Removido: {faq['title']}."
    assert [d["filename"] for d in _json(porfin("kb", "list", "--json"))] == ["tabela-precos.csv"]
    assert "Amil" not in porfin("kb", "search", "aceita amil").stdout


def test_errors_are_one_line_on_stderr(porfin, tmp_path):
    missing = porfin("kb", "add", str(tmp_path / "nao-existe.pdf"))
    assert missing.exit_code == 1 and missing.stdout == ""
    assert missing.stderr.startswith("erro: não foi possível ler")
    image = tmp_path / "foto.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    refused = porfin("kb", "add", str(image))
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1
    assert "formato de arquivo não aceito" in refused.stderr
    assert "[unsupported_media_type]" in refused.stderr
    gone = porfin("kb", "remove", "nope")
    assert gone.exit_code == 1 and "[not_found]" in gone.stderr
    assert porfin("kb", "list").stdout.startswith("Nenhum documento.")


def test_reindex_needs_embeddings(porfin):
    refused = porfin("kb", "reindex")
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1
    assert "[model_unavailable]" in refused.stderr


def test_reindex_fills_the_vectors_documents_lack(porfin, monkeypatch):
    from tests.fakes.openai_api import API_KEY, OpenAIApiFake

    # Added before OpenAI was configured: searched by words only until reindexed.
    assert porfin("kb", "add", str(KB / "faq.md")).exit_code == 0
    with OpenAIApiFake.serving() as fake:
        monkeypatch.setenv("PORFIN_OPENAI_API_KEY", API_KEY)
        monkeypatch.setenv("PORFIN_OPENAI_BASE_URL", fake.base_url)
        before = _json(porfin("kb", "reindex", "--check", "--json"))
        assert (before["model"], before["embedded"], before["missing"]) == (
            "text-embedding-3-small",
            0,
            11,
        )
        done = porfin("kb", "reindex")
        assert done.exit_code == 0, done.output
        assert done.stdout.splitlines() == [
            "Vetores gerados: 11 trechos (text-embedding-3-small).",
            "Com vetor: 11 de 11 trechos.",
        ]
        [best] = _json(porfin("kb", "search", "dentes mais brancos", "--limit", "1", "--json"))
        assert "clareamento" in best["text"]
