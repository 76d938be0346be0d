"""Chats and their messages: ``/api/v1/chats``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, Parameter
from litestar.response import Stream

from porfin_core.domain.chat import ChatMode, ChatStatus
from porfin_core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from porfin_core.permissions import Permission
from porfin_core.ports.storage import ChatQuery
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.get_message_media import MessageMediaQuery
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.update_chat import ChangeChat
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.controllers.media import content_disposition
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import (
    ChatOut,
    ChatPage,
    ChatPatch,
    ChatStatusName,
    MessageOut,
    MessagePage,
    Mode,
    SendMessageIn,
)

Limit = Annotated[
    int,
    Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size."),
]
Cursor = Annotated[str | None, Parameter(description="`next_cursor` of the previous page.")]


def _clinic_id(request: Request[Any, Any, Any]) -> str:
    return principal_of(request).clinic_id


def _actor(request: Request[Any, Any, Any]) -> str:
    return principal_of(request).user_id


class ChatController(Controller):
    """The inbox."""

    path = "/chats"
    tags = ["chats"]
    security = BEARER

    @get(
        "/",
        summary="List chats",
        description="Most recent activity first (with `waiting=true`: the chats waiting "
        "for a person, oldest wait first), filtered and searched; cursor pagination.",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(400, 401, 403, 422),
    )
    async def list_chats(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        mode: Annotated[Mode | None, Parameter()] = None,
        status: Annotated[ChatStatusName | None, Parameter()] = None,
        assignee: Annotated[str | None, Parameter(description="Staff user id in charge.")] = None,
        unassigned: Annotated[bool, Parameter()] = False,
        unread: Annotated[bool, Parameter()] = False,
        waiting: Annotated[
            bool,
            Parameter(
                description="Only chats waiting for a person to answer, oldest wait first "
                "(`waiting_since`) instead of by recency."
            ),
        ] = False,
        q: Annotated[
            str | None,
            Parameter(max_length=200, description="Search name, phone or message text."),
        ] = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> ChatPage:
        page = await container.list_chats()(
            ChatQuery(
                clinic_id=_clinic_id(request),
                mode=ChatMode(mode) if mode else None,
                status=ChatStatus(status) if status else None,
                assignee_id=assignee,
                unassigned=unassigned,
                unread=unread,
                waiting=waiting,
                search=q,
                limit=limit,
                cursor=cursor,
            ),
            principal_of(request),
        )
        now = container.clock().now()
        return ChatPage([ChatOut.of(c, now) for c in page.items], page.next_cursor)

    @get(
        "/{chat_id:str}",
        summary="Get a chat",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(401, 403, 404),
    )
    async def get_chat(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        chat_id: FromPath[str],
    ) -> ChatOut:
        chat = await container.get_chat()(
            _clinic_id(request), chat_id, principal_of(request), actor=actor_of(request)
        )
        return ChatOut.of(chat, container.clock().now())

    @patch(
        "/{chat_id:str}",
        summary="Change a chat",
        description="Switch the AI on/off, pause it, hand off with a reason, assign, "
        "close/reopen, mark read.",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def update_chat(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        chat_id: FromPath[str],
        data: JSONBody[ChatPatch],
    ) -> ChatOut:
        assignee = None if data.assignee_id is msgspec.UNSET else data.assignee_id
        chat = await container.update_chat()(
            ChangeChat(
                clinic_id=_clinic_id(request),
                chat_id=chat_id,
                actor_id=_actor(request),
                mode=data.mode,
                paused_until=data.paused_until,
                reason=data.reason,
                assignee_id=assignee,
                unassign=data.assignee_id is None,
                status=data.status,
                mark_read=data.read,
                viewer=principal_of(request),
                actor=actor_of(request),
            )
        )
        return ChatOut.of(chat, container.clock().now())

    @get(
        "/{chat_id:str}/messages",
        summary="A chat's timeline",
        description="Newest first; `next_cursor` leads to older messages.",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def list_messages(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        chat_id: FromPath[str],
        limit: Limit = DEFAULT_PAGE_SIZE,
        cursor: Cursor = None,
    ) -> MessagePage:
        page = await container.get_chat_timeline()(
            TimelineQuery(
                clinic_id=_clinic_id(request),
                chat_id=chat_id,
                limit=limit,
                cursor=cursor,
                viewer=principal_of(request),
                actor=actor_of(request),
            )
        )
        return MessagePage([MessageOut.of(m) for m in page.items], page.next_cursor)

    @get(
        "/{chat_id:str}/messages/{message_id:str}/media",
        summary="Download a message's file",
        description="The file of an image, audio, video, document or sticker message, with "
        "its `Content-Type`, `Content-Length` and `Content-Disposition` (`inline` for images, "
        "audio and video, `attachment` for documents). A patient's file is kept by Porfin "
        "after the webhook; one not kept yet is fetched from the provider now (`502` when the "
        "provider fails: try again later). `404` for a chat the caller may not see, a message "
        "of another chat, a message without a file, or a file the provider no longer has "
        "(`reason`, as the message's `extra.media_error`).",
        opt=needs(Permission.CHATS_OWN),
        responses={
            200: ResponseSpec(
                data_container=bytes,
                media_type="*/*",
                description="The file, with its own `Content-Type` (`image/jpeg`, "
                "`application/pdf`...).",
                generate_examples=False,
            ),
            **problems(401, 403, 404, 502, 503),
        },
    )
    async def download_message_media(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        chat_id: FromPath[str],
        message_id: FromPath[str],
    ) -> Stream:
        download = await container.get_message_media()(
            MessageMediaQuery(
                clinic_id=_clinic_id(request),
                chat_id=chat_id,
                message_id=message_id,
                viewer=principal_of(request),
                actor=actor_of(request),
            )
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

    @post(
        "/{chat_id:str}/messages",
        summary="Send a message",
        description="A text (`text`), or a file uploaded with `POST /api/v1/media` "
        "(`media_id`, optional `caption`), which becomes an image, audio, video or document "
        "message: inside the 24-hour window only (`window_closed` otherwise). Or one of the "
        "channel's approved templates (`template`: `name`, `language`, `parameters`), also "
        "once the window has closed; an unknown template or not one value per placeholder "
        "is `422`. The message "
        "is stored as pending and handed to the channel; the response shows the outcome "
        "(`sent`, or `failed` with the provider's error).",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def send_message(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        chat_id: FromPath[str],
        data: JSONBody[SendMessageIn],
    ) -> MessageOut:
        message = await container.send_staff_message()(
            SendText(
                clinic_id=_clinic_id(request),
                chat_id=chat_id,
                author_id=_actor(request),
                text=data.text or "",
                media_id=data.media_id,
                caption=data.caption,
                template=data.template.name if data.template else None,
                template_language=data.template.language if data.template else None,
                template_parameters=list(data.template.parameters) if data.template else [],
                viewer=principal_of(request),
                actor=actor_of(request),
            )
        )
        return MessageOut.of(message)
