"""The clinic's team: ``/api/v1/users`` (accounts, invitations, resets)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from porfin_core.permissions import Permission
from porfin_core.use_cases.invite_staff_user import Invitation
from porfin_core.use_cases.issue_password_reset import PasswordResetRequest
from porfin_core.use_cases.turn_off_mfa import MfaRemoval
from porfin_core.use_cases.update_staff_user import StaffUserChange
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.controllers.auth import user_out
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import AccountTokenOut, InvitationIn, InvitationOut, UserOut, UserPatch

_NO_STORE = {"Cache-Control": "no-store"}


class UserController(Controller):
    """Staff accounts of the caller's clinic. Admins manage them; managers may look."""

    path = "/users"
    tags = ["users"]
    security = BEARER

    @get(
        "/",
        summary="List the team",
        description="Every account of the clinic (invited, active, disabled), oldest first.",
        opt=needs(Permission.USERS_VIEW),
        responses=problems(401, 403),
    )
    async def list_users(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> list[UserOut]:
        users = await container.list_staff_users()(principal_of(request).clinic_id)
        return [user_out(user) for user in users]

    @get(
        "/{user_id:str}",
        summary="Get an account",
        opt=needs(Permission.USERS_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_user(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        user_id: FromPath[str],
    ) -> UserOut:
        user = await container.get_staff_user()(principal_of(request).clinic_id, user_id)
        return user_out(user)

    @post(
        "/invitations",
        summary="Invite a person",
        description="Creates the account (status `invited`) and a one-time invitation token, "
        "valid for seven days: hand it to the person, who chooses a password at "
        "`POST /api/v1/auth/invitations/accept`. Inviting a pending e-mail again issues a new "
        "token (the old one stops working).",
        status_code=201,
        opt=needs(Permission.USERS_MANAGE),
        responses=problems(400, 401, 403, 409, 422),
    )
    async def invite(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[InvitationIn],
    ) -> Response[InvitationOut]:
        issued = await container.invite_staff_user()(
            Invitation(
                clinic_id=principal_of(request).clinic_id,
                name=data.name,
                email=data.email,
                role=data.role,
                actor=actor_of(request),
            )
        )
        body = InvitationOut(
            user=user_out(issued.user), token=issued.token, expires_at=issued.expires_at
        )
        return Response(body, status_code=201, headers=_NO_STORE)

    @patch(
        "/{user_id:str}",
        summary="Change an account",
        description="Name, role, or `active: false` to disable it (its sessions end at once; "
        "access tokens already issued stop working within seconds). The clinic always keeps "
        "an admin: the last one can be neither disabled nor given another role (409).",
        opt=needs(Permission.USERS_MANAGE),
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def update_user(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        user_id: FromPath[str],
        data: JSONBody[UserPatch],
    ) -> UserOut:
        change = StaffUserChange(
            clinic_id=principal_of(request).clinic_id,
            user_id=user_id,
            actor=actor_of(request),
            name=data.name,
            role=data.role,
            active=data.active,
        )
        return user_out(await container.update_staff_user()(change))

    @post(
        "/{user_id:str}/password-reset",
        summary="Issue a password-reset token",
        description="A one-time token, valid for an hour: hand it to the person, who chooses "
        "a new password at `POST /api/v1/auth/password-reset`. Porfin sends no e-mail.",
        status_code=201,
        opt=needs(Permission.USERS_MANAGE),
        responses=problems(401, 403, 404, 409),
    )
    async def issue_password_reset(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        user_id: FromPath[str],
    ) -> Response[AccountTokenOut]:
        issued = await container.issue_password_reset()(
            PasswordResetRequest(
                clinic_id=principal_of(request).clinic_id,
                user_id=user_id,
                actor=actor_of(request),
            )
        )
        body = AccountTokenOut(token=issued.token, expires_at=issued.expires_at)
        return Response(body, status_code=201, headers=_NO_STORE)

    @delete(
        "/{user_id:str}/mfa",
        summary="Turn off a colleague's two-step verification",
        description="For a colleague who lost their phone and their recovery codes.",
        status_code=204,
        opt=needs(Permission.USERS_MANAGE),
        responses=problems(401, 403, 404),
    )
    async def reset_mfa(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        user_id: FromPath[str],
    ) -> None:
        removal = MfaRemoval(
            clinic_id=principal_of(request).clinic_id, user_id=user_id, actor=actor_of(request)
        )
        await container.turn_off_mfa()(removal)
