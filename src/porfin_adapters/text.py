"""Text folding for search: case- and accent-insensitive matching, the same in every store."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_NOT_ASCII_DIGIT = re.compile(r"[^0-9]")


def fold(text: str) -> str:
    """Lower-case ``text`` and strip accents ("Conceição" -> "conceicao")."""
    if text.isascii():  # nothing to decompose (most names and every phone number)
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def digits(text: str) -> str:
    """Only the digits of ``text``."""
    if text.isascii():
        return _NOT_ASCII_DIGIT.sub("", text)
    return "".join(ch for ch in text if ch.isdigit())


def words(text: str) -> list[str]:
    """Distinct folded words of ``text``, in order of first appearance."""
    return list(dict.fromkeys(_WORD.findall(fold(text))))


def phrase_prefix_match(text: str, term: str) -> bool:
    """True when the folded words of ``term`` appear in ``text`` one after another, the last
    one as a word prefix: SQLite FTS5's ``"term"*`` with the ``unicode61 remove_diacritics 2``
    tokenizer (letters and digits make words), for text not in a full-text index yet.

    >>> phrase_prefix_match("Quero marcar uma Limpeza amanhã", "uma limp")
    True
    """
    wanted = _TOKEN.findall(fold(term))
    if not wanted:
        return False
    tokens = _TOKEN.findall(fold(text))
    *whole, prefix = wanted
    span = len(wanted)
    return any(
        tokens[at : at + span - 1] == whole and tokens[at + span - 1].startswith(prefix)
        for at in range(len(tokens) - span + 1)
    )


_PHONE_PUNCTUATION = frozenset("+-() .")


def phone_query(term: str) -> str | None:
    """The digits to look for in phone numbers when ``term`` looks like (part of) a phone
    number — at least 3 digits and nothing but phone punctuation — else None."""
    number = digits(term)
    if len(number) < 3 or any(not (ch.isdigit() or ch in _PHONE_PUNCTUATION) for ch in term):
        return None
    return number
