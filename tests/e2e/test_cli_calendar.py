"""``porfin calendar`` on a local data directory: the consent link (against the fake Google's
address), the status, the private feed link, and the errors a person meets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from porfin_cli.main import app
from tests.fakes.google_calendar import CLIENT_ID, CLIENT_SECRET, GoogleCalendarFake


@pytest.fixture(scope="module")
def google() -> Iterator[GoogleCalendarFake]:
    with GoogleCalendarFake.serving() as fake:
        yield fake


@pytest.fixture
def porfin(tmp_path, monkeypatch, google):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    monkeypatch.setenv("PORFIN_GOOGLE_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("PORFIN_GOOGLE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("PORFIN_GOOGLE_OAUTH_URL", f"{google.url}/o/oauth2/v2/auth")
    monkeypatch.setenv("PORFIN_PUBLIC_URL", "https://porfin.clinica.com.br")
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path)])

    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def ana(porfin) -> dict:
    return _json(
        porfin(
            "professionals",
            "add",
            "--name",
            "Dra. Ana Souza",
            "--hours",
            "seg-sex 08:00-18:00",
            "--json",
        )
    )


def test_connect_prints_the_consent_link(porfin, ana, google):
    shown = porfin("calendar", "connect", "ana")  # part of the name, any case and accents
    assert shown.exit_code == 0, shown.output
    assert "Conectar a agenda do Google de Dra. Ana Souza" in shown.stdout
    url = next(line for line in shown.stdout.splitlines() if line.startswith(google.url))
    query = parse_qs(urlsplit(url).query)
    assert query["redirect_uri"] == ["https://porfin.clinica.com.br/api/v1/calendar/oauth/callback"]
    assert query["access_type"] == ["offline"] and query["state"][0]

    as_json = _json(porfin("calendar", "connect", ana["id"], "--json"))
    assert as_json["professional_id"] == ana["id"] and as_json["url"].startswith(google.url)
    assert _json(porfin("calendar", "status", "--json")) == []
    nobody = porfin("calendar", "connect", "Beto")
    assert nobody.exit_code == 1 and "profissional não encontrado" in nobody.stderr


def test_feed_token_prints_a_new_private_link(porfin, ana):
    first = _json(porfin("calendar", "feed-token", "Ana", "--json"))
    assert first["url"] == (
        "https://porfin.clinica.com.br/api/v1/professionals/"
        f"{ana['id']}/calendar.ics?token={first['token']}"
    )
    second = _json(porfin("calendar", "feed-token", "Ana", "--json"))
    assert second["token"] != first["token"]
    audit = _json(porfin("audit", "list", "--action", "calendar.feed_token", "--json"))
    assert len(audit) == 2


def test_without_google_configured_connecting_is_one_line_error(porfin, ana, monkeypatch):
    monkeypatch.delenv("PORFIN_GOOGLE_CLIENT_ID")
    failed = porfin("calendar", "connect", "Ana")
    assert failed.exit_code == 1
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and "[calendar_not_configured]" in lines[0]
    missing = porfin("calendar", "disconnect", "Ana")
    assert missing.exit_code == 1 and "[not_found]" in missing.stderr
