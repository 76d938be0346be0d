"""What a model's answer cost: BRL centavos per million tokens, exact, by model (a dated
snapshot takes its family's price), and price tables read from configuration."""

from __future__ import annotations

from decimal import Decimal

import pytest

from porfin_core.domain.model_costs import ModelPrice, cost_cents, parse_prices, price_for
from porfin_core.errors import ValidationError
from porfin_core.ports.chat_model import TokenUsage

PRICES = {
    "gpt-4.1-mini": ModelPrice(input_per_million=220, output_per_million=880),
    "gpt-4.1": ModelPrice(input_per_million=1100, output_per_million=4400),
    "llama3.1": ModelPrice(input_per_million=0, output_per_million=0),
}


def test_a_cost_is_exact_centavos():
    usage = TokenUsage(input_tokens=1_500, output_tokens=120)

    # 1,500 x 220 / 1M + 120 x 880 / 1M = 0.33 + 0.1056 centavos
    assert cost_cents("gpt-4.1-mini", usage, PRICES) == Decimal("0.4356")


def test_a_million_tokens_cost_the_listed_price():
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)

    assert cost_cents("gpt-4.1", usage, PRICES) == Decimal(5500)


def test_a_dated_snapshot_takes_the_longest_matching_family_price():
    assert price_for("gpt-4.1-mini-2025-04-14", PRICES) is PRICES["gpt-4.1-mini"]
    assert price_for("gpt-4.1-2025-04-14", PRICES) is PRICES["gpt-4.1"]
    assert price_for("gpt-4.1mini", PRICES) is None


def test_an_unknown_model_has_no_cost_and_a_free_one_costs_zero():
    usage = TokenUsage(input_tokens=10, output_tokens=10)

    assert cost_cents("mistral-large", usage, PRICES) is None
    assert cost_cents("llama3.1", usage, PRICES) == 0


def test_price_tables_from_a_string_or_a_mapping():
    assert parse_prices("gpt-4.1-mini=220/880, gpt-4o-mini = 82.5/330") == {
        "gpt-4.1-mini": ModelPrice(input_per_million=220, output_per_million=880),
        "gpt-4o-mini": ModelPrice(
            input_per_million=Decimal("82.5"), output_per_million=Decimal(330)
        ),
    }
    assert parse_prices({"gpt-4.1": [1100, 4400], "llama3.1": "0/0"}) == {
        "gpt-4.1": ModelPrice(input_per_million=1100, output_per_million=4400),
        "llama3.1": ModelPrice(input_per_million=0, output_per_million=0),
    }
    assert parse_prices("") == {}


@pytest.mark.parametrize(
    "raw",
    [
        "gpt-4.1-mini",
        "gpt-4.1-mini=220",
        "gpt-4.1-mini=220/880/1",
        "gpt-4.1-mini=-1/880",
        "gpt-4.1-mini=abc/880",
        "gpt-4.1-mini=NaN/1",
        "=220/880",
        {"gpt-4.1": [True, 1]},
        {"gpt-4.1": 5},
        42,
    ],
)
def test_unreadable_price_tables_are_refused(raw):
    with pytest.raises(ValidationError) as caught:
        parse_prices(raw)

    assert caught.value.fields["field"] == "openai_prices"
