"""PIX BR Codes (EMV® QRCPS-MPM, the "copia e cola" text behind a PIX QR code).

A BR Code is a run of TLV fields: a two-digit ID, a two-digit decimal length (in characters) and
the value. Porfin generates *static* codes (the clinic's key, an optional amount and txid) with
no gateway at all, and parses and validates any code, static or dynamic, with a precise reason
when it is wrong. The last field is a CRC16-CCITT-FALSE over the UTF-8 bytes of everything
before it, including the literal ``6304``.

Every rejection is a :class:`~porfin_core.errors.ValidationError` whose fields say what is
wrong: ``reason`` (stable, snake_case), ``field`` (the EMV ID, ``26.01`` for a sub-field,
``payload`` for the whole string) and, where they apply, ``position`` (0-based character
offset), ``expected`` and ``found``.
"""

from __future__ import annotations

import binascii
import enum
import re
import unicodedata

import attrs

from porfin_core.domain.pix_keys import PixKeyType, classify_pix_key, parse_pix_key
from porfin_core.errors import ValidationError

#: The GUI that marks field 26 as the PIX arrangement (read case-insensitively).
PIX_GUI = "br.gov.bcb.pix"
#: Longest BR Code the BCB API Pix produces (``pixCopiaECola``); longer codes are rejected.
MAX_PAYLOAD_LENGTH = 512
#: Longest merchant name (field 59).
MAX_NAME_LENGTH = 25
#: Longest merchant city (field 60).
MAX_CITY_LENGTH = 15
#: Longest static txid (field 62-05).
MAX_TXID_LENGTH = 25
#: Longest value of any TLV field (two length digits).
MAX_FIELD_LENGTH = 99
#: Largest amount that fits field 54 (13 characters, ``9999999999.99``), in centavos.
MAX_AMOUNT_CENTS = 999_999_999_999
#: The txid of a code that carries none.
NO_TXID = "***"

_CRC_TAG = "6304"
_TXID_RE = re.compile(r"[A-Za-z0-9]{1,25}")
_AMOUNT_RE = re.compile(r"(?P<units>[0-9]+)(?:\.(?P<cents>[0-9]{0,2}))?")
_MCC_RE = re.compile(r"[0-9]{4}")
_FSS_RE = re.compile(r"[0-9]{8}")
_POSTAL_RE = re.compile(r"[0-9]{8}")
_HEX4_RE = re.compile(r"[0-9A-Fa-f]{4}")
_TAG_RE = re.compile(r"[0-9]{2}")
_SCHEME_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


class PointOfInitiation(enum.Enum):
    """Field 01: whether the code may be paid many times or only once."""

    REUSABLE = "11"
    ONE_TIME = "12"


@attrs.frozen
class BrCode:
    """A parsed, validated BR Code.

    Attributes:
        payload: The code itself, as received (surrounding whitespace removed).
        key: The PIX key of a static code (field 26-01), None for a dynamic one.
        key_type: The kind of ``key`` by its DICT format, None for a dynamic code.
        url: The payload location of a dynamic code (field 26-25, without scheme).
        amount_cents: Field 54 in centavos, None when the payer chooses the amount.
        merchant_name: Field 59.
        merchant_city: Field 60.
        txid: Field 62-05, None when it is ``***`` (no txid).
        description: Field 26-02 (free text shown to the payer), if any.
        fss: Field 26-03, the ISPB of a Pix Saque/Troco facilitator, if any.
        mcc: Field 52, the merchant category code (``0000`` when none).
        postal_code: Field 61, if any.
        initiation: Field 01, None when absent.
    """

    payload: str
    key: str | None
    key_type: PixKeyType | None
    url: str | None
    amount_cents: int | None
    merchant_name: str
    merchant_city: str
    txid: str | None
    description: str | None = None
    fss: str | None = None
    mcc: str = "0000"
    postal_code: str | None = None
    initiation: PointOfInitiation | None = None

    @property
    def is_dynamic(self) -> bool:
        """True when the code points to a payload location (field 26-25) instead of a key."""
        return self.url is not None


