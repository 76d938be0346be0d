"""The secret store: provider credentials live here; records hold only a :class:`SecretRef`."""

from __future__ import annotations

from typing import Protocol

from porfin_core.domain.channel import SecretRef


class SecretStore(Protocol):
    """Keeps secret values (access tokens, API keys, app secrets) apart from the records.

    A record (a channel) holds the :class:`SecretRef` ``put`` returned, never the value; the
    adapters that talk to a provider resolve it with ``get`` when they need it. Values are
    never logged, returned by the API or written to the audit trail. Every adapter (files in
    the data directory, memory) passes one contract suite
    (``tests/contract/test_secret_store_contract.py``).
    """

    async def put(self, key: str, value: str) -> SecretRef:
        """Keep ``value`` under a new ``key`` (letters, digits, ``_``, ``-``; 1-128
        characters) and return its reference (without a hint).

        Raises:
            ValidationError: a malformed key or an empty value.
            Conflict: the key is taken (keys are fresh ids: a secret is never overwritten).
            StorageUnavailable: the secret could not be written.
        """
        ...

    async def get(self, ref: SecretRef) -> str:
        """The value ``ref`` points at.

        Raises:
            NotFound: no such secret (deleted, or a reference another store made).
            StorageUnavailable: the store could not be read.
        """
        ...

    async def delete(self, ref: SecretRef) -> None:
        """Destroy the secret; nothing happens when there is no such secret.

        Raises:
            StorageUnavailable: the secret could not be removed.
        """
        ...
