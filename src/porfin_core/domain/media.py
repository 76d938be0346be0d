"""Attachments: the files staff upload to send (and, later, the media patients send).

WhatsApp delivers only some file types, each kind with its own size limit (the Cloud API's
"Supported media types", see docs/api.md). An upload is checked against that table twice: its
declared type must be one WhatsApp accepts, and its first bytes must look like that type, so a
renamed executable is not stored as a "PDF" and served back to staff.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from porfin_core.errors import PayloadTooLarge, UnsupportedMediaType, ValidationError


class MediaKind(enum.StrEnum):
    """What WhatsApp makes of a file; the same names as the message kinds."""

    IMAGE = "image"
    AUDIO = "audio"
    VIDEO = "video"
    DOCUMENT = "document"


MEDIA_TYPES: Mapping[str, MediaKind] = {
    "image/jpeg": MediaKind.IMAGE,
    "image/png": MediaKind.IMAGE,
    "audio/aac": MediaKind.AUDIO,
    "audio/amr": MediaKind.AUDIO,
    "audio/mpeg": MediaKind.AUDIO,
    "audio/mp4": MediaKind.AUDIO,
    "audio/ogg": MediaKind.AUDIO,
    "video/mp4": MediaKind.VIDEO,
    "video/3gpp": MediaKind.VIDEO,
    "text/plain": MediaKind.DOCUMENT,
    "application/pdf": MediaKind.DOCUMENT,
    "application/msword": MediaKind.DOCUMENT,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (MediaKind.DOCUMENT),
    "application/vnd.ms-excel": MediaKind.DOCUMENT,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": MediaKind.DOCUMENT,
    "application/vnd.ms-powerpoint": MediaKind.DOCUMENT,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (
        MediaKind.DOCUMENT
    ),
}
"""The MIME types WhatsApp delivers, and the kind of message each becomes."""

# Other names clients give the same types (browsers, phones, older tools).
_ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-m4a": "audio/mp4",
    "audio/m4a": "audio/mp4",
    "audio/x-aac": "audio/aac",
    "audio/opus": "audio/ogg",
}

EXTENSIONS: Mapping[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "audio/aac": "aac",
    "audio/amr": "amr",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/ogg": "ogg",
    "video/mp4": "mp4",
    "video/3gpp": "3gp",
    "text/plain": "txt",
    "application/pdf": "pdf",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.ms-powerpoint": "ppt",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
}
"""The usual file name extension of each accepted type."""

MAX_BYTES: Mapping[MediaKind, int] = {
    MediaKind.IMAGE: 5_000_000,
    MediaKind.AUDIO: 16_000_000,
    MediaKind.VIDEO: 16_000_000,
    MediaKind.DOCUMENT: 100_000_000,
}
"""WhatsApp's size limit per kind (5 MB, 16 MB, 16 MB, 100 MB), read as decimal megabytes:
the stricter reading, so nothing Porfin accepts is refused by the provider for its size."""

MAX_CAPTION_LENGTH = 1024
"""WhatsApp's limit for the caption of an image, video or document."""

MAX_FILENAME_LENGTH = 200

# First bytes of each type ("magic numbers"). Types absent here are checked otherwise below.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy Office (.doc, .xls, .ppt)
_ZIP = b"PK\x03\x04"  # Office Open XML (.docx, .xlsx, .pptx)
_PREFIXES: Mapping[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "audio/amr": (b"#!AMR",),
    "application/msword": (_OLE,),
    "application/vnd.ms-excel": (_OLE,),
    "application/vnd.ms-powerpoint": (_OLE,),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (_ZIP,),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (_ZIP,),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": (_ZIP,),
}


def normalize_media_type(value: str) -> str:
    """``value`` in its canonical form: lower case, without parameters, aliases resolved.

    ``audio/ogg; codecs=opus`` -> ``audio/ogg``; ``image/jpg`` -> ``image/jpeg``.
    """
    essence = value.split(";", 1)[0].strip().lower()
    return _ALIASES.get(essence, essence)


def media_kind(mime_type: str) -> MediaKind:
    """The kind of message a file of ``mime_type`` (canonical form) becomes.

    Raises:
        UnsupportedMediaType: WhatsApp does not deliver this type.
    """
    kind = MEDIA_TYPES.get(mime_type)
    if kind is None:
        raise UnsupportedMediaType(
            f"WhatsApp does not deliver files of type {mime_type!r}; accepted: "
            + ", ".join(sorted(MEDIA_TYPES)),
            field="file",
            mime_type=mime_type,
        )
    return kind


