"""Professionals' calendars: connecting Google Calendar (``/api/v1/professionals/{id}/calendar``
and the OAuth callback ``/api/v1/calendar/oauth/callback``) and the private ICS feed
(``/api/v1/professionals/{id}/calendar.ics``).

The callback and the feed are public routes: the browser coming back from Google carries no
bearer token (the signed OAuth ``state`` is the credential) and calendar apps cannot send one
(the feed's token in the URL is). Both live outside the API's guard, in
:func:`calendar_public_handlers`.
"""

from __future__ import annotations

import html
from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter, QueryParameter

from porfin_adapters.ics import feed_url, render_feed
from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.errors import NotFound, PorfinError
from porfin_core.permissions import Permission
from porfin_core.use_cases.complete_calendar_connection import ConsentGiven
from porfin_core.use_cases.disconnect_calendar import Disconnection
from porfin_core.use_cases.get_calendar_feed import FeedRequest
from porfin_core.use_cases.rotate_calendar_feed_token import FeedTokenRequest
from porfin_core.use_cases.start_calendar_connection import ConnectionRequest
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, PUBLIC, needs, principal_of
from porfin_http.calendar_schemas import (
    CalendarConnectionOut,
    ConsentOut,
    FeedTokenOut,
)
from porfin_http.deps import Services
from porfin_http.problems import problems

ICS_MEDIA_TYPE = "text/calendar; charset=utf-8"


