"""PIX BR Codes and PIX keys: the shared test vectors, generation, round trips, key rules."""

from __future__ import annotations

import json
import os
from pathlib import Path

import attrs
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from porfin_core.domain.pix import (
    MAX_AMOUNT_CENTS,
    BrCode,
    PointOfInitiation,
    br_code_crc,
    crc16_ccitt_false,
    format_amount,
    generate_static_br_code,
    normalize_text,
    parse_amount,
    parse_br_code,
)
from porfin_core.domain.pix_keys import (
    PixKey,
    PixKeyType,
    classify_pix_key,
    cnpj_check_digits,
    cpf_check_digits,
    is_valid_cnpj,
    is_valid_cpf,
    parse_pix_key,
)
from porfin_core.errors import ValidationError


def _fixtures_dir() -> Path:
    candidates = [
        Path(os.environ["PORFIN_FIXTURES_DIR"]) if os.environ.get("PORFIN_FIXTURES_DIR") else None,
        Path(__file__).resolve().parents[3] / "shared" / "fixtures",
        Path("/work/shared/fixtures"),
    ]
    for folder in candidates:
        if folder is not None and (folder / "pix_vectors.txt").is_file():
            return folder
    raise FileNotFoundError("pix_vectors.txt not found: set PORFIN_FIXTURES_DIR")


