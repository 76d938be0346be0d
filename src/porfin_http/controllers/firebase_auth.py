"""Logging in with Firebase Authentication: ``POST /api/v1/auth/firebase`` (public)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import JSONBody

from porfin_core.use_cases.log_in_with_identity_provider import IdentityProviderToken
from porfin_http.actors import origin_of
from porfin_http.auth import PUBLIC
from porfin_http.controllers.auth import _session
from porfin_http.deps import Services
from porfin_http.problems import MEDIA_TYPE, Problem, problems
from porfin_http.schemas import FirebaseLoginIn, SessionOut

_PATH = "/api/v1/auth/firebase"


def _problem(status: int, code: str, title: str, detail: str, **extra: Any) -> ResponseSpec:
    value = {
        "type": f"urn:porfin:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": _PATH,
        "code": code,
        **extra,
    }
    return ResponseSpec(
        data_container=Problem,
        media_type=MEDIA_TYPE,
        description="Problem details (RFC 9457)",
        generate_examples=False,
        examples=[Example(summary=detail, value=value)],
    )


_RESPONSES = {
    **problems(400),
    401: _problem(
        401,
        "invalid_credentials",
        "Invalid credentials",
        "Firebase ID token expired",
        reason="expired",
    ),
    404: _problem(
        404,
        "not_found",
        "Not found",
        "sign-in with firebase is not enabled on this installation",
        provider="firebase",
    ),
    423: _problem(
        423,
        "account_locked",
        "Account locked",
        "too many failed logins; the account is locked for a while",
        retry_after=840,
    ),
    503: _problem(
        503,
        "identity_provider_unavailable",
        "Identity provider unavailable",
        "The identity provider cannot be reached; try again later.",
    ),
}


class FirebaseAuthController(Controller):
    """Sessions opened with a Firebase ID token instead of a password."""

    path = "/auth"
    tags = ["auth"]
    security = PUBLIC

    @post(
        "/firebase",
        summary="Log in with Firebase",
        description="Trades a Firebase Authentication ID token for a Porfin session: the same "
        "answer as `/auth/login`. The token must be genuine and current (RS256, signed by "
        "Google, for this installation's Firebase project) and vouch for a **verified** "
        "e-mail; the account is the active staff account with that e-mail. `401` says why a "
        "token was refused in `reason` (`expired`, `audience`, `signature`, "
        "`email_not_verified`, `no_account`, `mfa_enabled`...). `404` when Firebase sign-in "
        "is not configured (`PORFIN_FIREBASE_PROJECT_ID`); `503` when Google's keys cannot "
        "be fetched.",
        status_code=200,
        responses=_RESPONSES,
    )
    async def firebase(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[FirebaseLoginIn],
    ) -> Response[SessionOut]:
        command = IdentityProviderToken(
            provider="firebase", token=data.id_token, origin=origin_of(request)
        )
        session = await container.log_in_with_identity_provider()(command)
        return _session(session, container.clock().now())
