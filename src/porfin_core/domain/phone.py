"""Phone numbers as Porfin stores them: E.164, with Brazil's mobile 9th digit restored.

WhatsApp identities registered before Brazil added the 9th digit to mobile numbers still arrive
without it (``551187654321`` is the same person as ``+55 11 98765-4321``). Porfin keeps one
canonical form, the 13-digit one, and matches both.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache

import phonenumbers

from porfin_core.errors import InvalidPhoneNumber

_BR = 55
_OLD_MOBILE_FIRST_DIGITS = frozenset("6789")


@lru_cache(maxsize=65_536)
def normalize_phone(raw: str, default_region: str = "BR") -> str:
    """Return the canonical E.164 form of ``raw``.

    Accepts any human or provider spelling (``+55 (11) 98765-4321``, ``5511987654321``,
    WhatsApp's ``551187654321``, ``11 98765-4321`` read in ``default_region``). Brazilian mobile
    numbers written without the 9th digit get it back; landlines are left as they are.

    Results are memoized: parsing is the costliest step of receiving a message, and the same
    patients write again and again.

    Raises:
        InvalidPhoneNumber: ``raw`` is not a plausible phone number.
    """
    text = raw.strip()
    if not text:
        raise InvalidPhoneNumber("phone number is empty", value=raw)
    digits = "".join(ch for ch in text if ch.isdigit())
    # Provider ids (wa_id, JIDs) are full international numbers without the '+'. A leading 0
    # is the Brazilian trunk prefix ("(011) 98765-4321", "0 21 11 ..." with a carrier code),
    # never a country code: those are national spellings for phonenumbers to read.
    if not text.startswith("+") and len(digits) >= 12 and not digits.startswith("0"):
        text = "+" + digits
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {raw!r}", value=raw) from exc
    national = str(parsed.national_number)
    if (
        parsed.country_code == _BR
        and len(national) == 10
        and national[2] in _OLD_MOBILE_FIRST_DIGITS
    ):
        parsed = phonenumbers.PhoneNumber(
            country_code=_BR, national_number=int(national[:2] + "9" + national[2:])
        )
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"not a possible phone number: {raw!r}", value=raw)
    # A local number without its DDD ("98765-4321") is "possible" but names no one; only
    # nationwide numbers (4004-xxxx, 0800...) are complete without an area code.
    if (
        parsed.country_code == _BR
        and len(str(parsed.national_number)) < 10
        and not phonenumbers.is_valid_number(parsed)
    ):
        raise InvalidPhoneNumber(f"phone number lacks its area code (DDD): {raw!r}", value=raw)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def whatsapp_variants(e164: str) -> tuple[str, ...]:
    """Digits-only forms under which WhatsApp may know the canonical number ``e164``.

    A Brazilian mobile old enough to have had 8 digits (9 followed by 6-9) yields both the
    13-digit and the legacy 12-digit form; anything else yields its digits alone. Newer
    ranges (``9 1xxx``-``9 5xxx``) never had a legacy form: dropping their 9 would name a
    landline, someone else.
    """
    digits = e164.lstrip("+")
    if (
        digits.startswith("55")
        and len(digits) == 13
        and digits[4] == "9"
        and digits[5] in _OLD_MOBILE_FIRST_DIGITS
    ):
        return digits, digits[:4] + digits[5:]
    return (digits,)


def format_phone_br(e164: str) -> str:
    """Render ``e164`` the way a Brazilian reads it, e.g. ``+55 11 98765-4321``."""
    parsed = phonenumbers.parse(e164)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_PHONE_PUNCTUATION = frozenset("+-() .")
MIN_SEARCH_DIGITS = 3
"""Digits a search term needs before it is read as (part of) a phone number."""


def phone_search_digits(term: str) -> tuple[str, ...]:
    """Digit strings to look for inside stored numbers (E.164 without the ``+``) when staff
    search for ``term``; empty when ``term`` does not look like (part of) a phone number.

    A term looks like one when it has at least :data:`MIN_SEARCH_DIGITS` digits and nothing
    but digits and phone punctuation (``+ - ( ) .`` and spaces). Besides its digits as typed
    (``98765-4321``, ``4321``), a complete number in any spelling is looked up in its
    canonical form (``(011) 8765-4321``, ``551187654321`` and ``11 98765 4321`` all find
    ``+5511987654321``). A partial number matches as typed: ``8765-4321`` is found inside
    ``+5511987654321`` too, so a mobile remembered without its 9th digit is still found.
    """
    text = term.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < MIN_SEARCH_DIGITS or any(
        not (ch.isdigit() or ch in _PHONE_PUNCTUATION) for ch in text
    ):
        return ()
    found = [digits]
    with contextlib.suppress(InvalidPhoneNumber):
        found.append(normalize_phone(text).lstrip("+"))
    return tuple(dict.fromkeys(found))