def _vectors() -> list[tuple[str, str, str, str]]:
    rows = []
    for line in (_fixtures_dir() / "pix_vectors.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expect, crc, kind, payload, _source = line.split("\t")
        rows.append((expect, crc, kind, payload))
    return rows


VECTORS = _vectors()
BCB_EXAMPLE = (
    "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR"
    "5913Fulano de Tal6008BRASILIA62070503***63041D3D"
)

# What each semantically invalid vector must be rejected for (by its KIND text).
SEMANTIC_REASONS = {
    "59 merchant name 26 chars (> 25)": {"field": "59", "reason": "too_long", "found": 26},
    "total size over the decoder's limit (:invalid_input_size)": {
        "field": "payload",
        "reason": "too_long",
        "found": 513,
    },
}


def _reject(payload: str) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        parse_br_code(payload)
    return info.value


def _bitwise_crc(data: bytes) -> int:
    """An independent CRC-16/CCITT-FALSE, bit by bit, to check the table-driven one."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


# --- the shared vectors ---------------------------------------------------------------------


def test_the_vector_file_is_read() -> None:
    assert {e for e, *_ in VECTORS} <= {"VALID", "CRC_OK_SEMANTIC_INVALID", "BAD_CRC", "BAD_TLV"}
    assert sum(e == "VALID" for e, *_ in VECTORS) >= 10


@pytest.mark.parametrize(("expect", "crc", "kind", "payload"), VECTORS, ids=[v[2] for v in VECTORS])
def test_vector_behaves_as_its_expect_column_says(
    expect: str, crc: str, kind: str, payload: str
) -> None:
    assert payload.endswith(crc)
    if expect == "VALID":
        code = parse_br_code(payload)
        assert code.payload == payload
        assert br_code_crc(payload[:-4]) == crc
        assert (code.url is not None) == code.is_dynamic == kind.startswith("dynamic")
    elif expect == "CRC_OK_SEMANTIC_INVALID":
        assert br_code_crc(payload[:-4]) == crc
        error = _reject(payload)
        assert {k: error.fields.get(k) for k in SEMANTIC_REASONS[kind]} == SEMANTIC_REASONS[kind]
    elif expect == "BAD_CRC":
        assert _reject(payload).fields["reason"] == "bad_crc"
    else:
        assert _reject(payload).fields["reason"] in {"bad_length", "bad_tag", "bad_crc"}


@pytest.mark.parametrize("payload", [v[3] for v in VECTORS], ids=[v[2] for v in VECTORS])
def test_crc_agrees_with_an_independent_implementation(payload: str) -> None:
    data = payload[:-4].encode()
    assert crc16_ccitt_false(data) == _bitwise_crc(data)


def test_crc_check_value() -> None:
    # The catalogue check value of CRC-16/CCITT-FALSE.
    assert crc16_ccitt_false(b"123456789") == 0x29B1


def test_valid_vectors_read_their_fields() -> None:
    by_kind = {kind: parse_br_code(p) for e, _, kind, p in VECTORS if e == "VALID"}
    bcb = by_kind["static/EVP key/no amount (BCB manual example)"]
    assert bcb == BrCode(
        payload=BCB_EXAMPLE,
        key="123e4567-e12b-12d1-a456-426655440000",
        key_type=PixKeyType.EVP,
        url=None,
        amount_cents=None,
        merchant_name="Fulano de Tal",
        merchant_city="BRASILIA",
        txid=None,
    )
    email = by_kind["static/email key/26-03 FSS/no amount"]
    assert (email.key, email.key_type, email.description, email.fss) == (
        "thalesog@me.com",
        PixKeyType.EMAIL,
        "Pedido 123",
        "12341234",
    )
    assert by_kind['static/EVP key/amount "0.0" (3 chars)'].amount_cents == 0
    assert by_kind['static/EVP key/amount "0.0" (3 chars)'].initiation is PointOfInitiation.REUSABLE
    upper_gui = by_kind["static/EVP key (uppercase GUI)/amount 0.01/txid 22"]
    assert (upper_gui.amount_cents, upper_gui.txid) == (1, "1111111111111111111111")
    assert by_kind['static/amount "10"'].amount_cents == 1000
    assert by_kind['static/26-03 FSS/amount "100"'].amount_cents == 10000
    one_time = by_kind["dynamic/01=12/amount 0.01/city 14 chars"]
    assert one_time.initiation is PointOfInitiation.ONE_TIME
    assert one_time.url == "exemplodeurl.com.br/pix/v2/11111111-1111-1111-1111-111111111111"
    assert (one_time.key, one_time.key_type, one_time.txid) == (None, None, None)
    assert by_kind["static + 80 rec URL"].amount_cents == 65034


def test_generator_reproduces_the_bcb_manual_example_byte_for_byte() -> None:
    assert (
        generate_static_br_code(
            key="123e4567-e12b-12d1-a456-426655440000",
            merchant_name="Fulano de Tal",
            merchant_city="BRASILIA",
        )
        == BCB_EXAMPLE
    )


def test_generator_rebuilds_a_published_code_with_description_amount_and_txid() -> None:
    # Only the BCB example can be reproduced whole: the other vectors use what Porfin never
    # emits (upper-case GUI, 26-03, amounts like "10", field 80). This one differs from what
    # Porfin builds only by its field 80 (a Pix Automático template).
    payload = next(p for _, _, k, p in VECTORS if k == "static + 80 rec URL")
    published = parse_br_code(payload)
    ours = generate_static_br_code(
        key=published.key or "",
        merchant_name=published.merchant_name,
        merchant_city=published.merchant_city,
        amount_cents=published.amount_cents,
        txid=published.txid,
        description=published.description,
    )
    template_80 = payload[payload.index("8095") : -8]
    assert len(template_80) == 4 + 95
    assert ours == _with_crc(payload[:-8].replace(template_80, ""))
    assert attrs.evolve(parse_br_code(ours), payload=payload) == published


def test_mercado_pagos_doc_example_is_rejected_for_its_wrong_length() -> None:
    path = _fixtures_dir() / "mercadopago" / "payment_pix_point_of_interaction_devsite_excerpt.json"
    if not path.is_file():
        pytest.fail(f"missing fixture {path}")
    qr_code = json.loads(path.read_text())["point_of_interaction"]["transaction_data"]["qr_code"]
    # Its field 59 declares 13 characters for "Maria Silva" (11).
    error = _reject(qr_code)
    assert (error.fields["field"], error.fields["reason"]) == ("59", "bad_length")
    assert error.fields["position"] == qr_code.index("5913Maria")


# --- rejections with a precise reason ---------------------------------------------------------


def _with_crc(body: str) -> str:
    body += "6304"
    return body + br_code_crc(body)


def _fields(**overrides: str | None) -> str:
    """The BCB example's fields, some replaced (None drops one), CRC recomputed."""
    fields = {
        "00": "01",
        "26": "0014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-426655440000",
        "52": "0000",
        "53": "986",
        "58": "BR",
        "59": "Fulano de Tal",
        "60": "BRASILIA",
        "62": "0503***",
    }
    fields.update(overrides)
    return _with_crc("".join(f"{t}{len(v):02d}{v}" for t, v in fields.items() if v is not None))


def test_bad_crc_says_expected_and_found() -> None:
    error = _reject(BCB_EXAMPLE[:-4] + "1D3E")
    assert error.fields == {
        "field": "63",
        "reason": "bad_crc",
        "expected": "1D3D",
        "found": "1D3E",
        "position": len(BCB_EXAMPLE) - 4,
    }
    assert "expected 1D3D, found 1D3E" in error.message


def test_lower_case_crc_is_accepted() -> None:
    payload = _fields(**{"59": "Ana"})
    assert parse_br_code(payload[:-4] + payload[-4:].lower()).merchant_name == "Ana"


def test_a_code_with_surrounding_whitespace_parses() -> None:
    assert parse_br_code(f"  {BCB_EXAMPLE}\n").payload == BCB_EXAMPLE


@pytest.mark.parametrize(
    ("payload", "reason", "field", "position"),
    [
        (BCB_EXAMPLE.replace("5913Fulano", "5920Fulano"), "bad_length", "59", 89),
        (BCB_EXAMPLE[:-10], "bad_length", None, None),
        ("0002019", "bad_length", "payload", 6),
        ("XX0201", "bad_tag", "payload", 0),
        ("000201XX04abcd", "bad_length", "00", 0),
        ("0002015x", "bad_length", "payload", 6),
        ("00020101", "bad_length", "payload", 6),
        ("0002010105ab", "bad_length", "01", 6),
    ],
)
def test_bad_structure_is_located(
    payload: str, reason: str, field: str | None, position: int | None
) -> None:
    error = _reject(payload)
    assert error.fields["reason"] == reason
    if field is not None:
        assert error.fields["field"] == field
    if position is not None:
        assert error.fields["position"] == position


def test_declared_length_past_the_end_says_how_much_remains() -> None:
    error = _reject("00020126990014br.gov.bcb.pix")
    assert error.fields == {
        "field": "26",
        "reason": "bad_length",
        "position": 6,
        "expected": 18,
        "found": 99,
    }
    assert "position 6" in error.message


def test_bad_length_inside_a_template_gives_an_absolute_position() -> None:
    payload = _fields(**{"26": "0014br.gov.bcb.pix0150abc"})
    error = _reject(payload)
    assert error.fields["field"] == "26.01"
    assert error.fields["position"] == payload.index("0150abc")


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        ({"26": None}, "26", "missing_field"),
        ({"26": "0014br.gov.bcb.pix"}, "26.01", "missing_field"),
        ({"26": "0136123e4567-e12b-12d1-a456-426655440000"}, "26.00", "missing_field"),
        ({"26": "0014br.gov.bcb.pax0103abc"}, "26.00", "invalid_value"),
        ({"26": "0014br.gov.bcb.pix0107not key"}, "26.01", "invalid_key"),
        ({"26": "0014br.gov.bcb.pix0111123456789012505x.com"}, "26", "invalid_value"),
        ({"26": "0014br.gov.bcb.pix2521https://psp.com/cob/1"}, "26.25", "invalid_value"),
        ({"26": "0014br.gov.bcb.pix011112345678901" + "03041234"}, "26.03", "invalid_value"),
        ({"00": "02"}, "00", "invalid_value"),
        ({"52": "00A0"}, "52", "invalid_value"),
        ({"52": None}, "52", "missing_field"),
        ({"53": "840"}, "53", "invalid_value"),
        ({"58": "PT"}, "58", "invalid_value"),
        ({"59": ""}, "59", "too_short"),
        ({"60": "SAO JOSE DOS CAMPOS"}, "60", "too_long"),
        ({"62": None}, "62", "missing_field"),
        ({"62": "0704abcd"}, "62.05", "missing_field"),
        ({"62": "0505ab-cd"}, "62.05", "invalid_value"),
        ({"62": "0526" + "a" * 26}, "62.05", "invalid_value"),
    ],
)
def test_invalid_field_is_named(overrides: dict[str, str | None], field: str, reason: str) -> None:
    error = _reject(_fields(**overrides))
    assert (error.fields["field"], error.fields["reason"]) == (field, reason)


