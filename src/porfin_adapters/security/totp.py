"""Authenticator-app codes (TOTP, RFC 6238: SHA-1, 6 digits, 30-second steps) with pyotp, and
the QR code that carries an enrolment's provisioning URI."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp
import segno

DRIFT_STEPS = 1
"""Steps accepted either side of the current one (phones whose clocks drift by up to 30 s)."""


class PyOtpPasswords:
    """The :class:`~porfin_core.ports.auth.OneTimePasswords` of Google Authenticator, Authy,
    1Password and the like."""

    def new_secret(self) -> str:
        return pyotp.random_base32()  # 32 base32 characters: 160 bits, as RFC 4226 advises

    def provisioning_uri(self, secret: str, account: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)

    def matching_step(self, secret: str, code: str, now: datetime) -> int | None:
        digits = "".join(code.split())
        if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
            return None
        totp = pyotp.TOTP(secret)
        current = int(now.timestamp()) // totp.interval
        for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
            if hmac.compare_digest(totp.generate_otp(step), digits):
                return step
        return None


def qr_svg_data_uri(uri: str) -> str:
    """A ``data:image/svg+xml`` QR code of ``uri``, ready for an ``<img src>``."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=4))
