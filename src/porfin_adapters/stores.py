"""Choosing the media store and the secret store for the settings.

Both keep files in the data directory (``media_dir``, ``secrets_dir``), whatever the records'
backend, except with the ``memory`` storage, whose installations keep nothing on disk.
"""

from __future__ import annotations

from porfin_adapters.files.media import FileMediaStore
from porfin_adapters.files.secrets import FileSecretStore
from porfin_adapters.memory.media import MemoryMediaStore
from porfin_adapters.memory.secrets import MemorySecretStore
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.channel import SecretRef
from porfin_core.ports.media import MediaStore
from porfin_core.ports.secrets import SecretStore


def build_media_store(settings: Settings) -> MediaStore:
    """Files under ``settings.media_dir``; memory with the memory storage."""
    if settings.storage is StorageKind.MEMORY:
        return MemoryMediaStore()
    return FileMediaStore(settings.media_dir)


def build_secret_store(settings: Settings) -> SecretStore:
    """Files under ``settings.secrets_dir`` read once per process; memory with the memory
    storage."""
    if settings.storage is StorageKind.MEMORY:
        return MemorySecretStore()
    return CachedSecretStore(FileSecretStore(settings.secrets_dir))


class CachedSecretStore:
    """Keeps the values another store returned, so the hot paths (a webhook's signature
    check, each send's access token) read no file.

    Safe because a secret is never overwritten: a new value gets a new key and reference.
    Deleting through this store forgets the value; another process's deletion is seen here
    only after this process restarts, and only for references records no longer hold.

    Args:
        inner: The store that keeps the secrets.
        max_entries: Values kept at most (the cache is emptied when full).
    """

    def __init__(self, inner: SecretStore, max_entries: int = 10_000) -> None:
        self._inner = inner
        self._values: dict[str, str] = {}
        self._max_entries = max_entries

    async def put(self, key: str, value: str) -> SecretRef:
        """Store ``value`` in the inner store (see :class:`SecretStore`)."""
        return await self._inner.put(key, value)

    async def get(self, ref: SecretRef) -> str:
        """The value, from memory when this process read it before."""
        value = self._values.get(ref.ref)
        if value is None:
            value = await self._inner.get(ref)
            if len(self._values) >= self._max_entries:
                self._values.clear()
            self._values[ref.ref] = value
        return value

    async def delete(self, ref: SecretRef) -> None:
        """Forget and destroy the secret."""
        self._values.pop(ref.ref, None)
        await self._inner.delete(ref)
