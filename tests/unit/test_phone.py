"""Phone numbers: one canonical E.164 form, Brazil's 9th digit restored."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from porfin_core.domain.phone import format_phone_br, normalize_phone, whatsapp_variants
from porfin_core.errors import InvalidPhoneNumber, ValidationError

# Every area code (DDD) in use in Brazil.
DDDS = [
    *range(11, 20),
    21, 22, 24, 27, 28,
    31, 32, 33, 34, 35, 37, 38,
    *range(41, 50),
    51, 53, 54, 55,
    *range(61, 70),
    71, 73, 74, 75, 77, 79,
    *range(81, 90),
    *range(91, 100),
]  # fmt: skip


@pytest.mark.parametrize(
    "raw",
    [
        "+55 11 98765-4321",
        "+55 (11) 98765-4321",
        "+5511987654321",
        "5511987654321",
        "55 11 98765 4321",
        "(11) 98765-4321",
        "11 98765-4321",
        "11987654321",
        "(011) 98765-4321",
        "0 21 11 98765-4321",
        "  +55 11 98765-4321  ",
        "5511987654321@s.whatsapp.net",
    ],
)
def test_every_spelling_of_a_mobile_gives_one_e164(raw):
    assert normalize_phone(raw) == "+5511987654321"


@pytest.mark.parametrize(
    "raw",
    [
        "551187654321",  # WhatsApp's legacy wa_id
        "+55 11 8765-4321",
        "+551187654321",
        "55 (11) 8765-4321",
        "(11) 8765-4321",
        "11 8765-4321",
        "1187654321",
        "011 8765-4321",
        "(011) 8765-4321",
        "021 11 8765-4321",
        "551187654321@s.whatsapp.net",
    ],
)
def test_the_9th_digit_is_restored_in_every_ddd_form(raw):
    assert normalize_phone(raw) == "+5511987654321"


@pytest.mark.parametrize("first", "6789")
@pytest.mark.parametrize("ddd", [11, 21, 47, 61, 85, 99])
def test_old_mobiles_of_any_ddd_and_first_digit_gain_the_9(ddd, first):
    assert normalize_phone(f"55{ddd}{first}1234567") == f"+55{ddd}9{first}1234567"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+55 11 3456-7890", "+551134567890"),
        ("(11) 3456-7890", "+551134567890"),
        ("551134567890", "+551134567890"),
        ("+55 21 2345-6789", "+552123456789"),
        ("+55 11 5123-4567", "+551151234567"),
        ("+55 47 4009-1234", "+554740091234"),
    ],
)
def test_landlines_are_left_alone(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("4004-1234", "+5540041234"),
        ("0800 123 4567", "+558001234567"),
    ],
)
def test_nationwide_numbers_need_no_ddd(raw, expected):
    assert normalize_phone(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+351 912 345 678", "+351912345678"),
        ("+54 9 11 2345-6789", "+5491123456789"),
        ("447946095812", "+447946095812"),
    ],
)
def test_international_numbers(raw, expected):
    assert normalize_phone(raw) == expected


def test_a_number_is_read_in_the_default_region():
    assert normalize_phone("(650) 253-0000", default_region="US") == "+16502530000"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "abc",
        "+",
        "123",
        "190",
        "+55 11",
        "98765-4321",  # no DDD: nobody in particular
        "8765-4321",
        "12345678901234567890",
        "not a phone",
    ],
)
def test_junk_is_rejected(raw):
    with pytest.raises(InvalidPhoneNumber) as info:
        normalize_phone(raw)
    assert info.value.code == "invalid_phone"
    assert info.value.fields["value"] == raw
    assert isinstance(info.value, ValidationError)


@pytest.mark.parametrize(
    ("e164", "variants"),
    [
        ("+5511987654321", ("5511987654321", "551187654321")),
        ("+5561961234567", ("5561961234567", "556161234567")),
        # Newer mobile ranges never had a legacy form: dropping the 9 names a landline.
        ("+5511912345678", ("5511912345678",)),
        ("+5511932345678", ("5511932345678",)),
        ("+551134567890", ("551134567890",)),
        ("+16502530000", ("16502530000",)),
    ],
)
def test_whatsapp_variants(e164, variants):
    assert whatsapp_variants(e164) == variants


def test_format_phone_br():
    assert format_phone_br("+5511987654321") == "+55 11 98765-4321"


ddds = st.sampled_from(DDDS)
old_subscribers = st.tuples(st.sampled_from("6789"), st.integers(0, 9_999_999)).map(
    lambda parts: f"{parts[0]}{parts[1]:07d}"
)


@given(ddd=ddds, subscriber=old_subscribers, plus=st.booleans())
def test_a_mobile_in_12_or_13_digits_is_one_number(ddd, subscriber, plus):
    prefix = "+" if plus else ""
    legacy = normalize_phone(f"{prefix}55{ddd}{subscriber}")
    current = normalize_phone(f"{prefix}55{ddd}9{subscriber}")
    assert legacy == current == f"+55{ddd}9{subscriber}"


@given(
    ddd=ddds,
    subscriber=st.integers(0, 99_999_999).map(lambda n: f"{n:08d}"),
)
def test_every_whatsapp_variant_of_a_mobile_leads_back_to_it(ddd, subscriber):
    e164 = normalize_phone(f"+55{ddd}9{subscriber}")
    assert e164 == f"+55{ddd}9{subscriber}"
    for variant in whatsapp_variants(e164):
        assert normalize_phone(variant) == e164
