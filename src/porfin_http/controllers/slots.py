"""Free times to offer patients: ``GET /api/v1/slots``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from porfin_core.domain.availability import MAX_SLOTS
from porfin_core.permissions import Permission
from porfin_core.use_cases.find_free_slots import SlotRequest
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import DayPeriodName, SlotOut


class SlotController(Controller):
    """The first free slots for an appointment type."""

    path = "/slots"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="Find free slots",
        description="The first `limit` slots for the type, by start then professional, in the "
        "clinic's time zone: within each professional's hours (minus breaks, exceptions, the "
        "clinic's closures and the holidays of its state and city), clear of other "
        "appointments and their buffers, never in the past. Candidates every 15 minutes. "
        "`from` defaults to today, `to` to 13 days after `from` (at most 92 days in all); "
        "`period` (repeatable) keeps slots starting in those parts of the day.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def find_free_slots(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        type_id: Annotated[
            str, QueryParameter(min_length=1, max_length=200, description="Appointment type.")
        ],
        professional_id: Annotated[
            str | None,
            QueryParameter(
                min_length=1, max_length=200, description="Only this professional's slots."
            ),
        ] = None,
        first_day: Annotated[
            date | None, QueryParameter(name="from", description="First local date.")
        ] = None,
        last_day: Annotated[
            date | None, QueryParameter(name="to", description="Last local date (included).")
        ] = None,
        period: Annotated[
            list[DayPeriodName] | None,
            QueryParameter(max_items=3, description="`manha`, `tarde` or `noite`."),
        ] = None,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_SLOTS, description="How many slots.")
        ] = 10,
    ) -> list[SlotOut]:
        slots = await container.find_free_slots()(
            SlotRequest(
                clinic_id=principal_of(request).clinic_id,
                type_id=type_id,
                professional_id=professional_id,
                first_day=first_day,
                last_day=last_day,
                periods=period or (),
                limit=limit,
            )
        )
        return [SlotOut.of(s) for s in slots]
