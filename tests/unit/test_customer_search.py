"""How a search term is read: name words and the digit forms of a phone number."""

from __future__ import annotations

import pytest

from porfin_adapters.customer_search import CustomerSearch, customer_keys
from porfin_core.domain.customer import normalize_tag, normalize_tags
from porfin_core.domain.phone import phone_search_digits
from porfin_core.errors import ValidationError


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("98765-4321", ("987654321",)),
        ("4321", ("4321",)),
        ("+55 (11) 98765-4321", ("5511987654321",)),
        ("551187654321", ("551187654321", "5511987654321")),  # legacy WhatsApp id
        ("(011) 8765-4321", ("01187654321", "5511987654321")),  # trunk 0, no 9th digit
        ("11 8765-4321", ("1187654321", "5511987654321")),
        ("21 3333-4444", ("2133334444", "552133334444")),  # a landline keeps its digits
        ("12", ()),  # too short
        ("Maria 98765", ()),  # words: a name, not a phone
        ("", ()),
    ],
)
def test_phone_search_digits(term, expected):
    assert phone_search_digits(term) == expected


@pytest.mark.parametrize(
    ("term", "name", "phone", "matches"),
    [
        ("jo conc", "João da Conceição", None, True),
        ("CONCEIÇÃO joao", "João da Conceição", None, True),
        ("ceicao", "João da Conceição", None, False),
        ("joao silva", "João da Conceição", None, False),
        ("8765-4321", "Maria", "+5511987654321", True),
        ("551187654321", "Maria", "+5511987654321", True),
        ("8765-4321", "Maria", None, False),
        ("--", "Maria", "+5511987654321", False),
    ],
)
def test_search_rule(term, name, phone, matches):
    assert CustomerSearch.of(term).matches(name, phone) is matches


def test_the_keys_sqlite_indexes():
    keys = customer_keys("Ana Ana Souza", "+552133334444", ["vip"])
    assert keys[:2] == ["n:ana", "n:souza"]
    assert "p:552133334444" in keys and "p:444" in keys and "p:44" not in keys
    assert keys[-1] == "t:vip"


def test_tags_are_normalized_and_limited():
    assert normalize_tag("  Pós   Operatório ") == "pós operatório"
    assert normalize_tags(["VIP", "vip ", "Implante"]) == ["vip", "implante"]
    for bad in ("", "   ", "x" * 41, "a\tb\x00"):
        with pytest.raises(ValidationError):
            normalize_tag(bad)
    with pytest.raises(ValidationError) as refused:
        normalize_tags([f"t{i}" for i in range(21)])
    assert refused.value.fields["field"] == "tags"