class CalendarController(Controller):
    """A professional's calendar: its Google connection and its feed token. Administrators and
    managers connect, disconnect and renew; everyone sees the status."""

    path = "/"
    tags = ["calendar"]
    security = BEARER

    @get(
        "/calendar/connections",
        summary="List connected calendars",
        description="Every professional's Google Calendar connection (revoked ones too), with "
        "the last sync and its error, if any.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(401, 403),
    )
    async def list_connections(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> list[CalendarConnectionOut]:
        found = await container.list_calendar_connections()(principal_of(request).clinic_id)
        return [CalendarConnectionOut.of(c) for c in found]

    @get(
        "/professionals/{professional_id:str}/calendar",
        summary="Get a professional's calendar connection",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_connection(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
    ) -> CalendarConnectionOut:
        clinic_id = principal_of(request).clinic_id
        for connection in await container.list_calendar_connections()(clinic_id):
            if connection.professional_id == professional_id:
                return CalendarConnectionOut.of(connection)
        raise NotFound("calendar connection not found", id=professional_id)

    @post(
        "/professionals/{professional_id:str}/calendar/connect",
        summary="Start connecting a professional's Google Calendar",
        description="Returns Google's consent URL (valid 15 minutes) for the professional to "
        "open; Google then sends the browser to the callback, which stores the connection. "
        "Connecting again replaces the connection. `calendar_error` with `provider_code` "
        "`not_configured` when the installation has no Google OAuth client.",
        status_code=200,
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(401, 403, 404, 409, 422, 502),
    )
    async def connect(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
    ) -> ConsentOut:
        start = container.start_calendar_connection()
        consent = await start(
            ConnectionRequest(
                clinic_id=principal_of(request).clinic_id, professional_id=professional_id
            )
        )
        return ConsentOut.of(consent, start.redirect_uri)

    @delete(
        "/professionals/{professional_id:str}/calendar",
        summary="Disconnect a professional's calendar",
        description="Porfin stops syncing; events it wrote stay in the calendar. Recorded in "
        "the audit log (`calendar.disconnect`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(401, 403, 404),
    )
    async def disconnect(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
    ) -> None:
        await container.disconnect_calendar()(
            Disconnection(
                clinic_id=principal_of(request).clinic_id,
                professional_id=professional_id,
                actor=actor_of(request),
            )
        )

    @post(
        "/professionals/{professional_id:str}/calendar/feed-token",
        summary="Make a new private calendar feed link",
        description="A new random token for the professional's ICS feed; the previous link "
        "stops working. The token is shown only now (Porfin keeps its SHA-256). Recorded in "
        "the audit log (`calendar.feed_token`).",
        status_code=201,
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(401, 403, 404),
    )
    async def rotate_feed_token(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
    ) -> FeedTokenOut:
        made = await container.rotate_calendar_feed_token()(
            FeedTokenRequest(
                clinic_id=principal_of(request).clinic_id,
                professional_id=professional_id,
                actor=actor_of(request),
            )
        )
        base = container.settings().public_url or str(request.base_url)
        return FeedTokenOut(
            token=made.token,
            url=feed_url(base, professional_id, made.token),
            created_at=made.feed.created_at,
        )


# -- public routes -------------------------------------------------------------------------


_PAGE = """<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><meta name="viewport"
content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto;">
<h1>{title}</h1><p>{text}</p></body></html>"""

_FAILURES = {
    "validation_error": (
        400,
        "O link de conexão é inválido ou expirou. Peça um novo link à clínica e tente de novo.",
    ),
    "not_found": (404, "Este profissional não existe mais na clínica."),
    "calendar_access_revoked": (
        400,
        "O Google não liberou o acesso à agenda. Peça um novo link à clínica e tente de novo.",
    ),
    "calendar_not_configured": (
        409,
        "A conexão com o Google Agenda não está configurada nesta instalação. Avise a clínica.",
    ),
    "calendar_error": (
        502,
        "Não foi possível concluir a conexão com o Google Agenda. Peça um novo link à clínica "
        "e tente de novo; se o problema continuar, avise a clínica.",
    ),
}


def _page(status: int, title: str, text: str) -> Response[str]:
    body = _PAGE.format(title=html.escape(title), text=html.escape(text))
    return Response(body, status_code=status, media_type=MediaType.HTML)


_PAGES = {
    status: ResponseSpec(
        data_container=str,
        media_type=MediaType.HTML,
        description=f"A page (pt-BR) saying the calendar was not connected and what to do: {why}",
        generate_examples=False,
    )
    for status, why in (
        (400, "consent refused or incomplete, or an invalid or expired link."),
        (404, "the professional no longer exists."),
        (409, "Google Calendar is not configured on this installation."),
        (502, "Google failed or refused the code."),
    )
}


@get(
    "/api/v1/calendar/oauth/callback",
    summary="Google Calendar OAuth callback",
    description="Where Google sends the professional's browser after the consent: with "
    "`code` and `state` the connection is stored (audit `calendar.connect`) and a short page "
    "(pt-BR) says so; `error=access_denied` (consent refused), an invalid or expired `state` "
    "or a refused code answer a page saying what to do (ask for a new link). Public: the "
    "signed `state` is the credential. Every answer is an HTML page, for the browser.",
    security=PUBLIC,
    tags=["calendar"],
    media_type=MediaType.HTML,
    responses=_PAGES,
)
async def calendar_oauth_callback(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    oauth_state: Annotated[
        str | None, QueryParameter(name="state", description="The consent URL's state.")
    ] = None,
    code: Annotated[str | None, Parameter(description="Google's authorization code.")] = None,
    error: Annotated[str | None, Parameter(description="Google's error, if refused.")] = None,
) -> Response[str]:
    """Complete the connection and answer the browser."""
    if error or not oauth_state or not code:
        return _page(
            400,
            "Agenda não conectada",
            "A autorização foi recusada ou não veio completa. Para conectar a agenda, peça um "
            "novo link à clínica e aceite o acesso.",
        )
    client = request.client
    actor = Actor(
        id="calendar-oauth",
        kind=ActorKind.SYSTEM,
        source=client.host if client is not None else "unknown",
        request_id=request.scope.get("state", {}).get("request_id"),
    )
    try:
        await container.complete_calendar_connection()(
            ConsentGiven(state=oauth_state, code=code, actor=actor)
        )
    except PorfinError as exc:
        status, text = _FAILURES.get(exc.code, _FAILURES["calendar_error"])
        return _page(status, "Agenda não conectada", text)
    return _page(
        200,
        "Agenda conectada",
        "Pronto! Sua agenda do Google está conectada ao Porfin: as consultas aparecerão nela "
        "em instantes, e seus compromissos bloquearão esses horários. Pode fechar esta página.",
    )


@get(
    "/api/v1/professionals/{professional_id:str}/calendar.ics",
    summary="A professional's private calendar feed (ICS)",
    description="The professional's appointments that are not cancelled, from 30 days ago to "
    "180 days ahead, as iCalendar (RFC 5545) for a calendar app to subscribe to: `UID` the "
    "appointment id, times in the clinic's zone (`TZID`), `SUMMARY` the type and the "
    "patient's first name only, `STATUS` `TENTATIVE` until confirmed. Public: the `token` "
    "(made by `POST .../calendar/feed-token`) is the credential; a wrong one is 404.",
    security=PUBLIC,
    tags=["calendar"],
    media_type=ICS_MEDIA_TYPE,
    responses=problems(404),
)
async def calendar_feed(
    container: NamedDependency[Services],
    professional_id: FromPath[str],
    token: Annotated[str | None, Parameter(description="The feed's secret token.")] = None,
) -> Response[bytes]:
    """Render the feed."""
    content = await container.get_calendar_feed()(
        FeedRequest(professional_id=professional_id, token=token or "")
    )
    return Response(
        render_feed(content),
        media_type=ICS_MEDIA_TYPE,
        headers={
            "Cache-Control": "private, max-age=300",
            "Content-Disposition": 'inline; filename="agenda.ics"',
        },
    )


def calendar_public_handlers() -> list[Any]:
    """The calendar's routes outside the API's bearer-token guard."""
    return [calendar_oauth_callback, calendar_feed]