def test_point_of_initiation_must_be_11_or_12() -> None:
    payload = _with_crc("000201" + "010213" + _fields()[6:-8])
    assert _reject(payload).fields["field"] == "01"


def test_payload_format_must_come_first() -> None:
    payload = _with_crc("010211" + "000201" + _fields()[6:-8])
    assert _reject(payload).fields == {"field": "00", "reason": "missing_field"}


def test_duplicate_field_is_rejected() -> None:
    payload = _with_crc(_fields()[:-8] + "5802BR")
    assert _reject(payload).fields["reason"] == "duplicate_field"


def test_crc_must_be_last() -> None:
    body = _fields()
    assert _reject(body + "5802BR").fields["reason"] in {"bad_crc", "duplicate_field"}
    assert _reject(body[:-8] + "6303ABC").fields["reason"] == "bad_crc"
    assert _reject(body[:-8]).fields == {"field": "63", "reason": "missing_field"}


@pytest.mark.parametrize(
    ("text", "cents"),
    [("123.45", 12345), ("0.01", 1), ("10", 1000), ("10.", 1000), ("0.9", 90), ("0.0", 0)],
)
def test_amounts_are_read_without_floats(text: str, cents: int) -> None:
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["1,50", "-1.00", "1.234", ".50", "1e3", "", "12345678901.00"])
def test_bad_amounts_are_rejected(text: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_amount(text)
    assert info.value.fields["reason"] == "bad_amount"
    assert _reject(_fields(**{"54": text})).fields["field"] == "54"


# --- generation -------------------------------------------------------------------------------


def test_generated_code_normalizes_name_and_city() -> None:
    code = parse_br_code(
        generate_static_br_code(
            key="123.456.789-09",
            merchant_name="Clínica Odontológica São João da Boa Vista",
            merchant_city="São José dos Campos",
            amount_cents=15000,
            txid="AGENDA42",
            description="Sinal da consulta",
            initiation=PointOfInitiation.ONE_TIME,
        )
    )
    assert code.merchant_name == "Clinica Odontologica Sao"
    assert code.merchant_city == "Sao Jose dos Ca"
    assert (code.key, code.key_type) == ("12345678909", PixKeyType.CPF)
    assert (code.amount_cents, code.txid, code.description) == (
        15000,
        "AGENDA42",
        "Sinal da consulta",
    )
    assert code.initiation is PointOfInitiation.ONE_TIME
    assert "5406150.00" in code.payload


def test_generator_can_upper_case() -> None:
    code = parse_br_code(
        generate_static_br_code(
            key="pix@clinica.com.br",
            merchant_name="Dra. Ana",
            merchant_city="Niterói",
            uppercase=True,
        )
    )
    assert (code.merchant_name, code.merchant_city) == ("DRA. ANA", "NITEROI")


@pytest.mark.parametrize(
    ("kwargs", "field", "reason"),
    [
        ({"key": "111.111.111-11"}, "key", "bad_check_digits"),
        ({"merchant_name": "   "}, "59", "empty"),
        ({"merchant_city": "日本"}, "60", "empty"),
        ({"amount_cents": 0}, "54", "out_of_range"),
        ({"amount_cents": MAX_AMOUNT_CENTS + 1}, "54", "out_of_range"),
        ({"txid": "pedido-1"}, "62.05", "bad_format"),
        ({"txid": "a" * 26}, "62.05", "bad_format"),
        ({"mcc": "80"}, "52", "bad_format"),
        ({"key": "a" * 60 + "@clinica.com.br", "description": "x" * 10}, "26.02", "too_long"),
    ],
)
def test_generator_rejects_bad_parameters(
    kwargs: dict[str, object], field: str, reason: str
) -> None:
    params: dict[str, object] = {
        "key": "+5511987654321",
        "merchant_name": "Clinica",
        "merchant_city": "Recife",
    }
    params.update(kwargs)
    with pytest.raises(ValidationError) as info:
        generate_static_br_code(**params)  # type: ignore[arg-type]
    assert (info.value.fields["field"], info.value.fields["reason"]) == (field, reason)


def test_amount_format() -> None:
    assert [format_amount(c) for c in (1, 10, 100, 12345, 100000)] == [
        "0.01",
        "0.10",
        "1.00",
        "123.45",
        "1000.00",
    ]


def test_normalize_text() -> None:
    assert normalize_text("  SÃO  MIGUÉL\tDO O ", 15) == "SAO MIGUEL DO O"
    assert normalize_text("Açaí & Cia — Ltda", 25) == "Acai & Cia Ltda"
    assert normalize_text("Fisioterapia Integrada Bem", 25) == "Fisioterapia Integrada Be"
    assert normalize_text("ab   cd", 3) == "ab"


# --- round trips ------------------------------------------------------------------------------


def _cpf(base: str) -> str:
    return base + cpf_check_digits(base)


def _cnpj(base: str) -> str:
    return base + cnpj_check_digits(base)


_digits = "0123456789"
cpfs = st.text(_digits, min_size=9, max_size=9).map(_cpf).filter(is_valid_cpf)
cnpjs = st.text(_digits, min_size=12, max_size=12).map(_cnpj).filter(is_valid_cnpj)
alnum_cnpjs = (
    st.text(_digits + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=12, max_size=12)
    .map(_cnpj)
    .filter(is_valid_cnpj)
)
phones = st.builds(
    lambda ddd, number: f"+55{ddd}{number}",
    st.integers(11, 99).filter(lambda d: d % 10 != 0),
    st.from_regex(r"9[0-9]{8}|[2-5][0-9]{7}", fullmatch=True),
)
emails = st.from_regex(r"[a-z0-9._+-]{1,40}@[a-z0-9]{1,20}(\.[a-z]{2,6}){1,2}", fullmatch=True)
evps = st.uuids().map(str)
keys = st.one_of(cpfs, cnpjs, alnum_cnpjs, phones, emails, evps)
texts = st.text(
    "ABCXYZabcxyz0189 .,&-/'ÁÉÍÓÚÂÊÔÃÕÇáéíóúâêôãõçü\t", min_size=1, max_size=40
) | st.text(
    st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "S"]), min_size=1, max_size=40
)
txids = st.none() | st.from_regex(r"[A-Za-z0-9]{1,25}", fullmatch=True)


