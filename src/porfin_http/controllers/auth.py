"""Logging in and out: ``/api/v1/auth`` (public) and the caller's profile ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from porfin_core.domain.staff import StaffUser
from porfin_core.permissions import ROLE_PERMISSIONS, Permission
from porfin_core.use_cases._sessions import Session
from porfin_core.use_cases.log_in import Credentials
from porfin_http.auth import BEARER, PUBLIC, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import LoginIn, RefreshIn, SessionOut, UserOut


class PasswordForm(msgspec.Struct):
    """OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize" sends it."""

    username: str
    password: str
    grant_type: str = "password"
    scope: str = ""


def _session(session: Session, now: Any) -> Response[SessionOut]:
    body = SessionOut(
        access_token=session.access.token,
        token_type="bearer",
        expires_in=max(0, int((session.access.expires_at - now).total_seconds())),
        refresh_token=session.refresh_token,
        refresh_expires_at=session.refresh_expires_at,
    )
    return Response(body, headers={"Cache-Control": "no-store"})


def user_out(user: StaffUser) -> UserOut:
    """Present a staff account with the permissions of its role."""
    return UserOut(
        id=user.id,
        clinic_id=user.clinic_id,
        name=user.name,
        email=user.email,
        role=user.role.value,  # type: ignore[arg-type]
        active=user.active,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[user.role]),
    )


class AuthController(Controller):
    """Sessions: log in, refresh, log out. No bearer token needed here."""

    path = "/auth"
    tags = ["auth"]
    security = PUBLIC

    @post(
        "/login",
        summary="Log in",
        description="Returns a short-lived access token and a single-use refresh token. More "
        "than five failures within a minute lock the account for 15 minutes (423).",
        status_code=200,
        responses=problems(400, 401, 423),
    )
    async def login(
        self, container: NamedDependency[Services], data: JSONBody[LoginIn]
    ) -> Response[SessionOut]:
        session = await container.log_in()(Credentials(email=data.email, password=data.password))
        return _session(session, container.clock().now())

    @post(
        "/token",
        summary="OAuth2 password grant",
        description="The same as login, as form fields (`username`, `password`): what "
        "Swagger UI's Authorize button sends.",
        status_code=200,
        responses=problems(400, 401, 423),
    )
    async def token(
        self,
        container: NamedDependency[Services],
        data: Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[SessionOut]:
        session = await container.log_in()(Credentials(email=data.username, password=data.password))
        return _session(session, container.clock().now())

    @post(
        "/refresh",
        summary="Refresh a session",
        description="Trades a refresh token for a new pair. A refresh token works once: "
        "presenting a spent one revokes every session of that login.",
        status_code=200,
        responses=problems(400, 401),
    )
    async def refresh(
        self, container: NamedDependency[Services], data: JSONBody[RefreshIn]
    ) -> Response[SessionOut]:
        session = await container.refresh_session()(data.refresh_token)
        return _session(session, container.clock().now())

    @post(
        "/logout",
        summary="Log out",
        description="Revokes the refresh token's session; access tokens already issued expire "
        "on their own within minutes.",
        status_code=204,
        responses=problems(400),
    )
    async def logout(self, container: NamedDependency[Services], data: JSONBody[RefreshIn]) -> None:
        await container.log_out()(data.refresh_token)


class MeController(Controller):
    """The caller's own account."""

    path = "/me"
    tags = ["auth"]
    security = BEARER

    @get(
        "/",
        summary="Who am I",
        description="The caller's account and permissions. With the admin token there is no "
        "account: 404.",
        opt=needs(Permission.PROFILE),
        responses=problems(401, 403, 404),
    )
    async def me(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> UserOut:
        principal = principal_of(request)
        user = await container.get_staff_user()(principal.clinic_id, principal.user_id)
        return user_out(user)
