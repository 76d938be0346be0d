"""Plain identifiers: what the file-backed stores accept as names, so no id can name a path."""

from __future__ import annotations

import re

_PLAIN = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_plain_id(value: str) -> bool:
    """True for 1-128 letters, digits, ``_`` and ``-``: safe as a file name, never a path."""
    return _PLAIN.fullmatch(value) is not None