@settings(max_examples=300)
@given(
    key=keys,
    amount=st.none() | st.integers(1, MAX_AMOUNT_CENTS),
    name=texts,
    city=texts,
    txid=txids,
    description=st.none() | texts,
    initiation=st.none() | st.sampled_from(PointOfInitiation),
)
def test_generate_then_parse_gives_back_the_parameters(
    key: str,
    amount: int | None,
    name: str,
    city: str,
    txid: str | None,
    description: str | None,
    initiation: PointOfInitiation | None,
) -> None:
    name_out, city_out = normalize_text(name, 25), normalize_text(city, 15)
    info = normalize_text(description, 99) if description is not None else ""
    room = 99 - 18 - 4 - len(key) - 4
    event("refused" if not name_out or not city_out or len(info) > room else "built")
    if not name_out or not city_out or len(info) > room:
        # The generator refuses these; the property is about codes it builds.
        with pytest.raises(ValidationError):
            generate_static_br_code(
                key=key,
                merchant_name=name,
                merchant_city=city,
                description=description,
            )
        return
    payload = generate_static_br_code(
        key=key,
        merchant_name=name,
        merchant_city=city,
        amount_cents=amount,
        txid=txid,
        description=description,
        initiation=initiation,
    )
    code = parse_br_code(payload)
    assert len(payload) <= 512
    assert payload.isascii()
    assert code.key == key
    assert code.key_type is parse_pix_key(key).type
    assert code.amount_cents == amount
    assert code.merchant_name == name_out
    assert code.merchant_city == city_out
    assert code.txid == txid
    assert code.description == (info or None)
    assert code.initiation is initiation
    assert code.url is None
    assert not code.is_dynamic


