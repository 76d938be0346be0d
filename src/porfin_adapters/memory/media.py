"""Media kept in a dict: the media store of tests and demos."""

from __future__ import annotations

from collections.abc import AsyncIterator

from porfin_adapters.keys import is_plain_id
from porfin_core.domain.media import StoredMedia
from porfin_core.errors import Conflict, NotFound, ValidationError
from porfin_core.ports.media import DEFAULT_CHUNK_SIZE


class MemoryMediaStore:
    """Files in a dict keyed by (clinic id, media id); they live as long as the process."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], tuple[StoredMedia, bytes]] = {}

    async def put(self, media: StoredMedia, data: bytes) -> None:
        if not (is_plain_id(media.clinic_id) and is_plain_id(media.id)):
            raise ValidationError("media and clinic ids must be plain identifiers", field="id")
        if len(data) != media.size:
            raise ValidationError("the data's length is not the media's size", field="size")
        key = (media.clinic_id, media.id)
        if key in self.files:
            raise Conflict("media id already used", id=media.id)
        self.files[key] = (media, bytes(data))

    def _find(self, clinic_id: str, media_id: str) -> tuple[StoredMedia, bytes]:
        found = self.files.get((clinic_id, media_id))
        if found is None:
            raise NotFound("media not found", id=media_id)
        return found

    async def info(self, clinic_id: str, media_id: str) -> StoredMedia:
        return self._find(clinic_id, media_id)[0]

    async def read(self, clinic_id: str, media_id: str) -> bytes:
        return self._find(clinic_id, media_id)[1]

    async def chunks(
        self, clinic_id: str, media_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        data = self._find(clinic_id, media_id)[1]
        for start in range(0, len(data), chunk_size):
            yield data[start : start + chunk_size]

    async def delete(self, clinic_id: str, media_id: str) -> None:
        self.files.pop((clinic_id, media_id), None)