def _looks_like(mime_type: str, data: bytes) -> bool:
    head = data[:64]
    prefixes = _PREFIXES.get(mime_type)
    if prefixes is not None:
        return head.startswith(prefixes)
    if mime_type == "application/pdf":
        return b"%PDF-" in data[:1024]
    if mime_type == "audio/ogg":
        # WhatsApp plays Ogg files with the Opus codec only (voice notes).
        return head.startswith(b"OggS") and b"OpusHead" in head
    if mime_type == "audio/mpeg":  # an ID3 tag, or an MPEG audio frame sync
        return head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] >= 0xE0)
    if mime_type == "audio/aac":  # ADTS frame header, or ADIF
        return head.startswith(b"ADIF") or (
            len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0
        )
    if mime_type in ("audio/mp4", "video/mp4", "video/3gpp"):  # ISO base media file
        return head[4:8] == b"ftyp"
    if mime_type == "text/plain":
        return b"\x00" not in data[:8192]
    return False


def check_content(mime_type: str, data: bytes) -> None:
    """Check that ``data`` looks like a file of ``mime_type`` (its first bytes).

    Raises:
        ValidationError: empty, or the content is not of the declared type.
    """
    if not data:
        raise ValidationError("the file is empty", field="file")
    if not _looks_like(mime_type, data):
        raise ValidationError(
            f"the file's content is not {mime_type}", field="file", mime_type=mime_type
        )


def check_size(kind: MediaKind, size: int, installation_limit: int) -> None:
    """Check ``size`` against WhatsApp's limit for ``kind`` and the installation's.

    Raises:
        PayloadTooLarge: larger than the smaller of the two limits.
    """
    limit = min(MAX_BYTES[kind], installation_limit)
    if size > limit:
        raise PayloadTooLarge(
            f"{kind.value} files may have at most {limit} bytes; this one has {size}",
            field="file",
            max_bytes=limit,
        )


def received_media_id(sha256_hex: str) -> str:
    """The media store id of a file a patient sent, derived from its hex SHA-256.

    The same bytes always get the same id, so a redelivered webhook or a retried download
    finds the file already kept instead of storing it twice.
    """
    return f"wa-{sha256_hex[:40]}"


def sha256_matches(expected: str, digest: bytes) -> bool:
    """Whether a provider's ``sha256`` (hex, or base64 as in WhatsApp webhooks) names the
    SHA-256 ``digest``."""
    text = expected.strip()
    if len(text) == 64:
        return text.lower() == digest.hex()
    try:
        return base64.b64decode(text, validate=True) == digest
    except (binascii.Error, ValueError):
        return False


def safe_filename(name: str | None) -> str | None:
    """The last component of ``name``, without control characters or quotes, at most
    :data:`MAX_FILENAME_LENGTH` characters; None when nothing is left."""
    if not name:
        return None
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ord(ch) >= 32 and ord(ch) != 127 and ch not in '"')
    cleaned = cleaned.strip().lstrip(".")
    if not cleaned:
        return None
    if len(cleaned) > MAX_FILENAME_LENGTH:
        stem, dot, ext = cleaned.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            cleaned = stem[: MAX_FILENAME_LENGTH - len(ext) - 1] + "." + ext
        else:
            cleaned = cleaned[:MAX_FILENAME_LENGTH]
    return cleaned


@attrs.frozen(kw_only=True)
class StoredMedia:
    """A file in Porfin's media store: what is known about it besides its bytes.

    Attributes:
        id: Stable identifier (``GET /api/v1/media/{id}``).
        clinic_id: The clinic it belongs to; other clinics never see it.
        kind: Image, audio, video or document.
        mime_type: Canonical MIME type.
        size: Length in bytes.
        sha256: Hex SHA-256 of the bytes.
        filename: The name it was uploaded with (sanitized), if any.
        uploaded_by: The staff user who uploaded it, if a person did.
        created_at: When it was stored.
    """

    id: str
    clinic_id: str
    kind: MediaKind
    mime_type: str
    size: int
    sha256: str
    filename: str | None = None
    uploaded_by: str | None = None
    created_at: datetime

    @property
    def download_name(self) -> str:
        """The name to save it under: its own, else ``<id>.<extension of its type>``."""
        return self.filename or f"{self.id}.{EXTENSIONS.get(self.mime_type, 'bin')}"
