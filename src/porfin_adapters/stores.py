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
from porfin_core.ports.media import MediaStore
from porfin_core.ports.secrets import SecretStore


def build_media_store(settings: Settings) -> MediaStore:
    """Files under ``settings.media_dir``; memory with the memory storage."""
    if settings.storage is StorageKind.MEMORY:
        return MemoryMediaStore()
    return FileMediaStore(settings.media_dir)


def build_secret_store(settings: Settings) -> SecretStore:
    """Files under ``settings.secrets_dir``; memory with the memory storage."""
    if settings.storage is StorageKind.MEMORY:
        return MemorySecretStore()
    return FileSecretStore(settings.secrets_dir)
