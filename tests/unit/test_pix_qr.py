"""QR images of BR Codes: PNG, SVG and terminal renderings (nothing is decoded here)."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET
import zlib

import pytest

from porfin_adapters.pix_qr import br_code_png, br_code_svg, br_code_terminal
from porfin_core.domain.pix import generate_static_br_code
from porfin_core.errors import ValidationError

CODE = generate_static_br_code(
    key="123e4567-e12b-12d1-a456-426655440000",
    merchant_name="Clinica Sorriso",
    merchant_city="Recife",
    amount_cents=15000,
    txid="SINAL123",
)


def _png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, i = [], 8
    while i < len(data):
        (length,) = struct.unpack(">I", data[i : i + 4])
        kind, body = data[i + 4 : i + 8], data[i + 8 : i + 8 + length]
        (crc,) = struct.unpack(">I", data[i + 8 + length : i + 12 + length])
        assert zlib.crc32(kind + body) == crc
        chunks.append((kind, body))
        i += 12 + length
    return chunks


def _modules() -> int:
    # Without a quiet zone and at scale 1, the terminal rows are the symbol's side (halved).
    return len(br_code_terminal(CODE, border=0).splitlines()[0])


def test_png_is_a_well_formed_square_image_of_the_symbol() -> None:
    data = br_code_png(CODE, scale=5, border=4)
    chunks = _png_chunks(data)
    assert chunks[0][0] == b"IHDR"
    assert chunks[-1][0] == b"IEND"
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert width == height == (_modules() + 8) * 5


def test_svg_is_valid_xml_of_the_right_size() -> None:
    svg = br_code_svg(CODE, scale=4, border=4)
    root = ET.fromstring(svg.encode())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("width") == root.get("height") == str((_modules() + 8) * 4)
    assert root.find("{http://www.w3.org/2000/svg}path") is not None


def test_terminal_rendering_uses_half_blocks() -> None:
    text = br_code_terminal(CODE, border=2)
    lines = text.splitlines()
    side = _modules() + 4
    assert all(len(line) == side for line in lines)
    assert len(lines) == (side + 1) // 2
    assert set(text) <= set(" ▀▄█\n")
    # The quiet zone is blank; then the finder patterns: a solid top edge over their ring.
    assert lines[0].strip() == ""
    assert lines[1].startswith("  █▀▀▀▀▀█")
    assert lines[1].endswith("█▀▀▀▀▀█  ")


def test_inverted_terminal_rendering_swaps_dark_and_light() -> None:
    normal = br_code_terminal(CODE, border=0).splitlines()
    inverted = br_code_terminal(CODE, border=0, invert=True).splitlines()
    swap = str.maketrans(" ▀▄█", "█▄▀ ")
    assert [line.translate(swap) for line in normal[:-1]] == inverted[:-1]


def test_a_broken_code_is_never_drawn() -> None:
    broken = CODE[:-4] + "0000"
    for render in (br_code_png, br_code_svg, br_code_terminal):
        with pytest.raises(ValidationError):
            render(broken)
    assert br_code_png(broken, validate=False).startswith(b"\x89PNG")
