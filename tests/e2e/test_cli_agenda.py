"""``porfin professionals``, ``appointment-types``, ``appointments`` and ``agenda`` on a local
data directory (the real clock: the day booked is a working day over a week ahead)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import holidays
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


def _tuesday() -> date:
    """A Tuesday at least a week ahead that is not a national holiday."""
    day = datetime.now(UTC).date() + timedelta(days=7)
    national = holidays.country_holidays("BR", years=range(day.year, day.year + 2))
    while day.weekday() != 1 or day in national:
        day += timedelta(days=1)
    return day


def _json(result):
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("erro: "), lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def clinic(porfin) -> dict[str, str]:
    """A dentist (mornings and afternoons), a cleaning and two patients."""
    professional = _json(
        porfin(
            "professionals",
            "add",
            "--name",
            "Dra. Ana Souza",
            "--hours",
            "seg-sex 08:00-12:00",
            "--hours",
            "seg-sex 13:00-18:00",
            "--json",
        )
    )
    kind = _json(
        porfin(
            "appointment-types",
            "add",
            "--name",
            "Limpeza",
            "--duration",
            "30",
            "--price",
            "150,00",
            "--buffer-after",
            "10",
            "--json",
        )
    )
    patients = {}
    for name, number in (("Maria", "+55 11 98765-4321"), ("João", "+55 21 99876-5432")):
        sent = _json(porfin("simulate", "Quero marcar", "--from", number, "--name", name, "--json"))
        patients[name] = sent["customer_id"]
    return {
        "professional": professional["id"],
        "type": kind["id"],
        "maria": patients["Maria"],
        "joao": patients["João"],
    }


def test_professionals_and_types_are_added_and_listed(porfin, clinic):
    [professional] = _json(porfin("professionals", "list", "--json"))
    assert professional["hours"][0] == {"weekday": "monday", "start": "08:00", "end": "12:00"}
    assert len(professional["hours"]) == 10
    listed = porfin("professionals", "list")
    assert "Dra. Ana Souza · dentista" in listed.stdout
    assert "horário: seg-sex 08:00-12:00, seg-sex 13:00-18:00" in listed.stdout
    [kind] = _json(porfin("appointment-types", "list", "--json"))
    assert (kind["price_cents"], kind["buffer_after_minutes"]) == (15000, 10)
    assert (
        "Limpeza · 30 min · R$ 150,00 (limpeza 10 min)"
        in porfin("appointment-types", "list").stdout
    )


def test_book_reschedule_confirm_and_cancel_show_in_the_agenda(porfin, clinic):
    day = _tuesday()
    booked = porfin(
        "appointments",
        "book",
        "--customer",
        clinic["maria"],
        "--type",
        clinic["type"],
        "--start",
        f"{day}T09:00",
    )
    assert booked.exit_code == 0, booked.output
    assert f"Consulta marcada: terça-feira, {day:%d/%m/%Y} às 09:00" in booked.stdout
    assert "com Dra. Ana Souza (a confirmar)" in booked.stdout
    appointment_id = booked.stdout.split("Id: ")[1].strip()

    agenda = porfin("agenda", "--date", day.isoformat())
    assert agenda.exit_code == 0, agenda.output
    assert f"Agenda de terça-feira, {day:%d/%m/%Y}" in agenda.stdout
    assert "Dra. Ana Souza (dentista)" in agenda.stdout
    assert f"09:00–09:30  Maria · Limpeza · a confirmar  [{appointment_id}]" in agenda.stdout

    moved = _json(
        porfin("appointments", "reschedule", appointment_id, "--start", f"{day}T10:00", "--json")
    )
    assert moved["appointment"]["status"] == "requested"
    assert moved["appointment"]["history"][-1]["action"] == "rescheduled"
    confirmed = porfin("appointments", "confirm", appointment_id)
    assert "Consulta confirmada" in confirmed.stdout and "às 10:00" in confirmed.stdout

    day_json = _json(porfin("agenda", "--date", day.isoformat(), "--json"))
    [column] = day_json["professionals"]
    [item] = column["appointments"]
    assert (item["start"][11:16], item["status"], item["customer_name"]) == (
        "10:00",
        "confirmed",
        "Maria",
    )

    cancelled = porfin("appointments", "cancel", appointment_id, "--reason", "Viagem")
    assert cancelled.exit_code == 0, cancelled.output
    assert "Consulta cancelada" in cancelled.stdout and "(cancelada)" in cancelled.stdout
    without = porfin("agenda", "--date", day.isoformat(), "--sem-canceladas")
    assert "sem consultas" in without.stdout
    again = porfin("appointments", "cancel", appointment_id)
    _one_line_error(again, "operação não permitida", "[invalid_state]")


def test_a_taken_time_is_one_line_with_the_free_times_near_it(porfin, clinic):
    day = _tuesday()
    first = porfin(
        "appointments",
        "book",
        "--customer",
        clinic["maria"],
        "--type",
        clinic["type"],
        "--start",
        f"{day}T09:00",
        "--professional",
        clinic["professional"],
    )
    assert first.exit_code == 0, first.output
    second = porfin(
        "appointments",
        "book",
        "--customer",
        clinic["joao"],
        "--type",
        clinic["type"],
        "--start",
        f"{day}T09:15",
    )
    line = _one_line_error(second, "horário ocupado", "[slot_taken]", "livres:")
    assert f"{day:%d/%m} 09:45" in line


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("agenda", "--date", "26/11/2026"), "data inválida"),
        (("professionals", "add", "--name", "X", "--hours", "todo dia 8h"), "horário inválido"),
        (("professionals", "add", "--name", "X", "--hours", "seg 18:00-08:00"), "dados inválidos"),
        (("appointment-types", "add", "--name", "X", "--duration", "2"), "dados inválidos"),
        (
            ("appointment-types", "add", "--name", "X", "--duration", "30", "--price", "abc"),
            "preço",
        ),
        (("appointments", "confirm", "nope"), "não encontrado"),
        (("agenda", "--professional", "nope"), "não encontrado"),
    ],
)
def test_refusals_are_one_line_on_stderr(porfin, args, fragment):
    _one_line_error(porfin(*args), fragment)


def test_an_empty_agenda_says_so(porfin):
    empty = porfin("agenda")
    assert empty.exit_code == 0, empty.output
    assert "Nenhum profissional cadastrado." in empty.stdout
    assert _json(porfin("agenda", "--json"))["professionals"] == []
