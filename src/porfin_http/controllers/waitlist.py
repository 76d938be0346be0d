"""Patients waiting for a slot: ``/api/v1/waitlist``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.join_waitlist import WaitlistRequest
from porfin_core.use_cases.list_waitlist import WaitlistFilter
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import WaitlistEntryOut, WaitlistIn

Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=200)]


class WaitlistController(Controller):
    """The line for freed slots: a cancelled or moved appointment's slot is offered to the
    first entry that wants it."""

    path = "/waitlist"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="List the waitlist",
        description="In line order (who joined first); entries waiting or holding an offer, "
        "booked and removed ones too with `closed=true`.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403),
    )
    async def list_waitlist(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        type_id: Filter = None,
        customer_id: Filter = None,
        closed: Annotated[
            bool, QueryParameter(description="Also list booked and removed entries.")
        ] = False,
    ) -> list[WaitlistEntryOut]:
        found = await container.list_waitlist()(
            WaitlistFilter(
                clinic_id=principal_of(request).clinic_id,
                type_id=type_id,
                customer_id=customer_id,
                include_closed=closed,
            )
        )
        return [WaitlistEntryOut.of(e) for e in found]

    @post(
        "/",
        summary="Put a patient on the waitlist",
        description="At the end of the line for the type. A patient already waiting (or "
        "holding an offer) for the type keeps their entry and place: it is returned "
        "unchanged. Recorded in the audit log (`waitlist.join`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def join_waitlist(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[WaitlistIn],
    ) -> WaitlistEntryOut:
        entry = await container.join_waitlist()(
            WaitlistRequest(
                clinic_id=principal_of(request).clinic_id,
                customer_id=data.customer_id,
                type_id=data.type_id,
                professional_id=data.professional_id,
                periods=data.periods,
                weekdays=data.weekday_numbers(),
                notes=data.notes,
                actor=actor_of(request),
            )
        )
        return WaitlistEntryOut.of(entry)
