"""What an AI reply must not do before it reaches the patient."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porfin_core.domain.guardrails import (
    Violation,
    ViolationKind,
    check_reply,
    money_amounts_cents,
)

DATA = Path(__file__).parents[1] / "data" / "assistant"


def _rows(name: str) -> list[list[str]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.split("\t") for line in lines[1:] if line]


REPLY_ROWS = _rows("replies.tsv")


def _cents(reais: str) -> frozenset[int]:
    """Known prices column: reais separated by commas, decimals with a dot ("99.90")."""
    return frozenset(int(Decimal(value) * 100) for value in reais.split(",") if value)


@pytest.mark.parametrize(
    ("text", "expected", "prices"),
    [
        pytest.param(text, expected, prices, id=f"L{number}-{expected}-{text[:40]}")
        for number, (text, expected, prices) in enumerate(REPLY_ROWS, start=2)
    ],
)
def test_reply_file(text, expected, prices):
    violations = check_reply(text, known_prices_cents=_cents(prices))
    found = {violation.kind.value for violation in violations}
    assert found == (set() if expected == "ok" else set(expected.split(","))), violations


def test_the_reply_file_is_large_and_covers_every_kind():
    assert len(REPLY_ROWS) >= 60
    kinds = {kind for _, expected, _ in REPLY_ROWS for kind in expected.split(",")}
    assert kinds == {kind.value for kind in ViolationKind} | {"ok"}
    assert sum(expected == "ok" for _, expected, _ in REPLY_ROWS) >= 30


@pytest.mark.parametrize(
    ("text", "amounts"),
    [
        ("R$ 150", ((15000, 1),)),
        ("R$150,00", ((15000, 1),)),
        ("r$ 99,9", ((9990, 1),)),
        ("R$ 1.234,56", ((123456, 1),)),
        ("R$ 1.500", ((150000, 1),)),
        ("R$ 150.00", ((15000, 1),)),
        ("150 reais", ((15000, 1),)),
        ("1.200,50 reais", ((120050, 1),)),
        ("R$ 2 mil", ((200000, 1),)),
        ("2,5 mil reais", ((250000, 1),)),
        ("4x de R$ 200,00", ((20000, 4),)),
        ("em 10 vezes sem juros de R$ 80", ((8000, 10),)),
        ("R$ 800 ou 4x de R$ 200", ((80000, 1), (20000, 4))),
        ("Rua das Flores, 150, às 15h, sala 2", ()),
    ],
)
def test_money_amounts(text, amounts):
    assert money_amounts_cents(text) == amounts


def test_an_invented_price_is_named_in_the_detail():
    violations = check_reply("A limpeza custa R$ 1.800,00.", known_prices_cents=frozenset({15000}))
    assert violations == (
        Violation(ViolationKind.INVENTED_PRICE, "R$ 1.800,00 não é preço da clínica"),
    )


def test_instalments_that_add_up_to_a_known_price_are_not_invented():
    text = "O clareamento é R$ 900 ou 3x de R$ 300."
    assert check_reply(text, known_prices_cents=frozenset({90000})) == ()


@pytest.mark.parametrize("text", ["", "   ", "\n", "...", "👍"])
def test_an_empty_reply_is_only_empty(text):
    assert [v.kind for v in check_reply(text, known_prices_cents=frozenset())] == [
        ViolationKind.EMPTY
    ]


def test_the_length_limit_is_configurable():
    text = "Temos horário amanhã às 15h. Posso reservar?"
    assert check_reply(text, known_prices_cents=frozenset(), max_chars=len(text)) == ()
    violations = check_reply(text, known_prices_cents=frozenset(), max_chars=20)
    assert [v.kind for v in violations] == [ViolationKind.TOO_LONG]


def test_violations_come_once_per_kind_in_kind_order():
    text = "Você tem uma cárie. Você tem uma infecção. Tome amoxicilina. Garantimos o resultado."
    kinds = [v.kind for v in check_reply(text, known_prices_cents=frozenset())]
    assert kinds == [
        ViolationKind.DIAGNOSIS,
        ViolationKind.PRESCRIPTION,
        ViolationKind.PROMISE_OF_RESULT,
    ]


def test_a_question_about_the_patient_is_not_a_diagnosis():
    assert check_reply("Você tem cárie?", known_prices_cents=frozenset()) == ()
    kinds = [v.kind for v in check_reply("Você tem cárie.", known_prices_cents=frozenset())]
    assert kinds == [ViolationKind.DIAGNOSIS]


@given(st.text(), st.frozensets(st.integers(min_value=0, max_value=10**9), max_size=5))
def test_check_reply_never_raises(text, prices):
    for violation in check_reply(text, known_prices_cents=prices):
        assert isinstance(violation.kind, ViolationKind)
        assert violation.detail


@pytest.mark.parametrize(
    "text",
    ["R$ " + "1" * 5000, "9" * 5000 + " reais", "R$ 1234567890"],
    ids=["long-after-symbol", "long-before-reais", "ten-digits"],
)
def test_digit_runs_too_long_for_a_price_are_not_prices(text):
    assert money_amounts_cents(text) == ()
    violations = check_reply(text, known_prices_cents=frozenset(), max_chars=10_000)
    assert violations == ()
