"""Attachments: ``/api/v1/media`` (upload, then send with ``media_id``; download)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath
from litestar.response import Stream

from porfin_core.domain.media import MediaKind, StoredMedia
from porfin_core.permissions import Permission
from porfin_core.use_cases.upload_media import NewMedia
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import MediaUploadOut

MULTIPART_OVERHEAD = 65_536
"""What a multipart body may hold besides the file (boundaries, part headers): the route's
body limit is ``max_upload_bytes`` plus this; the file itself is held to ``max_upload_bytes``
(and to WhatsApp's limit for its kind) by the use case."""


@dataclass
class MediaUpload:
    """A multipart form with the file in the field ``file``; the part's ``Content-Type`` is
    the file's type and its ``filename`` is kept."""

    file: UploadFile


def content_disposition(media: StoredMedia) -> str:
    """``inline`` for pictures, sound and video, ``attachment`` for documents, with the file
    name in ASCII (``filename``) and in UTF-8 (``filename*``, RFC 6266)."""
    kind = "attachment" if media.kind is MediaKind.DOCUMENT else "inline"
    name = media.download_name
    ascii_name = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in name)
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"


class MediaController(Controller):
    """Upload a file to send it in a chat, and download any file of the clinic."""

    path = "/media"
    tags = ["media"]
    security = BEARER

    @post(
        "/",
        summary="Upload an attachment",
        description="Multipart form, field `file`. Accepted: the types WhatsApp delivers "
        "(JPEG/PNG images up to 5 MB; AAC, AMR, MP3, M4A, Ogg/Opus audio and MP4/3GPP video up "
        "to 16 MB; PDF, Word, Excel, PowerPoint and text documents up to 100 MB), never more "
        "than the installation's `max_upload_bytes`. Too large: `413`; a type WhatsApp does "
        "not deliver: `415`; content that is not of the declared type: `422`.",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(400, 401, 403, 413, 415, 422),
    )
    async def upload_media(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: Annotated[MediaUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> MediaUploadOut:
        upload = data.file
        try:
            content = await upload.read()
        finally:
            await upload.close()
        principal = principal_of(request)
        media = await container.upload_media()(
            NewMedia(
                clinic_id=principal.clinic_id,
                mime_type=upload.content_type,
                data=content,
                filename=upload.filename,
                uploaded_by=principal.user_id,
                actor=actor_of(request),
            )
        )
        return MediaUploadOut.of(media)

    @get(
        "/{media_id:str}",
        summary="Download an attachment",
        description="The file's bytes with its `Content-Type`; `Content-Disposition` is "
        "`inline` for images, audio and video, `attachment` for documents.",
        opt=needs(Permission.CHATS_OWN),
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="*/*",
                description="The file, with its own `Content-Type` (`image/jpeg`, "
                "`application/pdf`...).",
                generate_examples=False,
            ),
            **problems(401, 403, 404),
        },
    )
    async def download_media(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        media_id: FromPath[str],
    ) -> Stream:
        download = await container.get_media()(
            principal_of(request).clinic_id, media_id, actor=actor_of(request)
        )
        media = download.media
        return Stream(
            download.chunks,
            media_type=media.mime_type,
            headers={
                "Content-Disposition": content_disposition(media),
                "Content-Length": str(media.size),
            },
        )


def media_controller(max_upload_bytes: int) -> type[MediaController]:
    """:class:`MediaController` with a body limit of ``max_upload_bytes`` (plus the multipart
    envelope) instead of the app-wide ``max_body_bytes``: uploads are bigger than JSON."""
    return type(
        "MediaController",
        (MediaController,),
        {"request_max_body_size": max_upload_bytes + MULTIPART_OVERHEAD},
    )