def crc16_ccitt_false(data: bytes) -> int:
    """Return CRC-16/CCITT-FALSE of ``data`` (poly 0x1021, init 0xFFFF, no reflection)."""
    return binascii.crc_hqx(data, 0xFFFF)


def br_code_crc(payload_before_crc: str) -> str:
    """Return the CRC field value (4 upper-case hex digits) for a payload ending in ``6304``."""
    return f"{crc16_ccitt_false(payload_before_crc.encode('utf-8')):04X}"


def normalize_text(value: str, max_length: int, *, uppercase: bool = False) -> str:
    """Return ``value`` as a BR Code text field: printable ASCII, within ``max_length``.

    Accents are stripped (NFKD, combining marks dropped: ``São Paulo`` -> ``Sao Paulo``),
    characters with no ASCII form are dropped, runs of whitespace become one space, and the
    result is trimmed and cut to ``max_length``. ASCII keeps lengths (counted in characters)
    equal to the bytes the CRC runs over. Idempotent.
    """
    decomposed = unicodedata.normalize("NFKD", value)
    ascii_text = "".join(ch for ch in decomposed if " " <= ch <= "~" or ch.isspace())
    text = " ".join(ascii_text.split())
    if uppercase:
        text = text.upper()
    return text[:max_length].rstrip()


def format_amount(amount_cents: int) -> str:
    """Return field 54's text for an amount in centavos (``12345`` -> ``"123.45"``)."""
    return f"{amount_cents // 100}.{amount_cents % 100:02d}"


def _tlv(tag: str, value: str) -> str:
    if len(value) > MAX_FIELD_LENGTH:
        raise ValidationError(
            f"field {tag} would be {len(value)} characters long, at most {MAX_FIELD_LENGTH}",
            field=tag,
            reason="too_long",
            found=len(value),
            expected=MAX_FIELD_LENGTH,
        )
    return f"{tag}{len(value):02d}{value}"


def generate_static_br_code(
    *,
    key: str,
    merchant_name: str,
    merchant_city: str,
    amount_cents: int | None = None,
    txid: str | None = None,
    description: str | None = None,
    mcc: str = "0000",
    initiation: PointOfInitiation | None = None,
    uppercase: bool = False,
) -> str:
    """Build a static BR Code ("copia e cola") for a PIX key.

    Args:
        key: The clinic's PIX key, in any human spelling; it is validated (check digits
            included) and normalized by :func:`~porfin_core.domain.pix_keys.parse_pix_key`.
        merchant_name: Field 59; normalized by :func:`normalize_text` and cut to 25.
        merchant_city: Field 60; normalized and cut to 15.
        amount_cents: Field 54 in centavos (at least 1); None lets the payer choose.
        txid: Field 62-05, up to 25 of ``[A-Za-z0-9]``; None gives ``***``.
        description: Field 26-02, free text shown to the payer (normalized to ASCII).
        mcc: Field 52, four digits.
        initiation: Field 01; omitted when None.
        uppercase: Upper-case name, city and description as well (some readers prefer it).

    Returns:
        The payload, CRC included.

    Raises:
        ValidationError: A parameter breaks its rule (``field`` names the EMV field,
            ``reason`` the rule).
    """
    pix_key = parse_pix_key(key)
    name = normalize_text(merchant_name, MAX_NAME_LENGTH, uppercase=uppercase)
    city = normalize_text(merchant_city, MAX_CITY_LENGTH, uppercase=uppercase)
    if not name:
        raise ValidationError("merchant name is empty", field="59", reason="empty")
    if not city:
        raise ValidationError("merchant city is empty", field="60", reason="empty")
    if not _MCC_RE.fullmatch(mcc):
        raise ValidationError("MCC is four digits", field="52", reason="bad_format", found=mcc)
    reference = NO_TXID if txid is None else txid
    if reference != NO_TXID and not _TXID_RE.fullmatch(reference):
        raise ValidationError(
            f"txid is 1 to {MAX_TXID_LENGTH} of [A-Za-z0-9] (or omitted)",
            field="62.05",
            reason="bad_format",
            found=reference,
        )
    if amount_cents is not None and not 1 <= amount_cents <= MAX_AMOUNT_CENTS:
        raise ValidationError(
            f"amount must be between 1 and {MAX_AMOUNT_CENTS} centavos",
            field="54",
            reason="out_of_range",
            found=amount_cents,
        )
    account = _tlv("00", PIX_GUI) + _tlv("01", pix_key.value)
    if description is not None:
        info = normalize_text(description, MAX_FIELD_LENGTH, uppercase=uppercase)
        if info:
            room = MAX_FIELD_LENGTH - len(account) - 4
            if len(info) > room:
                raise ValidationError(
                    f"description has {len(info)} characters; with this key at most {room} fit",
                    field="26.02",
                    reason="too_long",
                    found=len(info),
                    expected=room,
                )
            account += _tlv("02", info)
    payload = _tlv("00", "01")
    if initiation is not None:
        payload += _tlv("01", initiation.value)
    payload += _tlv("26", account) + _tlv("52", mcc) + _tlv("53", "986")
    if amount_cents is not None:
        payload += _tlv("54", format_amount(amount_cents))
    payload += _tlv("58", "BR") + _tlv("59", name) + _tlv("60", city)
    payload += _tlv("62", _tlv("05", reference)) + _CRC_TAG
    return payload + br_code_crc(payload)