@given(st.text(max_size=60), st.integers(1, 30))
def test_normalize_text_is_idempotent_ascii_and_bounded(value: str, limit: int) -> None:
    once = normalize_text(value, limit)
    assert normalize_text(once, limit) == once
    assert len(once) <= limit
    assert all(" " <= ch <= "~" for ch in once)


@given(st.integers(0, MAX_AMOUNT_CENTS))
def test_amount_round_trip(cents: int) -> None:
    assert parse_amount(format_amount(cents)) == cents


@given(st.text(max_size=120))
def test_parser_rejects_garbage_only_with_validation_errors(text: str) -> None:
    error: ValidationError | None = None
    try:
        parse_br_code(text)
    except ValidationError as caught:
        error = caught
    assert error is None or error.fields["reason"]


@given(st.integers(0, len(BCB_EXAMPLE) - 5), st.sampled_from("0123456789ABCXYZ*."))
def test_any_single_character_change_is_caught(index: int, char: str) -> None:
    mutated = BCB_EXAMPLE[:index] + char + BCB_EXAMPLE[index + 1 :]
    if mutated == BCB_EXAMPLE:
        return
    # CRC-16 catches every single-character change; the TLV walk may catch it first.
    _reject(mutated)


# --- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize("cpf", ["12345678909", "19119119100", "24971563792", "52998224725"])
def test_valid_cpfs(cpf: str) -> None:
    assert is_valid_cpf(cpf)
    assert parse_pix_key(f"{cpf[:3]}.{cpf[3:6]}.{cpf[6:9]}-{cpf[9:]}") == PixKey(
        PixKeyType.CPF, cpf
    )


