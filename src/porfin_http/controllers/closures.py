"""Times the whole clinic is closed: ``/api/v1/closures``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.add_closure import NewClosure
from porfin_core.use_cases.remove_closure import ClosureRemoval
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import AppointmentOut, ClosureAddedOut, ClosureIn, ClosureOut


class ClosureController(Controller):
    """Collective vacations, bridge days, an afternoon off: no slot is offered inside them
    (holidays of the clinic's state and city need no closure)."""

    path = "/closures"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="List closures",
        description="By start; those that ended only with `past=true`.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403),
    )
    async def list_closures(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        past: Annotated[bool, Parameter(description="Also list closures that ended.")] = False,
    ) -> list[ClosureOut]:
        found = await container.list_closures()(principal_of(request).clinic_id, include_past=past)
        return [ClosureOut.of(c) for c in found]

    @post(
        "/",
        summary="Add a closure",
        description="Whole local dates (`first_day`, `last_day`) or two instants (`start`, "
        "`end`). The answer lists the appointments inside it, which are not moved. Recorded "
        "in the audit log (`closure.add`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(400, 401, 403, 422),
    )
    async def add_closure(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ClosureIn],
    ) -> ClosureAddedOut:
        added = await container.add_closure()(
            NewClosure(
                clinic_id=principal_of(request).clinic_id,
                reason=data.reason,
                first_day=data.first_day,
                last_day=data.last_day,
                start=data.start,
                end=data.end,
                actor=actor_of(request),
            )
        )
        return ClosureAddedOut(
            ClosureOut.of(added.closure), [AppointmentOut.of(a) for a in added.affected]
        )

    @delete(
        "/{closure_id:str}",
        summary="Remove a closure",
        description="Its time is bookable again. Recorded in the audit log (`closure.remove`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(401, 403, 404),
    )
    async def remove_closure(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        closure_id: FromPath[str],
    ) -> None:
        await container.remove_closure()(
            ClosureRemoval(
                clinic_id=principal_of(request).clinic_id,
                closure_id=closure_id,
                actor=actor_of(request),
            )
        )
