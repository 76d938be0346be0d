"""argon2id password hashing (argon2-cffi, RFC 9106 low-memory profile)."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    """Hashes passwords with argon2id; verification never raises on a mismatch."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        # argon2 takes tens of milliseconds on purpose: keep it off the event loop.
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        return await asyncio.to_thread(self._check, password_hash, password)

    def _check(self, password_hash: str | None, password: str) -> bool:
        if password_hash is None:
            # No account: spend the time a real check takes, then say no.
            self._dummy = self._dummy or self._hasher.hash("no account has this password")
            password_hash, password = self._dummy, password + "\x00"
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
