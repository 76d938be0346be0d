"""The clinic's professionals and when they work: ``/api/v1/professionals``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.create_professional import NewProfessional
from porfin_core.use_cases.update_professional import ChangeProfessional
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import (
    ProfessionalIn,
    ProfessionalOut,
    ProfessionalPatch,
    WeeklyRange,
)


def _ranges(ranges: list[WeeklyRange] | None) -> list[Any] | None:
    return None if ranges is None else [r.command() for r in ranges]


class ProfessionalController(Controller):
    """Everyone sees who works when; administrators and managers set it up."""

    path = "/professionals"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="List professionals",
        description="Oldest first; inactive ones only with `inactive=true`.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403),
    )
    async def list_professionals(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        inactive: Annotated[
            bool, Parameter(description="Also list professionals who no longer take bookings.")
        ] = False,
    ) -> list[ProfessionalOut]:
        found = await container.list_professionals()(
            principal_of(request).clinic_id, include_inactive=inactive
        )
        return [ProfessionalOut.of(p) for p in found]

    @post(
        "/",
        summary="Add a professional",
        description="With weekly hours, breaks and date exceptions (local times in the "
        "clinic's time zone); recorded in the audit log (`professional.create`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(400, 401, 403, 422),
    )
    async def create_professional(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ProfessionalIn],
    ) -> ProfessionalOut:
        professional = await container.create_professional()(
            NewProfessional(
                clinic_id=principal_of(request).clinic_id,
                name=data.name,
                kind=data.kind,
                hours=_ranges(data.hours) or (),
                breaks=_ranges(data.breaks) or (),
                exceptions=[e.command() for e in data.exceptions],
                actor=actor_of(request),
            )
        )
        return ProfessionalOut.of(professional)

    @get(
        "/{professional_id:str}",
        summary="Get a professional",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_professional(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
    ) -> ProfessionalOut:
        professional = await container.get_professional()(
            principal_of(request).clinic_id, professional_id
        )
        return ProfessionalOut.of(professional)

    @patch(
        "/{professional_id:str}",
        summary="Change a professional",
        description="Name, kind, weekly hours, breaks, date exceptions, active; lists are "
        "replaced whole. Existing appointments never move: new hours shape new bookings. "
        "Recorded in the audit log (`professional.update`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def update_professional(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        professional_id: FromPath[str],
        data: JSONBody[ProfessionalPatch],
    ) -> ProfessionalOut:
        exceptions = data.exceptions
        professional = await container.update_professional()(
            ChangeProfessional(
                clinic_id=principal_of(request).clinic_id,
                professional_id=professional_id,
                name=data.name,
                kind=data.kind,
                hours=_ranges(data.hours),
                breaks=_ranges(data.breaks),
                exceptions=None if exceptions is None else [e.command() for e in exceptions],
                active=data.active,
                actor=actor_of(request),
            )
        )
        return ProfessionalOut.of(professional)
