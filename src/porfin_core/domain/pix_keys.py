"""PIX keys ("chaves Pix"): the five kinds the DICT registers, validated and normalized.

Formats follow the BCB DICT API key table: CPF (11 digits), CNPJ (14 characters: the numeric
one and, from July 2026, the alphanumeric one of IN RFB nº 2.229/2024), e-mail (lower-case, at
most 77 characters), phone (E.164 with ``+55``, DDD and number) and EVP, the random key the DICT
hands out (a lower-case UUID). An 11-digit string is always a CPF: a phone key starts with
``+55``.
"""

from __future__ import annotations

import enum
import re

import attrs

from porfin_core.errors import ValidationError

#: Longest key the BCB API Pix accepts (``chave`` maxLength), which is also the e-mail limit.
MAX_KEY_LENGTH = 77

_CPF_RE = re.compile(r"[0-9]{11}")
_CNPJ_RE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
# A DDD never has a 0; mobiles have 9 digits starting with 9, landlines 8 digits.
_PHONE_RE = re.compile(r"\+55[1-9]{2}(?:9[0-9]{8}|[2-8][0-9]{7})")
_EMAIL_RE = re.compile(
    r"[a-z0-9.!#$&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_EVP_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DOCUMENT_MASK = str.maketrans("", "", ".-/ ")
_PHONE_MASK = str.maketrans("", "", " -()")
_CNPJ_WEIGHTS = (6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2)


class PixKeyType(enum.Enum):
    """The kinds of PIX key the DICT registers."""

    CPF = "cpf"
    CNPJ = "cnpj"
    EMAIL = "email"
    PHONE = "phone"
    EVP = "evp"


@attrs.frozen
class PixKey:
    """A PIX key in its canonical form (the exact string a BR Code carries in field 26-01).

    Attributes:
        type: Which kind of key it is.
        value: The normalized key: digits only for CPF, upper-case for CNPJ, lower-case for
            e-mail and EVP, ``+55...`` for phone.
    """

    type: PixKeyType
    value: str


def cpf_check_digits(base: str) -> str:
    """Return the two check digits of a CPF whose first nine digits are ``base``.

    Raises:
        ValidationError: ``base`` is not nine digits.
    """
    if not re.fullmatch(r"[0-9]{9}", base):
        raise ValidationError("a CPF base is 9 digits", field="cpf", reason="bad_format")
    digits = [int(ch) for ch in base]
    for weight_start in (10, 11):
        total = sum(d * w for d, w in zip(digits, range(weight_start, 1, -1), strict=True))
        digits.append(total * 10 % 11 % 10)
    return f"{digits[9]}{digits[10]}"


def is_valid_cpf(value: str) -> bool:
    """Tell whether ``value`` (digits only, no mask) is a CPF with correct check digits.

    Numbers made of one repeated digit (``111.111.111-11``) pass the arithmetic but are not
    issued, so they are rejected.
    """
    if not _CPF_RE.fullmatch(value) or value == value[0] * 11:
        return False
    return cpf_check_digits(value[:9]) == value[9:]


def cnpj_check_digits(base: str) -> str:
    """Return the two check digits of a CNPJ whose first twelve characters are ``base``.

    Works for the numeric CNPJ and for the alphanumeric one (IN RFB nº 2.229/2024): each
    character is worth its ASCII code minus 48 (``"0"`` -> 0, ``"A"`` -> 17), weighted 2..9 from
    the right, modulo 11; a remainder below 2 gives 0, otherwise 11 minus the remainder.

    Raises:
        ValidationError: ``base`` is not twelve characters of ``[0-9A-Z]``.
    """
    if not re.fullmatch(r"[0-9A-Z]{12}", base):
        raise ValidationError(
            "a CNPJ base is 12 characters [0-9A-Z]", field="cnpj", reason="bad_format"
        )
    values = [ord(ch) - 48 for ch in base]
    for weights in (_CNPJ_WEIGHTS[1:], _CNPJ_WEIGHTS):
        remainder = sum(v * w for v, w in zip(values, weights, strict=True)) % 11
        values.append(0 if remainder < 2 else 11 - remainder)
    return f"{values[12]}{values[13]}"


def is_valid_cnpj(value: str) -> bool:
    """Tell whether ``value`` (no mask, upper-case) is a CNPJ with correct check digits.

    Accepts the numeric CNPJ and the alphanumeric one (12 characters ``[0-9A-Z]`` and two
    numeric check digits). Fourteen repeated digits are rejected.
    """
    if not _CNPJ_RE.fullmatch(value) or value == value[0] * 14:
        return False
    return cnpj_check_digits(value[:12]) == value[12:]


def classify_pix_key(value: str) -> PixKeyType | None:
    """Return the kind of an already-normalized key by its format alone, or None.

    Checks the DICT formats only (no check digits): this is what a reader of someone else's
    BR Code can verify. Use :func:`parse_pix_key` to validate a key a clinic registers.
    """
    if not value or len(value) > MAX_KEY_LENGTH:
        return None
    if _CPF_RE.fullmatch(value):
        return PixKeyType.CPF
    if _CNPJ_RE.fullmatch(value):
        return PixKeyType.CNPJ
    if _PHONE_RE.fullmatch(value):
        return PixKeyType.PHONE
    if _EVP_RE.fullmatch(value):
        return PixKeyType.EVP
    if _EMAIL_RE.fullmatch(value.lower()):
        return PixKeyType.EMAIL
    return None


def parse_pix_key(raw: str) -> PixKey:
    """Detect the kind of a PIX key typed by a person and return it normalized.

    Masks are stripped (``123.456.789-09`` -> ``12345678909``, ``12.ABC.345/01DE-35`` ->
    ``12ABC34501DE35``, ``+55 (11) 98765-4321`` -> ``+5511987654321``); e-mails and EVP keys
    are lower-cased. CPF and CNPJ check digits are verified.

    Raises:
        ValidationError: The key is empty, of no known kind, or fails its kind's rule; the
            ``reason`` field says which (``empty``, ``unknown_format``, ``bad_check_digits``,
            ``too_long``) and ``key_type`` the kind it was read as.
    """
    text = raw.strip()
    if not text:
        raise ValidationError("PIX key is empty", field="key", reason="empty")
    if "@" in text:
        email = text.lower()
        if len(email) > MAX_KEY_LENGTH:
            raise ValidationError(
                f"e-mail key has {len(email)} characters, at most {MAX_KEY_LENGTH} allowed",
                field="key",
                reason="too_long",
                key_type=PixKeyType.EMAIL.value,
            )
        if not _EMAIL_RE.fullmatch(email):
            raise ValidationError(
                f"not a valid e-mail key: {raw!r}",
                field="key",
                reason="unknown_format",
                key_type=PixKeyType.EMAIL.value,
            )
        return PixKey(PixKeyType.EMAIL, email)
    if text.startswith("+"):
        phone = text.translate(_PHONE_MASK)
        if not _PHONE_RE.fullmatch(phone):
            raise ValidationError(
                f"a phone key is +55, a DDD and the number: {raw!r}",
                field="key",
                reason="unknown_format",
                key_type=PixKeyType.PHONE.value,
            )
        return PixKey(PixKeyType.PHONE, phone)
    if _EVP_RE.fullmatch(text.lower()):
        return PixKey(PixKeyType.EVP, text.lower())
    document = text.translate(_DOCUMENT_MASK).upper()
    if _CPF_RE.fullmatch(document):
        if not is_valid_cpf(document):
            raise ValidationError(
                f"CPF {document} has wrong check digits",
                field="key",
                reason="bad_check_digits",
                key_type=PixKeyType.CPF.value,
            )
        return PixKey(PixKeyType.CPF, document)
    if _CNPJ_RE.fullmatch(document):
        if not is_valid_cnpj(document):
            raise ValidationError(
                f"CNPJ {document} has wrong check digits",
                field="key",
                reason="bad_check_digits",
                key_type=PixKeyType.CNPJ.value,
            )
        return PixKey(PixKeyType.CNPJ, document)
    raise ValidationError(
        f"not a PIX key (CPF, CNPJ, e-mail, +55 phone or random key): {raw!r}",
        field="key",
        reason="unknown_format",
    )
