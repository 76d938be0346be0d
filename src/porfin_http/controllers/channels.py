"""The clinic's channels (WhatsApp numbers): ``/api/v1/channels``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from porfin_core.domain.channel import Channel
from porfin_core.errors import ValidationError
from porfin_core.permissions import Permission, allows
from porfin_core.use_cases.archive_channel import RemoveChannel
from porfin_core.use_cases.create_channel import NewChannel
from porfin_core.use_cases.update_channel import ChangeChannel
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import (
    ChannelIn,
    ChannelOut,
    ChannelPatch,
    TemplateIn,
    TemplateOut,
    provider_settings,
)


def _clinic_id(request: Request[Any, Any, Any]) -> str:
    return principal_of(request).clinic_id


def _present(request: Request[Any, Any, Any], channel: Channel) -> ChannelOut:
    # Even the last four characters of a credential are for those who manage credentials.
    hints = allows(principal_of(request).role, Permission.CHANNELS_MANAGE)
    return ChannelOut.of(channel, show_hints=hints)


def _templates(templates: list[TemplateIn] | None) -> list[dict[str, str | None]] | None:
    if templates is None:
        return None
    return [{"name": t.name, "language": t.language, "body": t.body} for t in templates]


def _settings_of(data: ChannelIn | ChannelPatch) -> tuple[str | None, dict[str, str | None]]:
    """The provider the body's settings object is for, and its fields."""
    objects = (("cloud_api", data.cloud_api), ("evolution", data.evolution))
    given = [(name, obj) for name, obj in objects if obj is not None]
    if len(given) > 1:
        raise ValidationError("send the settings of one provider only", field=given[1][0])
    if not given:
        return None, {}
    name, obj = given[0]
    return name, provider_settings(obj)


class ChannelController(Controller):
    """The clinic's WhatsApp numbers. Secrets are write-only: answers say whether each is
    configured (and, to administrators, its last four characters), never its value."""

    path = "/channels"
    tags = ["channels"]
    security = BEARER

    @get(
        "/",
        summary="List channels",
        description="Oldest first; removed channels only with `archived=true`. Evolution "
        "numbers carry their `connection`: state, last activity, degraded flag and automatic "
        "reconnect attempts.",
        opt=needs(Permission.CHANNELS_VIEW),
        responses=problems(400, 401, 403),
    )
    async def list_channels(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        archived: Annotated[
            bool, Parameter(description="Include removed (archived) channels.")
        ] = False,
    ) -> list[ChannelOut]:
        channels = await container.list_channels()(_clinic_id(request), include_archived=archived)
        return [_present(request, c) for c in channels]

    @post(
        "/",
        summary="Add a channel",
        description="A WhatsApp number on the Cloud API, Evolution or the simulator, with its "
        "provider's settings; secrets go to the secret store, never back in answers.",
        opt=needs(Permission.CHANNELS_MANAGE),
        responses=problems(400, 401, 403, 409, 422),
    )
    async def create_channel(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ChannelIn],
    ) -> ChannelOut:
        settings_provider, settings = _settings_of(data)
        if settings_provider not in (None, data.provider):
            raise ValidationError(
                f"{settings_provider} settings for a {data.provider} channel",
                field=str(settings_provider),
            )
        channel = await container.create_channel()(
            NewChannel(
                clinic_id=_clinic_id(request),
                name=data.name,
                provider=data.provider,
                phone=data.phone,
                settings={k: v for k, v in settings.items() if v is not None},
                templates=_templates(data.templates) or [],
                actor=actor_of(request),
            )
        )
        return _present(request, channel)

    @get(
        "/{channel_id:str}",
        summary="Get a channel",
        description="Removed channels too (their `archived_at` is set). `connection`: the "
        "number's link to WhatsApp as the provider and Porfin's health checks last saw it.",
        opt=needs(Permission.CHANNELS_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_channel(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        channel_id: FromPath[str],
    ) -> ChannelOut:
        channel = await container.get_channel()(_clinic_id(request), channel_id)
        return _present(request, channel)

    @patch(
        "/{channel_id:str}",
        summary="Change a channel",
        description="`name`, `active`: managers and administrators (`channels.operate`). "
        "`phone`, the provider's settings and credentials, and `templates`: administrators only "
        "(`channels.manage`; `403` otherwise). A removed channel cannot change (`409`).",
        opt=needs(Permission.CHANNELS_OPERATE),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def update_channel(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        channel_id: FromPath[str],
        data: JSONBody[ChannelPatch],
    ) -> ChannelOut:
        settings_provider, settings = _settings_of(data)
        channel = await container.update_channel()(
            ChangeChannel(
                clinic_id=_clinic_id(request),
                channel_id=channel_id,
                name=data.name,
                active=data.active,
                phone=data.phone,
                settings=settings,
                settings_provider=settings_provider,
                templates=_templates(data.templates),
                viewer=principal_of(request),
                actor=actor_of(request),
            )
        )
        return _present(request, channel)

    @get(
        "/{channel_id:str}/templates",
        summary="The channel's templates",
        description="The approved WhatsApp templates staff may send through the number "
        "(`POST /api/v1/chats/{chat_id}/messages` with `template`), also once a patient's "
        "24-hour window has closed: name, language, body with its `{{1}}`... placeholders "
        "and how many values they take. For whoever writes to patients, secretaries "
        "included.",
        opt=needs(Permission.CHATS_OWN),
        responses=problems(401, 403, 404),
    )
    async def list_templates(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        channel_id: FromPath[str],
    ) -> list[TemplateOut]:
        templates = await container.list_channel_templates()(_clinic_id(request), channel_id)
        return [TemplateOut.of(t) for t in templates]

    @delete(
        "/{channel_id:str}",
        summary="Remove a channel",
        description="Soft delete: the channel is deactivated for good and archived, its "
        "credentials are destroyed; its chats and messages stay. Webhooks and sends through "
        "it are refused. Removing a removed channel changes nothing.",
        opt=needs(Permission.CHANNELS_MANAGE),
        responses=problems(401, 403, 404),
    )
    async def remove_channel(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        channel_id: FromPath[str],
    ) -> None:
        await container.archive_channel()(
            RemoveChannel(
                clinic_id=_clinic_id(request), channel_id=channel_id, actor=actor_of(request)
            )
        )
