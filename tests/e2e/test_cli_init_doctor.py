"""``porfin init`` (onboarding, with live checks of the credentials it is given) and
``porfin doctor`` (every configured service, each problem with its remedy), on real SQLite
files and the local fakes of the providers."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

import porfin_adapters.container as composition
import porfin_cli.init as init_command
from porfin_adapters.settings import load_settings
from porfin_adapters.sqlite.database import migrate
from porfin_cli.main import app
from porfin_core.domain.calendar import CalendarConnection, ConnectionStatus
from porfin_core.domain.channel import SecretRef
from tests.fakes.asaas_api import API_KEY as ASAAS_KEY
from tests.fakes.asaas_api import AsaasApiFake
from tests.fakes.evolution_api import FakeEvolution, serve
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import GraphApiFake
from tests.fakes.mercadopago_api import MercadoPagoFake
from tests.fakes.openai_api import API_KEY as OPENAI_KEY
from tests.fakes.openai_api import OpenAIApiFake

PASSWORD = "senha-forte-123"
ISOLATED = (
    "PORFIN_ADMIN_TOKEN",
    "PORFIN_REDIS_URL",
    "PORFIN_OPENAI_API_KEY",
    "PORFIN_OPENAI_BASE_URL",
    "PORFIN_WHATSAPP_GRAPH_URL",
    "PORFIN_STORAGE",
    "PORFIN_CONFIG",
    "PORFIN_ADMIN_PASSWORD",
    "PORFIN_GOOGLE_CLIENT_ID",
)


@pytest.fixture
def porfin(tmp_path, monkeypatch):
    for name in ISOLATED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no porfin.toml of the developer's
    data_dir = tmp_path / "data"
    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(app, [*args, "--data-dir", str(data_dir)], input=input)

    run.data_dir = data_dir
    return run


@pytest.fixture
def graph(monkeypatch):
    with GraphApiFake.serving() as fake:
        fake.add_phone_number("106540352242922", display="+55 11 3333-4444")
        monkeypatch.setenv("PORFIN_WHATSAPP_GRAPH_URL", fake.url)
        yield fake


@pytest.fixture
def openai(monkeypatch):
    with OpenAIApiFake.serving() as fake:
        monkeypatch.setenv("PORFIN_OPENAI_BASE_URL", fake.base_url)
        yield fake


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _cloud(token: str, *extra: str) -> list[str]:
    return [
        "--channel",
        "cloud",
        "--channel-name",
        "Recepção",
        "--phone",
        "+55 11 3333-4444",
        "--cloud-phone-number-id",
        "106540352242922",
        "--cloud-waba-id",
        "102290129340398",
        "--cloud-access-token",
        token,
        "--cloud-app-secret",
        "app-secret-0123456789",
        *extra,
    ]


def _evolution_channel(served: Any) -> list[str]:
    """``porfin init``'s options for an Evolution channel on the fake ``served``."""
    return [
        "--channel",
        "evolution",
        "--channel-name",
        "Celular",
        "--phone",
        "+55 11 98765-4321",
        "--evolution-url",
        served.url,
        "--evolution-instance",
        "clinica",
        "--evolution-api-key",
        served.fake.api_key,
    ]


def _clinic(*extra: str) -> list[str]:
    return [
        "init",
        "--no-input",
        "--clinic-name",
        "Clínica Sorriso",
        "--timezone",
        "America/Manaus",
        "--city",
        "Manaus",
        "--state",
        "am",
        "--admin-email",
        "Ana@Sorriso.com.br",
        "--admin-name",
        "Ana Souza",
        "--admin-password",
        PASSWORD,
        *extra,
    ]


def test_init_then_doctor_pass_on_a_fresh_data_dir(porfin):
    made = _json(
        porfin(*_clinic("--channel", "simulator", "--pix-key", "123.456.789-09"), "--json")
    )
    assert made["created"] is True
    assert made["clinic"] | {"id": None} == {
        "id": None,
        "name": "Clínica Sorriso",
        "timezone": "America/Manaus",
        "city": "Manaus",
        "state": "AM",
        "status": "created",
        "changed": ["city", "pix_key", "state"],
    }
    assert made["admin"]["email"] == "ana@sorriso.com.br"
    assert (made["admin"]["role"], made["admin"]["status"]) == ("admin", "created")
    assert made["channel"]["provider"] == "simulator"
    assert made["admin_token"] == (porfin.data_dir / "admin-token").read_text().strip()

    checked = porfin("doctor")
    assert checked.exit_code == 0, checked.output
    assert "✓ Armazenamento (sqlite)" in checked.stdout
    assert '✓ WhatsApp "Simulador" (simulador)' in checked.stdout
    assert "- Redis: não configurado" in checked.stdout
    assert "✗" not in checked.stdout
    report = _json(porfin("doctor", "--json"))
    assert report["healthy"] is True
    by_check = {c["check"]: c for c in report["checks"]}
    assert by_check["storage"]["facts"]["schema_version"] >= 16
    assert by_check["redis"]["status"] == "skipped"