def _walk(text: str, offset: int, where: str) -> dict[str, tuple[int, str]]:
    """Split ``text`` into TLV fields: ID -> (absolute position, value)."""
    fields: dict[str, tuple[int, str]] = {}
    previous: tuple[str, int, int] | None = None
    i = 0
    while i < len(text):
        pos = offset + i
        if len(text) - i < 4:
            raise ValidationError(
                f"truncated field header at position {pos} in {where}",
                field=where,
                reason="bad_length",
                position=pos,
            )
        tag, length_text = text[i : i + 2], text[i + 2 : i + 4]
        header_ok = bool(_TAG_RE.fullmatch(tag) and _TAG_RE.fullmatch(length_text))
        if not header_ok and previous is not None:
            # Almost always the field before declared the wrong length and ran into the middle
            # of the next one: name that field, the likely culprit.
            prev_tag, prev_pos, prev_length = previous
            prev_label = prev_tag if where == "payload" else f"{where}.{prev_tag}"
            raise ValidationError(
                f"bad length of field {prev_label} at position {prev_pos}: it declares "
                f"{prev_length} characters, which ends at position {pos} where "
                f"{tag + length_text!r} is not a field header",
                field=prev_label,
                reason="bad_length",
                position=prev_pos,
                found=prev_length,
                next_position=pos,
            )
        if not _TAG_RE.fullmatch(tag):
            raise ValidationError(
                f"bad field ID {tag!r} at position {pos} in {where}",
                field=where,
                reason="bad_tag",
                position=pos,
                found=tag,
            )
        label = tag if where == "payload" else f"{where}.{tag}"
        if not _TAG_RE.fullmatch(length_text):
            raise ValidationError(
                f"bad length {length_text!r} of field {label} at position {pos + 2}",
                field=label,
                reason="bad_length",
                position=pos + 2,
                found=length_text,
            )
        length = int(length_text)
        if i + 4 + length > len(text):
            raise ValidationError(
                f"field {label} at position {pos} declares {length} characters but only "
                f"{len(text) - i - 4} remain in {where}",
                field=label,
                reason="bad_length",
                position=pos,
                expected=len(text) - i - 4,
                found=length,
            )
        if tag in fields:
            raise ValidationError(
                f"field {label} appears twice (position {pos})",
                field=label,
                reason="duplicate_field",
                position=pos,
            )
        fields[tag] = (offset + i + 4, text[i + 4 : i + 4 + length])
        previous = (tag, pos, length)
        i += 4 + length
    return fields


