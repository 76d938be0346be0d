"""``porfin charges``: set the clinic's PIX key, issue a charge to a patient who wrote in,
record a partial then the full payment, list; money shown as "R$ 1.234,56"; an Asaas payment
link."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from porfin_cli.charges import parse_amount
from porfin_cli.main import app
from porfin_core.domain.pix import parse_br_code
from tests.fakes.asaas_api import API_KEY, AsaasApiFake


@pytest.fixture
def porfin(tmp_path, monkeypatch):
    monkeypatch.delenv("PORFIN_ADMIN_TOKEN", raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [*args, "--data-dir", str(tmp_path)])

    return run


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("text", "cents"),
    [("150", 15000), ("150,5", 15050), ("1.234,56", 123456), ("R$ 1.234,56", 123456), ("0.99", 99)],
)
def test_amounts_are_read_as_people_write_them(text, cents):
    assert parse_amount(text) == cents


def test_issue_pay_in_parts_and_list(porfin):
    patient = _json(porfin("simulate", "Oi", "--from", "+5511987654321", "--json"))
    customer = patient["customer_id"]
    refused = porfin(
        "charges", "create", "--customer", customer, "--amount", "10", "--description", "x"
    )
    assert refused.exit_code == 1 and refused.stdout == ""
    assert "PIX" in refused.stderr and "validation_error" in refused.stderr
    assert (
        porfin("charges", "set-pix", "--key", "+55 11 98765-4321", "--city", "Campinas").exit_code
        == 0
    )

    issued = porfin(
        "charges",
        "create",
        "--customer",
        customer,
        "--amount",
        "1.234,56",
        "--description",
        "Tratamento",
    )
    assert issued.exit_code == 0, issued.output
    assert "Cobrança emitida: R$ 1.234,56 — Tratamento." in issued.stdout
    created = _json(
        porfin(
            "charges",
            "create",
            "--customer",
            customer,
            "--amount",
            "150,00",
            "--description",
            "Sinal",
            "--no-send",
            "--json",
        )
    )
    charge = created["charge"]
    assert created["sent"] is False
    assert parse_br_code(charge["br_code"]).amount_cents == 15000

    partial = porfin("charges", "mark-paid", charge["id"], "--amount", "50")
    assert partial.exit_code == 0, partial.output
    assert "Pagamento registrado: R$ 50,00." in partial.stdout
    assert "pendente: pago R$ 50,00 de R$ 150,00" in partial.stdout
    paid = _json(porfin("charges", "mark-paid", charge["id"], "--reference", "E99", "--json"))
    assert paid["charge"]["status"] == "paid" and paid["received_cents"] == 10000
    assert [t["amount_cents"] for t in paid["charge"]["transactions"]] == [5000, 10000]
    again = porfin("charges", "mark-paid", charge["id"])
    assert again.exit_code == 1 and "invalid_state" in again.stderr

    listed = porfin("charges", "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].endswith("R$ 150,00  paga  Sinal")
    assert "R$ 1.234,56  pendente  Tratamento" in lines[1]
    assert [c["id"] for c in _json(porfin("charges", "list", "--status", "paid", "--json"))] == [
        charge["id"]
    ]
    bad = porfin(
        "charges", "create", "--customer", customer, "--amount", "abc", "--description", "x"
    )
    assert bad.exit_code == 1 and bad.stderr.startswith("erro: valor inválido")


def test_refund_cancel_and_the_payment_gateway(porfin, tmp_path):
    customer = _json(porfin("simulate", "Oi", "--from", "+5511987654321", "--json"))["customer_id"]
    assert (
        porfin("charges", "set-pix", "--key", "+55 11 98765-4321", "--city", "Campinas").exit_code
        == 0
    )
    make = (
        "charges",
        "create",
        "--customer",
        customer,
        "--amount",
        "90",
        "--description",
        "Consulta",
        "--json",
    )
    first = _json(porfin(*make))["charge"]
    early = porfin("charges", "refund", first["id"])
    assert early.exit_code == 1 and "invalid_state" in early.stderr
    assert porfin("charges", "mark-paid", first["id"]).exit_code == 0
    refunded = _json(porfin("charges", "refund", first["id"], "--reference", "D001", "--json"))
    assert refunded["status"] == "refunded"
    assert [t["kind"] for t in refunded["transactions"]] == ["payment", "refund"]
    second = _json(porfin(*make))["charge"]
    cancelled = porfin("charges", "cancel", second["id"], "--reason", "desistiu")
    assert cancelled.exit_code == 0 and "cancelada" in cancelled.stdout
    embedded = _json(porfin("charges", "sync", second["id"], "--json"))
    assert embedded["status"] == "cancelled"

    assert "Sem gateway" in porfin("charges", "gateway").stdout
    bad = porfin("charges", "gateway", "asaas", "--set", "api_key=k")
    assert bad.exit_code == 1 and "webhook_token" in bad.stderr
    shown = _json(
        porfin(
            "charges",
            "gateway",
            "asaas",
            "--set",
            "api_key=$aact_abcdef1234",
            "--set",
            "webhook_token=porfin-webhook-token-5678",
            "--json",
        )
    )
    assert shown["secret_hints"] == {"api_key": "1234", "webhook_token": "5678"}
    assert "aact_abcdef" not in json.dumps(shown)
    needs_cpf = porfin(*make)
    assert needs_cpf.exit_code == 1 and "payer_document" in needs_cpf.stderr
    assert _json(porfin("charges", "gateway", "embedded", "--json"))["provider"] == "embedded"


def test_pix_code_makes_a_code_that_pix_check_explains():
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "pix",
            "code",
            "--key",
            "123.456.789-09",
            "--amount",
            "150.00",
            "--txid",
            "SINAL42",
            "--name",
            "Clínica Sorriso",
            "--city",
            "São Paulo",
        ],
    )
    assert made.exit_code == 0, made.output
    payload, *qr = made.stdout.splitlines()
    assert parse_br_code(payload).amount_cents == 15000
    assert any("█" in line for line in qr)
    checked = runner.invoke(app, ["pix", "check", payload, "--json"])
    found = json.loads(checked.stdout)
    assert (found["key"], found["key_type"], found["amount_cents"], found["txid"]) == (
        "12345678909",
        "CPF",
        15000,
        "SINAL42",
    )
    shown = runner.invoke(app, ["pix", "check", payload]).stdout
    assert "R$ 150,00" in shown and "Clinica Sorriso" in shown
    broken = runner.invoke(app, ["pix", "check", payload[:-4] + "0000"])
    assert broken.exit_code == 1 and broken.stdout == ""
    assert "inválido" in broken.stderr and "crc" in broken.stderr.lower()
    bad_key = runner.invoke(app, ["pix", "code", "--key", "123.456.789-00"])
    assert bad_key.exit_code == 1 and "check digits" in bad_key.stderr


def test_a_payment_link_through_asaas(porfin):
    customer = _json(porfin("simulate", "Oi", "--from", "+5511987654321", "--json"))["customer_id"]
    make = ("charges", "create", "--customer", customer, "--amount", "600")
    embedded = porfin(*make, "--description", "Clareamento", "--link")
    assert embedded.exit_code == 1 and "payment gateway" in embedded.stderr
    too_many = porfin(*make, "--description", "Clareamento", "--link", "--installments", "13")
    assert too_many.exit_code != 0
    with AsaasApiFake.serving() as fake:
        settings = [f"api_key={API_KEY}", "webhook_token=porfin-webhook-token-5678"]
        settings.append(f"base_url={fake.url}/v3")
        configured = porfin(
            "charges", "gateway", "asaas", *(a for s in settings for a in ("--set", s))
        )
        assert configured.exit_code == 0, configured.output
        made = _json(
            porfin(*make, "--description", "Clareamento", "--link", "--installments", "3", "--json")
        )["charge"]
        [link] = fake.links_for(made["id"])
        assert (made["payment_link"], made["max_installments"]) == (True, 3)
        assert (made["provider_charge_id"], made["payment_url"]) == (
            f"link:{link['id']}",
            link["url"],
        )
        shown = porfin(*make, "--description", "Outro", "--link")
        assert shown.exit_code == 0 and "Link de pagamento: http://127.0.0.1" in shown.stdout
