"""Cursor pagination shared by every list that can grow.

A cursor is an opaque string that encodes the sort key of the last item of a page; the next
page starts strictly after it, so inserts between requests never repeat or skip items.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Generic, TypeVar

import attrs

from porfin_core.errors import ValidationError

T = TypeVar("T")

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50


@attrs.frozen
class Page(Generic[T]):
    """One page of results and the cursor of the next one (None on the last page)."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(*key: str | int | float) -> str:
    """Make an opaque cursor from a sort key."""
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[str | int | float]:
    """Read a cursor made by :func:`encode_cursor`.

    Raises:
        ValidationError: the cursor was not made by Porfin or belongs to another list.
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValidationError("invalid cursor", field="cursor") from exc
    if not isinstance(key, list) or len(key) != arity:
        raise ValidationError("invalid cursor", field="cursor")
    if not all(isinstance(part, str | int | float) for part in key):
        raise ValidationError("invalid cursor", field="cursor")
    return key


def check_limit(limit: int) -> int:
    """Validate a page size.

    Raises:
        ValidationError: ``limit`` is not between 1 and :data:`MAX_PAGE_SIZE`.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
    return limit
