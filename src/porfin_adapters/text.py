"""Text folding for search: case- and accent-insensitive matching, the same in every store."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents ("Conceição" -> "conceicao")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def digits(text: str) -> str:
    """Only the digits of ``text``."""
    return "".join(ch for ch in text if ch.isdigit())


def words(text: str) -> list[str]:
    """Distinct folded words of ``text``, in order of first appearance."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


_PHONE_PUNCTUATION = frozenset("+-() .")


def phone_query(term: str) -> str | None:
    """The digits to look for in phone numbers when ``term`` looks like (part of) a phone
    number — at least 3 digits and nothing but phone punctuation — else None."""
    number = digits(term)
    if len(number) < 3 or any(not (ch.isdigit() or ch in _PHONE_PUNCTUATION) for ch in term):
        return None
    return number
