"""QR images of PIX BR Codes: PNG bytes, SVG text and a terminal rendering.

Uses segno (already a Porfin dependency, pure Python, writes PNG without Pillow). The code is
always a full QR code (never Micro QR, which banking apps do not read) at error-correction
level M, as PIX QR codes are printed; the quiet zone defaults to the 4 modules the QR standard
asks for.
"""

from __future__ import annotations

import io

import segno

from porfin_core.domain.pix import parse_br_code

_BLOCKS = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}


def _qr(br_code: str, *, validate: bool) -> segno.QRCode:
    if validate:
        parse_br_code(br_code)
    return segno.make_qr(br_code.strip(), error="m", boost_error=False)


def br_code_png(br_code: str, *, scale: int = 8, border: int = 4, validate: bool = True) -> bytes:
    """Return a PNG image (black on white) of the QR code for ``br_code``.

    Args:
        br_code: The "copia e cola" text.
        scale: Pixels per module.
        border: Quiet zone, in modules.
        validate: Parse the code first, so a broken code is never drawn.

    Raises:
        porfin_core.errors.ValidationError: ``validate`` is on and the code is invalid.
    """
    out = io.BytesIO()
    _qr(br_code, validate=validate).save(out, kind="png", scale=scale, border=border)
    return out.getvalue()


def br_code_svg(br_code: str, *, scale: int = 8, border: int = 4, validate: bool = True) -> str:
    """Return a standalone SVG document (UTF-8 text) of the QR code for ``br_code``.

    Same arguments and errors as :func:`br_code_png`.
    """
    out = io.BytesIO()
    _qr(br_code, validate=validate).save(
        out, kind="svg", scale=scale, border=border, xmldecl=True, title="PIX QR code"
    )
    return out.getvalue().decode("utf-8")


def br_code_terminal(
    br_code: str, *, border: int = 2, invert: bool = False, validate: bool = True
) -> str:
    """Return the QR code as text made of half blocks (two modules per character row).

    Args:
        br_code: The "copia e cola" text.
        border: Quiet zone, in modules.
        invert: Draw the light modules instead of the dark ones, for terminals with a dark
            background (light text): the phone then sees dark modules on a light field.
        validate: Parse the code first, so a broken code is never drawn.

    Raises:
        porfin_core.errors.ValidationError: ``validate`` is on and the code is invalid.
    """
    rows = [
        [bool(module) != invert for module in row]
        for row in _qr(br_code, validate=validate).matrix_iter(scale=1, border=border)
    ]
    if len(rows) % 2:
        rows.append([invert] * len(rows[0]))
    lines = [
        "".join(_BLOCKS[top, bottom] for top, bottom in zip(upper, lower, strict=True))
        for upper, lower in zip(rows[::2], rows[1::2], strict=True)
    ]
    return "\n".join(lines) + "\n"


class SegnoQrRenderer:
    """The :class:`~porfin_core.ports.charges.QrRenderer` of PIX codes (PNG by segno)."""

    def png(self, br_code: str) -> bytes:
        """A PNG of the QR code of ``br_code`` (validated first: a broken code is never drawn)."""
        return br_code_png(br_code)
