"""Media as files under ``settings.media_dir``: ``<clinic_id>/<media_id>.bin`` and, beside
it, ``<media_id>.json`` with what is known about the file."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from porfin_adapters.files.atomic import private_dir, write_atomic
from porfin_adapters.keys import is_plain_id
from porfin_adapters.serialization import from_document, to_document
from porfin_core.domain.media import StoredMedia
from porfin_core.errors import Conflict, NotFound, StorageUnavailable, ValidationError
from porfin_core.ports.media import DEFAULT_CHUNK_SIZE


class FileMediaStore:
    """Files in a local directory, one subdirectory per clinic (all 0700, files 0600).

    A file is written in two atomic steps: the bytes (``.bin``), then the description
    (``.json``), which is what makes it exist: a crash in between leaves bytes nobody can
    reach, overwritten by nothing (ids are fresh). Names are checked to be plain
    identifiers, and every path is checked to stay inside the root, so no id can reach a file
    elsewhere. Several processes may share the directory.
    """

    def __init__(self, root: Path) -> None:
        self._root = root

    def _paths(self, clinic_id: str, media_id: str) -> tuple[Path, Path] | None:
        """The file's bytes and description, or None for ids that are not plain."""
        if not (is_plain_id(clinic_id) and is_plain_id(media_id)):
            return None
        folder = self._root / clinic_id
        return folder / f"{media_id}.bin", folder / f"{media_id}.json"

    def _confined(self, path: Path) -> Path:
        """``path`` if it resolves inside the root (belt and braces: plain ids always do).

        Raises:
            PermissionError: it does not (a symbolic link planted in the store).
        """
        if not path.resolve().is_relative_to(self._root.resolve()):
            raise PermissionError(f"{path} leads outside the media store")
        return path

    async def put(self, media: StoredMedia, data: bytes) -> None:
        paths = self._paths(media.clinic_id, media.id)
        if paths is None:
            raise ValidationError("media and clinic ids must be plain identifiers", field="id")
        if len(data) != media.size:
            raise ValidationError("the data's length is not the media's size", field="size")
        data_path, meta_path = paths
        description = json.dumps(to_document(media)).encode("utf-8")

        def write() -> None:
            private_dir(self._root)
            self._confined(private_dir(data_path.parent))
            if meta_path.exists():
                raise FileExistsError(meta_path)
            try:
                write_atomic(data_path, data, exclusive=True)
            except FileExistsError:
                if meta_path.exists():
                    raise
                # Bytes without a description: left by a crash, nobody can reach them.
                write_atomic(data_path, data, exclusive=False)
            write_atomic(meta_path, description, exclusive=True)

        try:
            await asyncio.to_thread(write)
        except FileExistsError as exc:
            raise Conflict("media id already used", id=media.id) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot write media: {exc.strerror}") from exc

    def _describe(self, clinic_id: str, media_id: str) -> tuple[StoredMedia, Path]:
        paths = self._paths(clinic_id, media_id)
        if paths is None:
            raise NotFound("media not found", id=media_id)
        data_path, meta_path = paths
        try:
            document = json.loads(self._confined(meta_path).read_bytes())
        except FileNotFoundError as exc:
            raise NotFound("media not found", id=media_id) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read media: {exc.strerror}") from exc
        return from_document(document, StoredMedia), data_path

    async def info(self, clinic_id: str, media_id: str) -> StoredMedia:
        media, _ = await asyncio.to_thread(self._describe, clinic_id, media_id)
        return media

    def _open(self, clinic_id: str, media_id: str) -> BinaryIO:
        _, data_path = self._describe(clinic_id, media_id)
        try:
            return data_path.open("rb")
        except FileNotFoundError as exc:
            raise NotFound("media not found", id=media_id) from exc
        except OSError as exc:
            raise StorageUnavailable(f"cannot read media: {exc.strerror}") from exc

    async def read(self, clinic_id: str, media_id: str) -> bytes:
        def load() -> bytes:
            with self._open(clinic_id, media_id) as handle:
                return handle.read()

        return await asyncio.to_thread(load)

    async def chunks(
        self, clinic_id: str, media_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self._open, clinic_id, media_id)
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        except OSError as exc:
            raise StorageUnavailable(f"cannot read media: {exc.strerror}") from exc
        finally:
            handle.close()

    async def delete(self, clinic_id: str, media_id: str) -> None:
        paths = self._paths(clinic_id, media_id)
        if paths is None:
            return
        data_path, meta_path = paths

        def remove() -> None:
            for path in (meta_path, data_path):  # the description first: the file is gone
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._confined(path))

        try:
            await asyncio.to_thread(remove)
        except OSError as exc:
            raise StorageUnavailable(f"cannot delete media: {exc.strerror}") from exc
