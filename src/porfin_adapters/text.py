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
