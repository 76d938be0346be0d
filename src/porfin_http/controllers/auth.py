"""Logging in and out: ``/api/v1/auth`` (public) and the caller's profile ``/api/v1/me``."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from porfin_adapters.security.totp import qr_svg_data_uri
from porfin_core.domain.staff import StaffUser
from porfin_core.permissions import ROLE_PERMISSIONS, Permission
from porfin_core.use_cases._sessions import Session
from porfin_core.use_cases.accept_invitation import TokenRedemption
from porfin_core.use_cases.change_password import PasswordChange
from porfin_core.use_cases.confirm_mfa_enrolment import MfaConfirmation
from porfin_core.use_cases.log_in import Credentials
from porfin_core.use_cases.turn_off_mfa import MfaRemoval
from porfin_core.use_cases.update_staff_user import StaffUserChange
from porfin_http.actors import actor_of, origin_of
from porfin_http.auth import BEARER, PUBLIC, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import (
    LoginIn,
    MfaEnrolmentOut,
    OtpIn,
    PasswordChangeIn,
    PasswordIn,
    ProfilePatch,
    RecoveryCodesOut,
    RefreshIn,
    SessionOut,
    TokenPasswordIn,
    UserOut,
)


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
        status=user.status.value,  # type: ignore[arg-type]
        mfa_enabled=user.mfa_enabled,
        created_at=user.created_at,
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
        responses=problems(400, 401, 422, 423),
    )
    async def login(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[LoginIn],
    ) -> Response[SessionOut]:
        credentials = Credentials(
            email=data.email, password=data.password, otp=data.otp, origin=origin_of(request)
        )
        session = await container.log_in()(credentials)
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
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: Annotated[PasswordForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
    ) -> Response[SessionOut]:
        credentials = Credentials(
            email=data.username, password=data.password, origin=origin_of(request)
        )
        session = await container.log_in()(credentials)
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
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[RefreshIn],
    ) -> Response[SessionOut]:
        session = await container.refresh_session()(data.refresh_token, origin_of(request))
        return _session(session, container.clock().now())

    @post(
        "/logout",
        summary="Log out",
        description="Revokes the refresh token's session; access tokens already issued expire "
        "on their own within minutes.",
        status_code=204,
        responses=problems(400),
    )
    async def logout(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[RefreshIn],
    ) -> None:
        await container.log_out()(data.refresh_token, origin_of(request))

    @post(
        "/invitations/accept",
        summary="Accept an invitation",
        description="The invited person chooses a password (at least 10 characters) with the "
        "invitation token and is logged in. An invitation works once, for seven days.",
        status_code=200,
        responses=problems(400, 401, 422),
    )
    async def accept_invitation(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[TokenPasswordIn],
    ) -> Response[SessionOut]:
        redemption = TokenRedemption(
            token=data.token, password=data.password, origin=origin_of(request)
        )
        session = await container.accept_invitation()(redemption)
        return _session(session, container.clock().now())

    @post(
        "/password-reset",
        summary="Reset a password",
        description="Chooses a new password with a reset token (issued by an admin, valid "
        "for an hour, works once). Every session of the account ends; a lockout is lifted.",
        status_code=204,
        responses=problems(400, 401, 422),
    )
    async def reset_password(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[TokenPasswordIn],
    ) -> None:
        redemption = TokenRedemption(
            token=data.token, password=data.password, origin=origin_of(request)
        )
        await container.reset_password()(redemption)


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

    @patch(
        "/",
        summary="Change my profile",
        opt=needs(Permission.PROFILE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def update_me(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ProfilePatch],
    ) -> UserOut:
        principal = principal_of(request)
        change = StaffUserChange(
            clinic_id=principal.clinic_id,
            user_id=principal.user_id,
            actor=actor_of(request),
            name=data.name,
        )
        return user_out(await container.update_staff_user()(change))

    @post(
        "/password",
        summary="Change my password",
        description="Needs the current password. Every other session of the account ends; "
        "the answer is a fresh session for this client.",
        status_code=200,
        opt=needs(Permission.PROFILE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def change_password(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[PasswordChangeIn],
    ) -> Response[SessionOut]:
        principal = principal_of(request)
        change = PasswordChange(
            clinic_id=principal.clinic_id,
            user_id=principal.user_id,
            current_password=data.current_password,
            new_password=data.new_password,
            actor=actor_of(request),
        )
        session = await container.change_password()(change)
        return _session(session, container.clock().now())

    @post(
        "/mfa/totp",
        summary="Start two-step verification",
        description="A new authenticator-app secret, as a QR code and as text. Logins need "
        "no code until it is confirmed at `/me/mfa/totp/confirm`.",
        status_code=200,
        opt=needs(Permission.PROFILE),
        responses=problems(401, 403, 404, 409),
    )
    async def start_mfa(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> Response[MfaEnrolmentOut]:
        principal = principal_of(request)
        enrolment = await container.start_mfa_enrolment()(
            principal.clinic_id, principal.user_id, actor_of(request)
        )
        body = MfaEnrolmentOut(
            secret=enrolment.secret,
            provisioning_uri=enrolment.provisioning_uri,
            qr_code=qr_svg_data_uri(enrolment.provisioning_uri),
        )
        return Response(body, headers={"Cache-Control": "no-store"})

    @post(
        "/mfa/totp/confirm",
        summary="Confirm two-step verification",
        description="Turns two-step verification on with a first code from the app and "
        "returns ten single-use recovery codes (shown only now).",
        status_code=200,
        opt=needs(Permission.PROFILE),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def confirm_mfa(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[OtpIn],
    ) -> Response[RecoveryCodesOut]:
        principal = principal_of(request)
        confirmation = MfaConfirmation(
            clinic_id=principal.clinic_id,
            user_id=principal.user_id,
            code=data.code,
            actor=actor_of(request),
        )
        codes = await container.confirm_mfa_enrolment()(confirmation)
        return Response(RecoveryCodesOut(codes), headers={"Cache-Control": "no-store"})

    @post(
        "/mfa/recovery-codes",
        summary="New recovery codes",
        description="Replaces the recovery codes (the old ones stop working); needs the password.",
        status_code=200,
        opt=needs(Permission.PROFILE),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def regenerate_recovery_codes(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[PasswordIn],
    ) -> Response[RecoveryCodesOut]:
        principal = principal_of(request)
        codes = await container.regenerate_recovery_codes()(
            principal.clinic_id, principal.user_id, data.password, actor_of(request)
        )
        return Response(RecoveryCodesOut(codes), headers={"Cache-Control": "no-store"})

    @post(
        "/mfa/disable",
        summary="Turn two-step verification off",
        description="Needs the password.",
        status_code=204,
        opt=needs(Permission.PROFILE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def disable_mfa(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[PasswordIn],
    ) -> None:
        principal = principal_of(request)
        removal = MfaRemoval(
            clinic_id=principal.clinic_id,
            user_id=principal.user_id,
            actor=actor_of(request),
            password=data.password,
        )
        await container.turn_off_mfa()(removal)
