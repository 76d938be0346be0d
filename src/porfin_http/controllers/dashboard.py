"""Today's figures for the front desk: ``GET /api/v1/dashboard``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.get_dashboard import DashboardQuery
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import (
    AppointmentCountsOut,
    ChatsHandledOut,
    DashboardOut,
    FirstResponseOut,
)


class DashboardController(Controller):
    """Aggregates of one clinic day: no patient's data, not audited."""

    path = "/dashboard"
    tags = ["dashboard"]
    security = BEARER

    @get(
        "/",
        summary="A day in figures",
        description="The day's appointments by status, the chats waiting for a person now "
        "and the longest wait, new leads, the median time to a first answer, chats answered "
        "by the AI alone or by a person, and patient messages per hour, in the clinic's time "
        "zone. `date` defaults to today there.",
        opt=needs(Permission.ANALYTICS_BASIC),
        responses=problems(400, 401, 403),
    )
    async def get_dashboard(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        day: Annotated[
            date | None, QueryParameter(name="date", description="The local date, YYYY-MM-DD.")
        ] = None,
    ) -> DashboardOut:
        principal = principal_of(request)
        figures = await container.get_dashboard()(
            DashboardQuery(clinic_id=principal.clinic_id, day=day, viewer=principal)
        )
        return DashboardOut(
            date=figures.day.isoformat(),
            timezone=figures.timezone,
            appointments=AppointmentCountsOut(
                total=figures.appointments_total, by_status=figures.appointments_by_status
            ),
            chats_waiting=figures.chats_waiting,
            longest_wait_seconds=figures.longest_wait_seconds,
            new_leads=figures.new_leads,
            first_response=FirstResponseOut(
                median_seconds=figures.first_response_median_seconds,
                count=figures.first_response_count,
            ),
            chats_handled=ChatsHandledOut(
                ai=figures.chats_handled_ai, human=figures.chats_handled_human
            ),
            patient_messages_by_hour=figures.patient_messages_by_hour,
        )
