"""E-mail addresses as the storage adapters look accounts up by them."""

from __future__ import annotations

from porfin_core.domain.staff import normalize_email
from porfin_core.errors import ValidationError


def lookup_email(raw: str) -> str | None:
    """The normalized form of ``raw``, or None when it is not an e-mail address at all.

    Accounts store normalized addresses, so a lookup compares normalized forms; something that
    is not an address belongs to no account (a lookup answers "none", it does not validate).
    """
    try:
        return normalize_email(raw)
    except ValidationError:
        return None
