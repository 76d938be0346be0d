"""The clinic's channels (WhatsApp numbers): ``/api/v1/channels``."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency

from porfin_core.permissions import Permission
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import ChannelOut


class ChannelController(Controller):
    """Read the clinic's channels; secrets are never returned."""

    path = "/channels"
    tags = ["channels"]
    security = BEARER

    @get(
        "/",
        summary="List channels",
        opt=needs(Permission.CHANNELS_VIEW),
        responses=problems(401, 403),
    )
    async def list_channels(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> list[ChannelOut]:
        channels = await container.list_channels()(principal_of(request).clinic_id)
        return [ChannelOut.of(c) for c in channels]
