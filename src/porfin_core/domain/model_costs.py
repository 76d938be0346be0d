"""What a language model's answer cost, so each clinic's AI spending can be recorded and
capped.

Prices are **BRL centavos per million tokens** (Porfin keeps money in BRL centavos), one price
for prompt tokens and one for completion tokens. A single answer costs a fraction of a
centavo, so costs are exact :class:`~decimal.Decimal` centavos: add them up per clinic and
round only to show or to bill.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Protocol

import attrs

from porfin_core.errors import ValidationError

MILLION = Decimal(1_000_000)


class Usage(Protocol):
    """Tokens one call consumed (e.g. :class:`porfin_core.ports.chat_model.TokenUsage`)."""

    @property
    def input_tokens(self) -> int:
        """Prompt tokens."""
        ...

    @property
    def output_tokens(self) -> int:
        """Completion tokens."""
        ...


def _centavos(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(value) from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(value)
    return amount


@attrs.frozen(kw_only=True)
class ModelPrice:
    """A model's price.

    Attributes:
        input_per_million: BRL centavos per million prompt tokens (``220`` = R$ 2,20).
        output_per_million: BRL centavos per million completion tokens.
    """

    input_per_million: Decimal = attrs.field(converter=_centavos)
    output_per_million: Decimal = attrs.field(converter=_centavos)


PriceTable = Mapping[str, ModelPrice]
"""Prices by model name."""


def price_for(model: str, prices: PriceTable) -> ModelPrice | None:
    """The price of ``model``: its own entry, else the longest entry it starts with (so a
    dated snapshot such as ``gpt-4.1-mini-2025-04-14`` takes ``gpt-4.1-mini``'s price), else
    None."""
    if model in prices:
        return prices[model]
    prefixes = [name for name in prices if model.startswith(f"{name}-")]
    return prices[max(prefixes, key=len)] if prefixes else None


def cost_cents(model: str, usage: Usage, prices: PriceTable) -> Decimal | None:
    """What ``usage`` of ``model`` cost, in BRL centavos (exact, not rounded).

    Returns:
        The cost, or None when ``model`` has no price (unknown cost: record the tokens; give a
        local model a price of ``0/0`` to count it as free).
    """
    price = price_for(model, prices)
    if price is None:
        return None
    return (
        usage.input_tokens * price.input_per_million
        + usage.output_tokens * price.output_per_million
    ) / MILLION


def parse_prices(raw: object) -> dict[str, ModelPrice]:
    """A price table from configuration.

    Accepts a string ``"gpt-4.1-mini=220/880, gpt-4.1-nano=55/220"`` (model ``=`` input
    ``/`` output centavos per million tokens; decimals with a point) or a mapping of model to
    ``"220/880"`` or ``[220, 880]``.

    Raises:
        ValidationError: The table cannot be read (``field="openai_prices"``).
    """
    try:
        if isinstance(raw, str):
            entries: list[tuple[object, object]] = []
            for item in filter(None, (part.strip() for part in raw.split(","))):
                model, sep, prices = item.partition("=")
                if not sep:
                    raise ValueError(item)
                entries.append((model, prices))
        elif isinstance(raw, Mapping):
            entries = list(raw.items())
        else:
            raise ValueError(raw)
        table: dict[str, ModelPrice] = {}
        for name, value in entries:
            if not isinstance(name, str) or not name.strip():
                raise ValueError(name)
            pair = value.split("/") if isinstance(value, str) else value
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise ValueError(value)
            if any(isinstance(part, bool) for part in pair):
                raise ValueError(value)
            table[name.strip()] = ModelPrice(input_per_million=pair[0], output_per_million=pair[1])
        return table
    except ValueError as exc:
        raise ValidationError(
            "invalid setting openai_prices: use model=input/output centavos per million "
            "tokens, e.g. gpt-4.1-mini=220/880",
            field="openai_prices",
        ) from exc