def test_init_again_changes_what_is_given_and_keeps_the_rest(porfin):
    first = porfin(*_clinic())
    assert first.exit_code == 0, first.output
    assert "Instalação criada" in first.stdout
    assert "Conta de administrador: Ana Souza <ana@sorriso.com.br> — criada" in first.stdout

    again = porfin(
        "init", "--no-input", "--city", "Parintins", "--admin-email", "ana@sorriso.com.br"
    )
    assert again.exit_code == 0, again.output
    assert "Instalação já existia" in again.stdout
    assert "Clínica: Clínica Sorriso" in again.stdout and "atualizada" in again.stdout
    assert "America/Manaus · Parintins/AM" in again.stdout
    assert "já existia (senha não alterada)" in again.stdout

    same = _json(porfin("init", "--no-input", "--json"))
    assert same["clinic"]["status"] == "unchanged"
    assert same["admin"] is None


def test_init_refuses_bad_values_before_saving_anything(porfin):
    for args, message in [
        (("--timezone", "America/Atlantis"), "unknown IANA time zone"),
        (("--pix-key", "123.456.789-00"), "PIX"),
        (("--admin-email", "ana@x.com", "--admin-password", "curta"), "at least 10"),
        (("--admin-email", "ana@x.com"), "--admin-password ou PORFIN_ADMIN_PASSWORD"),
        (("--channel", "telegram"), "canal inválido"),
    ]:
        result = porfin("init", "--no-input", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("erro: ") and message in result.stderr, result.stderr
    assert not (porfin.data_dir / "admin-token").exists()


def test_init_checks_the_cloud_api_token_live(porfin, graph):
    refused = porfin(*_clinic(*_cloud("EAAG-wrong-token")))
    assert refused.exit_code == 1
    assert "token de acesso inválido ou expirado" in refused.stderr
    assert "Meta Business Manager" in refused.stderr  # the remedy
    assert not (porfin.data_dir / "admin-token").exists()

    made = _json(porfin(*_clinic(*_cloud(GRAPH_TOKEN)), "--json"))
    channel = made["channel"]
    assert (channel["name"], channel["provider"], channel["status"]) == (
        "Recepção",
        "cloud_api",
        "created",
    )
    assert channel["check"]["display_phone_number"] == "+55 11 3333-4444"
    asked = [r for r in graph.requests if r.path.endswith("/106540352242922")]
    assert asked and asked[0].headers["authorization"] == f"Bearer {GRAPH_TOKEN}"

    again = _json(porfin(*_clinic(*_cloud(GRAPH_TOKEN)), "--json"))
    assert again["channel"]["status"] == "existing"
    assert again["channel"]["id"] == channel["id"]
    assert porfin("doctor").exit_code == 0

    # The remedy doctor gives for a revoked token: the same command with a new token.
    rotated = porfin(
        "init",
        "--no-input",
        "--channel",
        "cloud",
        "--cloud-phone-number-id",
        "106540352242922",
        "--cloud-access-token",
        "EAAG-another-token",
        "--skip-checks",
        "--json",
    )
    changed = _json(rotated)["channel"]
    assert (changed["id"], changed["status"], changed["changed"]) == (
        channel["id"],
        "updated",
        ["access_token"],
    )
    assert porfin("doctor").exit_code == 1  # the fake knows only GRAPH_TOKEN


def test_init_pairs_nothing_but_checks_the_evolution_instance(porfin):
    for served in serve(FakeEvolution()):
        args = _evolution_channel(served)
        result = porfin(*_clinic(*args))
        assert result.exit_code == 0, result.output
        assert "Canal: Celular (Evolution API, +5511987654321) — criado" in result.stdout
        assert "porfin whatsapp connect 'Celular'" in result.stdout

        unknown = porfin("init", "--no-input", *args[:-3], "outra", *args[-2:])
        assert unknown.exit_code == 1
        assert "a instância não existe no servidor Evolution" in unknown.stderr

        checked = porfin("doctor")
        assert checked.exit_code == 1
        assert '✗ WhatsApp "Celular" (Evolution)' in checked.stdout
        assert "porfin whatsapp connect <canal>" in checked.stdout


def test_init_keeps_a_working_openai_key_and_refuses_a_wrong_one(porfin, openai):
    wrong = porfin(*_clinic("--openai-key", "sk-wrong"))
    assert wrong.exit_code == 1
    assert "chave da OpenAI inválida" in wrong.stderr
    assert "platform.openai.com/api-keys" in wrong.stderr

    made = _json(porfin(*_clinic("--openai-key", OPENAI_KEY), "--json"))
    assert made["openai"]["status"] == "saved"
    kept = porfin.data_dir / "openai-api-key"
    assert kept.read_text().strip() == OPENAI_KEY
    assert oct(kept.stat().st_mode & 0o777) == "0o600"

    report = _json(porfin("doctor", "--json"))
    assert {c["check"]: c["status"] for c in report["checks"]}["openai"] == "ok"
    assert [r.path for r in openai.requests] == ["/v1/models"] * 3  # wrong, right, doctor


def test_doctor_reports_a_stopped_redis_and_a_wrong_cloud_token_with_remedies(
    porfin, graph, monkeypatch
):
    made = porfin(*_clinic(*_cloud("EAAG-revoked-token", "--skip-checks")))
    assert made.exit_code == 0, made.output
    monkeypatch.setenv("PORFIN_REDIS_URL", f"redis://127.0.0.1:{_closed_port()}/0")

    checked = porfin("doctor", "--timeout", "3")
    assert checked.exit_code == 1, checked.output
    lines = checked.stdout.splitlines()
    redis = next(i for i, line in enumerate(lines) if line.startswith("✗ Redis"))
    assert "sem conexão" in lines[redis]
    assert lines[redis + 1].strip().startswith("→ inicie o Redis")
    cloud = next(i for i, line in enumerate(lines) if line.startswith('✗ WhatsApp "Recepção"'))
    assert "token de acesso inválido ou expirado" in lines[cloud]
    assert "Meta Business Manager" in lines[cloud + 1]
    assert '✓ WhatsApp "Simulador"' in checked.stdout
    assert "2 problema(s)" in checked.stdout

    report = porfin("doctor", "--json")
    assert report.exit_code == 1
    found = json.loads(report.stdout)
    assert found["healthy"] is False and found["failed"] == 2
    failed = {c["check"]: c for c in found["checks"] if c["status"] == "failed"}
    assert failed["redis"]["problem"] == "unreachable"
    assert failed["channel"]["problem"] == "invalid_token"
    assert failed["channel"]["facts"]["provider_code"] == "190"
    assert "porfin init --channel cloud" in failed["channel"]["remedy"]


def test_doctor_reports_a_running_redis(porfin, redis_url, monkeypatch):
    assert porfin("init", "--no-input").exit_code == 0
    monkeypatch.setenv("PORFIN_REDIS_URL", redis_url)
    checked = porfin("doctor")
    assert checked.exit_code == 0, checked.output
    assert "✓ Redis" in checked.stdout and "PONG" in checked.stdout


def test_doctor_on_an_empty_data_dir_says_to_run_init(porfin):
    checked = porfin("doctor")
    assert checked.exit_code == 1
    assert "o banco de dados não existe" in checked.stdout
    assert "rode `porfin init`" in checked.stdout
    assert "- Canais, agendas e pagamentos" in checked.stdout
    assert not (porfin.data_dir / "porfin.db").exists()  # a doctor creates nothing


def test_init_asks_at_the_terminal(porfin, monkeypatch):
    monkeypatch.setattr(init_command, "stdin_is_terminal", lambda: True)
    answers = [
        "Clínica Sorriso",  # name
        "America/Atlantis",  # time zone: refused, asked again
        "America/Sao_Paulo",
        "Campinas",
        "SP",
        "Ana Souza",
        "ana@sorriso.com.br",
        "curta",  # password: too short...
        "curta",
        PASSWORD,  # ...asked again, with its confirmation
        PASSWORD,
        "1",  # simulator
        "",  # no OpenAI key
        "",  # no PIX key
    ]
    result = porfin("init", input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "unknown IANA time zone" in result.output
    assert "at least 10 characters" in result.output
    assert "Conta de administrador: Ana Souza <ana@sorriso.com.br> — criada" in result.stdout
    assert "America/Sao_Paulo · Campinas/SP" in result.stdout


def test_init_at_the_terminal_explains_a_refused_credential_and_lets_it_be_skipped(
    porfin, graph, openai, monkeypatch
):
    monkeypatch.setattr(init_command, "stdin_is_terminal", lambda: True)
    answers = [
        "",  # time zone: the default
        "",  # no city
        "",  # no state
        "2",  # Meta Cloud API
        "Recepção",
        "+55 11 3333-4444",
        "106540352242922",
        "102290129340398",
        "EAAG-wrong-token",
        "app-secret-0123456789",
        "",  # try again? yes
        "",  # same name, number, ids...
        "",
        "",
        "",
        GRAPH_TOKEN,  # ...and the right token
        "sk-wrong",  # an OpenAI key the API refuses
        "",  # another? no: go on without
        "",  # no PIX key
    ]
    result = porfin(
        "init",
        "--clinic-name",
        "Clínica Sorriso",
        "--admin-email",
        "ana@sorriso.com.br",
        "--admin-name",
        "Ana Souza",
        "--admin-password",
        PASSWORD,
        input="\n".join(answers) + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "token de acesso inválido ou expirado" in result.output
    assert "Meta Business Manager" in result.output
    assert '✓ WhatsApp "Recepção" (Meta Cloud API): +55 11 3333-4444' in result.output
    assert "chave da OpenAI inválida" in result.output
    assert "Sem OpenAI por enquanto" in result.output
    assert "Canal: Recepção (Meta Cloud API, +551133334444) — criado" in result.stdout
    assert not (porfin.data_dir / "openai-api-key").exists()


def test_doctor_asks_the_payment_gateway_about_its_credentials(porfin):
    assert porfin("init", "--no-input").exit_code == 0
    with AsaasApiFake.serving() as asaas, MercadoPagoFake.serving() as mercadopago:
        accepted = [f"api_key={ASAAS_KEY}", "webhook_token=porfin-webhook-token-5678"]
        accepted.append(f"base_url={asaas.url}/v3")
        chosen = porfin("charges", "gateway", "asaas", *(a for s in accepted for a in ("--set", s)))
        assert chosen.exit_code == 0, chosen.output
        checked = porfin("doctor")
        assert checked.exit_code == 0, checked.output
        assert "✓ Gateway de pagamento: asaas" in checked.stdout

        refused = ["access_token=APP_USR-wrong", "webhook_secret=segredo-do-webhook-1234"]
        refused.append(f"base_url={mercadopago.url}")
        chosen = porfin(
            "charges", "gateway", "mercadopago", *(a for s in refused for a in ("--set", s))
        )
        assert chosen.exit_code == 0, chosen.output
        checked = porfin("doctor")
        assert checked.exit_code == 1
        assert "✗ Gateway de pagamento: mercadopago: credenciais recusadas" in checked.stdout
        assert "porfin charges gateway" in checked.stdout


def test_doctor_reports_calendars_whose_access_is_gone(porfin):
    assert porfin("init", "--no-input").exit_code == 0
    ana = _json(porfin("professionals", "add", "--name", "Dra. Ana Souza", "--json"))
    beto = _json(porfin("professionals", "add", "--name", "Dr. Beto Lima", "--json"))

    async def seed() -> None:
        settings = load_settings(data_dir=porfin.data_dir)
        container = composition.create_container(settings)
        await composition.start(container)
        try:
            clinic_id = (await container.set_up_installation()()).clinic.id
            now = datetime.now(UTC)
            async with container.uow_factory()() as uow:
                for n, (who, status) in enumerate(
                    [(ana, ConnectionStatus.REVOKED), (beto, ConnectionStatus.ACTIVE)]
                ):
                    await uow.calendar_connections.save(
                        CalendarConnection(
                            id=f"conn-{n}",
                            clinic_id=clinic_id,
                            professional_id=who["id"],
                            refresh_token=SecretRef(f"store:token-{n}"),
                            connected_at=now,
                            status=status,
                        )
                    )
                await uow.commit()
        finally:
            await composition.stop(container)

    asyncio.run(seed())
    checked = porfin("doctor")
    assert checked.exit_code == 1
    assert "✗ Google Agenda: Dra. Ana Souza: o acesso à agenda foi retirado" in checked.stdout
    assert "porfin calendar connect <profissional>" in checked.stdout
    assert "✗ Google Agenda: Dr. Beto Lima: o Google Agenda não está configurado" in checked.stdout


def test_a_service_that_hangs_is_a_failed_check_not_a_hung_doctor(porfin):
    for served in serve(FakeEvolution()):
        made = porfin("init", "--no-input", *_evolution_channel(served))
        assert made.exit_code == 0, made.output
        served.fake.fail_next("connectionState", 200, delay=3)
        started = time.monotonic()
        checked = porfin("doctor", "--timeout", "0.5")
        assert time.monotonic() - started < 2.5
        assert checked.exit_code == 1
        assert '✗ WhatsApp "Celular" (Evolution): sem resposta no tempo limite' in checked.stdout
        assert "✓ Armazenamento" in checked.stdout  # the other checks still ran


def test_doctor_reports_pending_migrations_and_runs_none(porfin):
    porfin.data_dir.mkdir()
    database = porfin.data_dir / "porfin.db"
    migrate(str(database), target=1)
    checked = porfin("doctor")
    assert checked.exit_code == 1
    assert "o banco precisa de atualização (migrações pendentes)" in checked.stdout
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