def _missing(label: str) -> ValidationError:
    return ValidationError(f"missing field {label}", field=label, reason="missing_field")


def _invalid(label: str, message: str, found: str, **extra: object) -> ValidationError:
    return ValidationError(message, field=label, reason="invalid_value", found=found, **extra)


def parse_amount(text: str) -> int:
    """Read field 54 into centavos (``"123.45"`` -> 12345; ``"10"``, ``"10."``, ``"0.9"``
    are tolerated as public decoders do).

    Raises:
        ValidationError: ``text`` is not a non-negative decimal with at most two decimals
            and 13 characters.
    """
    match = _AMOUNT_RE.fullmatch(text)
    if match is None or len(text) > 13:
        raise ValidationError(
            f"amount {text!r} is not a decimal like 123.45",
            field="54",
            reason="bad_amount",
            found=text,
        )
    cents = (match.group("cents") or "").ljust(2, "0")
    return int(match.group("units")) * 100 + int(cents)


def parse_br_code(payload: str) -> BrCode:
    """Parse and validate a BR Code, static or dynamic.

    Checks, in order: the TLV structure (IDs, lengths, no duplicates), the CRC (last field,
    ``6304`` + 4 hex digits, over the UTF-8 bytes), the total size (at most 512), and the
    fields: 00 = ``01`` first; 01 is ``11``/``12``; 26 holds the GUI ``br.gov.bcb.pix`` (any
    case) and exactly one of 01 (a key in a DICT format) or 25 (a URL without scheme); 26-03 is
    eight digits; 52 is four digits; 53 = ``986``; 54 is a decimal amount; 58 = ``BR``; 59 has
    1-25 characters; 60 has 1-15; 61 is eight digits; 62-05 is ``***`` or 1-25 of
    ``[A-Za-z0-9]``. Other fields (other arrangements 27-51, templates 80-99) are allowed and
    ignored. The key's format is checked, not its check digits: a reader cannot tell a
    redacted or foreign key from a typo, and the bank that pays will ask the DICT anyway.

    Raises:
        ValidationError: With ``reason`` one of ``empty``, ``bad_tag``, ``bad_length``,
            ``duplicate_field``, ``bad_crc``, ``too_long``, ``missing_field``, ``invalid_value``,
            ``invalid_key``, ``bad_amount``, ``too_short``; ``field`` the EMV ID; and
            ``position``, ``expected``, ``found`` where they apply.
    """
    code = payload.strip()
    if not code:
        raise ValidationError("BR Code is empty", field="payload", reason="empty")
    fields = _walk(code, 0, "payload")
    last_tag = code[-8:-6] if len(code) >= 8 else ""
    if "63" not in fields:
        raise _missing("63")
    crc_position, found_crc = fields["63"]
    if last_tag != "63" or crc_position != len(code) - 4 or not _HEX4_RE.fullmatch(found_crc):
        raise ValidationError(
            f"field 63 must be last and be 6304 + 4 hex digits (position {crc_position - 4})",
            field="63",
            reason="bad_crc",
            position=crc_position - 4,
            found=found_crc,
        )
    expected_crc = br_code_crc(code[:-4])
    if found_crc.upper() != expected_crc:
        raise ValidationError(
            f"bad CRC: expected {expected_crc}, found {found_crc}",
            field="63",
            reason="bad_crc",
            expected=expected_crc,
            found=found_crc,
            position=crc_position,
        )
    if len(code) > MAX_PAYLOAD_LENGTH:
        raise ValidationError(
            f"BR Code has {len(code)} characters, at most {MAX_PAYLOAD_LENGTH} allowed",
            field="payload",
            reason="too_long",
            expected=MAX_PAYLOAD_LENGTH,
            found=len(code),
        )
    if next(iter(fields)) != "00":
        raise ValidationError(
            "field 00 (payload format) must come first", field="00", reason="missing_field"
        )
    if fields["00"][1] != "01":
        raise _invalid("00", "payload format indicator must be 01", fields["00"][1])

    initiation: PointOfInitiation | None = None
    if "01" in fields:
        try:
            initiation = PointOfInitiation(fields["01"][1])
        except ValueError:
            raise _invalid("01", "point of initiation must be 11 or 12", fields["01"][1]) from None

    if "26" not in fields:
        raise _missing("26")
    account_position, account_text = fields["26"]
    account = _walk(account_text, account_position, "26")
    if "00" not in account:
        raise _missing("26.00")
    if account["00"][1].lower() != PIX_GUI:
        raise _invalid(
            "26.00", f"field 26 GUI must be {PIX_GUI}", account["00"][1], expected=PIX_GUI
        )
    key = account.get("01", (0, None))[1]
    url = account.get("25", (0, None))[1]
    if key is not None and url is not None:
        raise ValidationError(
            "field 26 holds both a key (01) and a URL (25)",
            field="26",
            reason="invalid_value",
        )
    if key is None and url is None:
        raise ValidationError(
            "field 26 holds neither a key (26.01) nor a URL (26.25)",
            field="26.01",
            reason="missing_field",
        )
    key_type: PixKeyType | None = None
    if key is not None:
        key_type = classify_pix_key(key)
        if key_type is None:
            raise ValidationError(
                f"invalid PIX key {key!r}: not a CPF, CNPJ, e-mail, +55 phone or random key",
                field="26.01",
                reason="invalid_key",
                found=key,
            )
    if url is not None and (not url or _SCHEME_RE.match(url)):
        raise _invalid("26.25", "the payload URL is written without scheme", url)
    fss = account.get("03", (0, None))[1]
    if fss is not None and not _FSS_RE.fullmatch(fss):
        raise _invalid("26.03", "the facilitator ISPB (26.03) is 8 digits", fss)
    description = account.get("02", (0, None))[1]

    for tag in ("52", "53", "58", "59", "60", "62"):
        if tag not in fields:
            raise _missing(tag)
    mcc = fields["52"][1]
    if not _MCC_RE.fullmatch(mcc):
        raise _invalid("52", "merchant category code is 4 digits", mcc)
    if fields["53"][1] != "986":
        raise _invalid("53", "currency must be 986 (BRL)", fields["53"][1], expected="986")
    amount_cents = parse_amount(fields["54"][1]) if "54" in fields else None
    if fields["58"][1] != "BR":
        raise _invalid("58", "country must be BR", fields["58"][1], expected="BR")
    name = fields["59"][1]
    city = fields["60"][1]
    for label, value, limit in (("59", name, MAX_NAME_LENGTH), ("60", city, MAX_CITY_LENGTH)):
        if not value:
            raise ValidationError(f"field {label} is empty", field=label, reason="too_short")
        if len(value) > limit:
            raise ValidationError(
                f"field {label} has {len(value)} characters, at most {limit} allowed",
                field=label,
                reason="too_long",
                expected=limit,
                found=len(value),
            )
    postal_code = fields["61"][1] if "61" in fields else None
    if postal_code is not None and not _POSTAL_RE.fullmatch(postal_code):
        raise _invalid("61", "postal code is 8 digits", postal_code)
    extra_position, extra_text = fields["62"]
    extra = _walk(extra_text, extra_position, "62")
    if "05" not in extra:
        raise _missing("62.05")
    txid = extra["05"][1]
    if txid != NO_TXID and not _TXID_RE.fullmatch(txid):
        raise _invalid("62.05", f"txid is *** or 1-{MAX_TXID_LENGTH} of [A-Za-z0-9]", txid)

    return BrCode(
        payload=code,
        key=key,
        key_type=key_type,
        url=url,
        amount_cents=amount_cents,
        merchant_name=name,
        merchant_city=city,
        txid=None if txid == NO_TXID else txid,
        description=description,
        fss=fss,
        mcc=mcc,
        postal_code=postal_code,
        initiation=initiation,
    )
