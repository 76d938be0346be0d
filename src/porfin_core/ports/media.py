"""The media store, where attachments' bytes live next to (not inside) the records, and the
providers' side of the files patients send."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

import attrs

from porfin_core.domain.channel import Channel
from porfin_core.domain.media import StoredMedia
from porfin_core.domain.message import Message

DEFAULT_CHUNK_SIZE = 65_536
"""Bytes per chunk when a file is streamed."""


class MediaStore(Protocol):
    """Keeps files by id, scoped to a clinic: a file of one clinic is not found from another.

    Every adapter (local directory, memory) passes one contract suite
    (``tests/contract/test_media_store_contract.py``). Ids and clinic ids are made of
    letters, digits, ``_`` and ``-`` (1-128 characters), so no id can name a path.
    """

    async def put(self, media: StoredMedia, data: bytes) -> None:
        """Keep ``data`` as ``media.id`` of ``media.clinic_id``, atomically: readers see the
        whole file or nothing.

        Raises:
            ValidationError: an id that is not a plain identifier, or ``data`` whose length
                is not ``media.size``.
            Conflict: the clinic already has a file with this id.
            StorageUnavailable: the file could not be written.
        """
        ...

    async def info(self, clinic_id: str, media_id: str) -> StoredMedia:
        """What is known about a file.

        Raises:
            NotFound: no such file in the clinic (also for a malformed id).
            StorageUnavailable: the store could not be read.
        """
        ...

    async def read(self, clinic_id: str, media_id: str) -> bytes:
        """The file's bytes.

        Raises:
            NotFound: no such file in the clinic.
            StorageUnavailable: the store could not be read.
        """
        ...

    def chunks(
        self, clinic_id: str, media_id: str, chunk_size: int = DEFAULT_CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """The file's bytes in chunks of at most ``chunk_size``, for streaming.

        Raises (on the first iteration):
            NotFound: no such file in the clinic.
            StorageUnavailable: the store could not be read.
        """
        ...

    async def delete(self, clinic_id: str, media_id: str) -> None:
        """Forget a file; nothing happens when there is no such file.

        Raises:
            StorageUnavailable: the file could not be removed.
        """
        ...


@attrs.frozen(kw_only=True)
class FetchedMedia:
    """A file a provider handed over for a received message.

    Attributes:
        data: The bytes.
        mime_type: The type the provider gave (any spelling), if it gave one.
        sha256: The hash the provider announced with the download (hex or base64), if any;
            it is checked against the bytes.
        filename: The name the provider gave (documents), if any.
    """

    data: bytes
    mime_type: str | None = None
    sha256: str | None = None
    filename: str | None = None


class InboundMediaSource(Protocol):
    """Fetches the file of a message a provider delivered (Cloud API media id, Evolution's
    copy of a WhatsApp message), with the channel's credentials.

    Implemented per provider (``CloudApiMediaSource``, ``EvolutionMediaSource``) and routed by
    the channel's provider.
    """

    async def fetch(self, channel: Channel, message: Message) -> FetchedMedia:
        """The bytes of ``message``'s media.

        Raises:
            GatewayError: the provider refused or failed. ``retryable`` says whether the same
                call may work later (5xx, timeouts, a download URL that expired) or never will
                (the provider no longer has the file, a channel without credentials, a
                provider Porfin cannot download from).
            PayloadTooLarge: the file is larger than WhatsApp allows for its type.
        """
        ...
