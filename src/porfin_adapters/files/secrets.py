"""Secrets as files in ``<data_dir>/secrets``: one owner-only file per secret."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from porfin_adapters.files.atomic import private_dir, write_atomic
from porfin_adapters.keys import is_plain_id
from porfin_core.domain.channel import SecretRef
from porfin_core.errors import Conflict, NotFound, StorageUnavailable, ValidationError

PREFIX = "store:"


class FileSecretStore:
    """Each secret is a file named by its key in ``root`` (0700), readable by Porfin's user
    only (0600), written atomically and never overwritten.

    Values are kept as they are, like the admin token and the JWT key beside them: what
    protects them is the data directory's permissions (see docs/security.md). Several
    processes (API workers, the CLI) may share the directory.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, ref: SecretRef) -> Path | None:
        if not ref.ref.startswith(PREFIX):
            return None
        key = ref.ref.removeprefix(PREFIX)
        return self._root / key if is_plain_id(key) else None

    async def put(self, key: str, value: str) -> SecretRef:
        if not is_plain_id(key):
            raise ValidationError("a secret key must be a plain identifier", field="key")
        if not value:
            raise ValidationError("a secret cannot be empty", field="value")

        def write() -> None:
            write_atomic(private_dir(self._root) / key, value.encode("utf-8"), exclusive=True)

        try:
            await asyncio.to_thread(write)
        except FileExistsError as exc:
            raise Conflict("secret key already used", key=key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot write secret: {exc.strerror}") from exc
        return SecretRef(PREFIX + key)

    async def get(self, ref: SecretRef) -> str:
        path = self._path(ref)
        if path is None:
            raise NotFound("secret not found", ref=ref.ref)
        try:
            return await asyncio.to_thread(path.read_text, "utf-8")
        except FileNotFoundError as exc:
            raise NotFound("secret not found", ref=ref.ref) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read secret: {exc.strerror}") from exc

    async def delete(self, ref: SecretRef) -> None:
        path = self._path(ref)
        if path is None:
            return

        def remove() -> None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)

        try:
            await asyncio.to_thread(remove)
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete secret: {exc.strerror}") from exc
