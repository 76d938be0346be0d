"""Search folding: the ASCII shortcuts give what the general Unicode path gives."""

from __future__ import annotations

import unicodedata

import pytest

from porfin_adapters.text import digits, fold


def unicode_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@pytest.mark.parametrize(
    "text",
    ["Maria da Silva", "JOÃO", "Conceição", "straße", "Ǆ", "", "+55 (11) 98765-4321", "A_b-C 9"],
)
def test_fold_matches_the_unicode_rule(text):
    assert fold(text) == unicode_fold(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("+55 (11) 98765-4321", "5511987654321"),
        ("sem número", ""),
        ("", ""),
        ("١٢٣ 4", "١٢٣4"),  # Arabic-Indic digits are digits too (the Unicode path)
    ],
)
def test_digits_keeps_only_digits(text, expected):
    assert digits(text) == expected
