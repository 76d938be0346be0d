"""``porfin whatsapp`` against a fake Evolution server: pairing, and the connection's health
as the monitor recorded it."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

import porfin_adapters.container as composition
from porfin_adapters.settings import load_settings
from porfin_cli.main import app
from porfin_core.domain.channel import Provider
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.record_channel_health import HealthReport
from porfin_core.use_cases.record_reconnect_attempt import ReconnectAttempt
from tests.fakes.evolution_api import FakeEvolution, serve


@pytest.fixture
def evolution():
    yield from serve(FakeEvolution(open_after=3))


@pytest.fixture
def porfin(tmp_path, monkeypatch, evolution):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)

    async def seed():
        container = composition.create_container(load_settings(data_dir=tmp_path))
        await composition.start(container)
        try:
            clinic_id = (await container.set_up_installation()()).clinic.id
            await container.create_channel()(
                NewChannel(
                    clinic_id=clinic_id,
                    name="Celular",
                    provider="evolution",
                    phone="+55 11 98765-4321",
                    settings={
                        "base_url": evolution.url,
                        "instance": "clinica",
                        "api_key": evolution.fake.api_key,
                    },
                )
            )
        finally:
            await composition.stop(container)

    asyncio.run(seed())
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [*args, "--data-dir", str(tmp_path)])


def test_connect_shows_the_qr_code_and_waits_for_the_phone(porfin, evolution):
    result = porfin("whatsapp", "connect", "Celular", "--intervalo", "0.05", "--codigo")
    assert result.exit_code == 0, result.output
    assert "Código de pareamento: WZYEH1YY" in result.stdout
    assert "▀" in result.stdout or "█" in result.stdout  # the QR code, drawn in text
    assert "Conectado!" in result.stdout
    connect = next(r for r in evolution.fake.requests if "/instance/connect/" in r.path)
    assert connect.query == "number=5511987654321"

    shown = porfin("whatsapp", "status", "--json")
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.stdout)
    assert (row["name"], row["state"], row["error"]) == ("Celular", "open", None)
    assert "conectado" in porfin("whatsapp", "status", "Celular").stdout


def test_connect_gives_up_after_the_timeout(porfin, evolution):
    evolution.fake.open_after = None
    result = porfin("whatsapp", "connect", "Celular", "--timeout", "1", "--intervalo", "0.1")
    assert result.exit_code == 1
    assert result.stderr.startswith("erro: tempo esgotado")


def test_errors_are_one_line(porfin, evolution):
    missing = porfin("whatsapp", "connect", "Recepção")
    assert (
        missing.exit_code == 1 and missing.stderr.strip() == "erro: canal não encontrado: Recepção"
    )
    evolution.fake.instances.clear()
    gone = porfin("whatsapp", "connect", "Celular")
    assert gone.exit_code == 1
    assert gone.stderr.count("\n") == 1 and "does not exist" in gone.stderr


def test_status_shows_what_the_health_monitor_found(porfin, evolution, tmp_path):
    evolution.fake.instances["clinica"] = "open"
    now = datetime.now(UTC)

    async def monitor_findings():
        container = composition.create_container(load_settings(data_dir=tmp_path))
        await composition.start(container)
        try:
            clinic_id = (await container.set_up_installation()()).clinic.id
            [channel] = [
                c
                for c in await container.list_channels()(clinic_id)
                if c.provider is Provider.EVOLUTION
            ]
            record = container.record_channel_health()
            await record(
                HealthReport(
                    channel_id=channel.id,
                    checked_at=now - timedelta(minutes=45),
                    state="open",
                    last_activity_at=now - timedelta(minutes=50),
                )
            )
            await record(
                HealthReport(
                    channel_id=channel.id, checked_at=now - timedelta(minutes=1), state="open"
                )
            )
            await container.record_reconnect_attempt()(
                ReconnectAttempt(channel_id=channel.id, at=now - timedelta(minutes=1))
            )
        finally:
            await composition.stop(container)

    asyncio.run(monitor_findings())

    shown = porfin("whatsapp", "status", "--json")
    assert shown.exit_code == 0, shown.output
    [row] = json.loads(shown.stdout)
    assert (row["state"], row["live"], row["degraded"], row["reconnect_attempts"]) == (
        "open",
        True,
        True,
        1,
    )
    assert row["last_activity_at"] == (now - timedelta(minutes=50)).isoformat()
    assert row["checked_at"] == (now - timedelta(minutes=1)).isoformat()
    assert row["next_reconnect_at"] == now.isoformat()
    assert row["qr_pending"] is False and row["check_error"] is None

    text = porfin("whatsapp", "status", "Celular").stdout
    assert "Celular (" in text and "): conectado" in text
    assert "última atividade:" in text and "(há 50 min)" in text
    assert "DEGRADADO desde" in text and "mensagens podem estar se perdendo" in text
    assert "reconexão automática: 1 tentativa, a última em" in text
    assert "próxima a partir de" in text


def test_status_before_the_monitor_ever_ran(porfin, evolution):
    text = porfin("whatsapp", "status").stdout
    assert "desconectado" in text
    assert "última atividade: -" in text
    assert "última verificação do monitor: nunca" in text
    assert "DEGRADADO" not in text and "reconexão" not in text
