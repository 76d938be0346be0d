"""Encryption keys kept in the secret store: one per clinic, plus named installation keys.

A key is a Fernet key (AES-128-CBC with HMAC-SHA256, from ``cryptography``) made at its first
use and stored in the secret store under a fixed name (``clinic-key-<clinic_id>``). Keys are
never overwritten: two processes making the same key at once both end with the one stored
first. What a key encrypts (a Google refresh token) is stored apart from it, so a copy of the
records or of one secret alone reveals nothing, and deleting a clinic's key makes everything
encrypted with it unreadable at once.
"""

from __future__ import annotations

import contextlib

from cryptography.fernet import Fernet, InvalidToken

from porfin_adapters.keys import is_plain_id
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import Conflict, NotFound, ValidationError
from porfin_core.ports.secrets import SecretStore

STORE_PREFIX = "store:"
"""How the secret stores name their references (``store:<key>``, see :class:`SecretRef`)."""


def clinic_key_name(clinic_id: str) -> str:
    """The secret store key of a clinic's encryption key.

    Raises:
        ValidationError: the clinic id is not a plain identifier.
    """
    name = f"clinic-key-{clinic_id}"
    if not is_plain_id(name):
        raise ValidationError("a clinic id must be a plain identifier", field="clinic_id")
    return name


class ClinicKeys:
    """Fernet keys by name, made on first use and cached for the life of the process.

    Args:
        secrets: Where the keys are kept.
    """

    def __init__(self, secrets: SecretStore) -> None:
        self._secrets = secrets
        self._keys: dict[str, Fernet] = {}

    async def named(self, name: str) -> Fernet:
        """The key stored under ``name``, made now when there is none.

        Raises:
            ValidationError: ``name`` is not a plain identifier.
            StorageUnavailable: the secret store failed.
        """
        cached = self._keys.get(name)
        if cached is not None:
            return cached
        if not is_plain_id(name):
            raise ValidationError("a key name must be a plain identifier", field="name")
        ref = SecretRef(STORE_PREFIX + name)
        try:
            value = await self._secrets.get(ref)
        except NotFound:
            # Conflict: another process made it first; that one is used.
            with contextlib.suppress(Conflict):
                await self._secrets.put(name, Fernet.generate_key().decode("ascii"))
            value = await self._secrets.get(ref)
        key = Fernet(value.encode("ascii"))
        self._keys[name] = key
        return key

    async def for_clinic(self, clinic_id: str) -> Fernet:
        """The clinic's key (see :meth:`named`)."""
        return await self.named(clinic_key_name(clinic_id))

    async def encrypt(self, clinic_id: str, plaintext: str) -> str:
        """``plaintext`` encrypted and authenticated with the clinic's key (URL-safe text)."""
        key = await self.for_clinic(clinic_id)
        return key.encrypt(plaintext.encode("utf-8")).decode("ascii")

    async def decrypt(self, clinic_id: str, ciphertext: str) -> str:
        """What :meth:`encrypt` encrypted for this clinic.

        Raises:
            ValidationError: the text was not encrypted with this clinic's key, or was
                altered.
        """
        key = await self.for_clinic(clinic_id)
        try:
            return key.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise ValidationError(
                "the value was not encrypted with this clinic's key, or was altered",
                field="ciphertext",
            ) from exc