@pytest.mark.parametrize(
    "cpf",
    ["12345678900", "11111111111", "00000000000", "1234567890", "123456789091", "1234567890a"],
)
def test_invalid_cpfs(cpf: str) -> None:
    assert not is_valid_cpf(cpf)


@pytest.mark.parametrize(
    "cnpj", ["12345678000195", "11222333000181", "12ABC34501DE35", "11444777000161"]
)
def test_valid_cnpjs(cnpj: str) -> None:
    assert is_valid_cnpj(cnpj)
    masked = f"{cnpj[:2]}.{cnpj[2:5]}.{cnpj[5:8]}/{cnpj[8:12]}-{cnpj[12:]}".lower()
    assert parse_pix_key(masked) == PixKey(PixKeyType.CNPJ, cnpj)


@pytest.mark.parametrize(
    "cnpj",
    [
        "12345678000196",
        "11111111111111",
        "12ABC34501DE36",
        "12ABC34501DE3A",
        "12abc34501DE35",
        "1234567800019",
    ],
)
def test_invalid_cnpjs(cnpj: str) -> None:
    assert not is_valid_cnpj(cnpj)


def test_alphanumeric_cnpj_uses_ascii_minus_48() -> None:
    # "A" is worth 17: the check digits of 12ABC34501DE are 3 and 5 (SERPRO's example).
    assert cnpj_check_digits("12ABC34501DE") == "35"
    assert cnpj_check_digits("112223330001") == "81"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Pix@Clinica.com.br", PixKey(PixKeyType.EMAIL, "pix@clinica.com.br")),
        ("+55 (11) 98765-4321", PixKey(PixKeyType.PHONE, "+5511987654321")),
        ("+55 21 3456-7890", PixKey(PixKeyType.PHONE, "+552134567890")),
        (
            "123E4567-E89B-12D3-A456-426655440000",
            PixKey(PixKeyType.EVP, "123e4567-e89b-12d3-a456-426655440000"),
        ),
        (" 52998224725 ", PixKey(PixKeyType.CPF, "52998224725")),
    ],
)
def test_key_detection_and_normalization(raw: str, expected: PixKey) -> None:
    assert parse_pix_key(raw) == expected
    assert classify_pix_key(expected.value) is expected.type


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("a" * 70 + "@clinica.com", "too_long"),
        ("pix@", "unknown_format"),
        ("pix @clinica.com", "unknown_format"),
        ("+1 415 555 2671", "unknown_format"),
        ("+55 01 98765-4321", "unknown_format"),
        ("+55 11 8765-432", "unknown_format"),
        ("+55 11 88765-4321", "unknown_format"),
        ("123.456.789-00", "bad_check_digits"),
        ("11.111.111/1111-11", "bad_check_digits"),
        ("12.ABC.345/01DE-34", "bad_check_digits"),
        ("123e4567-e89b-12d3-a456-42665544000", "unknown_format"),
        ("clinica", "unknown_format"),
    ],
)
def test_invalid_keys(raw: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_pix_key(raw)
    assert info.value.fields["reason"] == reason
    assert info.value.fields["field"] == "key"


def test_email_of_77_characters_is_the_longest_key() -> None:
    email = "a" * 65 + "@clinica.com"
    assert len(email) == 77
    assert parse_pix_key(email).type is PixKeyType.EMAIL
