"""How every store finds customers: the search term read once, the same matching rule, and
the keys the SQLite and Firestore stores index.

A search term matches a customer when

* every word of the term begins a word of the customer's name, in any order, ignoring case
  and accents (``"jo conc"`` and ``"conceicao joao"`` find "João da Conceição"), or
* the term looks like a phone number and one of its digit forms
  (:func:`porfin_core.domain.phone.phone_search_digits`) occurs in the customer's number.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from porfin_adapters.text import digits, words
from porfin_core.domain.phone import MIN_SEARCH_DIGITS, phone_search_digits

MAX_NAME_WORDS = 40
"""Distinct words of a name that are indexed (names are at most 200 characters)."""

NAME = "n:"
PHONE = "p:"
TAG = "t:"


@attrs.frozen
class CustomerSearch:
    """A search term, read once.

    Attributes:
        words: Distinct folded words of the term (the name rule).
        numbers: Digit strings to look for in phone numbers (empty: not a phone number).
    """

    words: tuple[str, ...]
    numbers: tuple[str, ...]

    @classmethod
    def of(cls, term: str) -> CustomerSearch:
        """Read ``term``."""
        return cls(tuple(words(term)), phone_search_digits(term))

    @property
    def empty(self) -> bool:
        """True when the term can match nothing (no words, no phone digits)."""
        return not self.words and not self.numbers

    def matches(self, name: str, phone: str | None) -> bool:
        """True when a customer with ``name`` and ``phone`` matches the term."""
        if self.words:
            name_words = name_words_of(name)
            if all(any(w.startswith(term) for w in name_words) for term in self.words):
                return True
        number = digits(phone or "")
        return any(candidate in number for candidate in self.numbers)


def name_words_of(name: str) -> list[str]:
    """The distinct folded words of a name that search looks at."""
    return words(name)[:MAX_NAME_WORDS]


def phone_suffixes(phone: str | None) -> list[str]:
    """Every suffix of the phone's digits of at least ``MIN_SEARCH_DIGITS`` digits: a term
    occurs in the number exactly when it begins one of them."""
    number = digits(phone or "")
    return [number[i:] for i in range(len(number) - MIN_SEARCH_DIGITS + 1)]


def customer_keys(name: str, phone: str | None, tags: Iterable[str]) -> list[str]:
    """Keys the SQLite store indexes for a customer (``customer_keys`` table): ``n:`` + each
    name word, ``p:`` + each phone suffix, ``t:`` + each tag. Prefix searches over them
    answer the name and phone rules; a tag filter is one exact key."""
    keys = [NAME + word for word in name_words_of(name)]
    keys += [PHONE + suffix for suffix in phone_suffixes(phone)]
    keys += [TAG + tag for tag in tags]
    return list(dict.fromkeys(keys))


def customer_keys_of_document(document: dict[str, Any]) -> list[str]:
    """:func:`customer_keys` of a stored customer document (``name``, ``phone``, ``tags``)."""
    return customer_keys(
        document.get("name") or "", document.get("phone"), document.get("tags") or []
    )
