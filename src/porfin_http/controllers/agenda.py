"""A day of the agenda, as the front desk reads it: ``GET /api/v1/agenda``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.get_agenda import AgendaQuery
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import AgendaOut


class AgendaController(Controller):
    """The agenda is the whole front desk's: every role sees every professional's day."""

    path = "/agenda"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="A day of the agenda",
        description="One column per professional (every active one, or the one asked for; "
        "an inactive one only with appointments that day), each appointment with the "
        "patient's and the type's names, by start, in the clinic's time zone. `date` "
        "defaults to today there. Not audited, like the other lists.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403, 404),
    )
    async def get_agenda(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        day: Annotated[
            date | None, QueryParameter(name="date", description="The local date.")
        ] = None,
        professional_id: Annotated[
            str | None,
            QueryParameter(min_length=1, max_length=200, description="Only this column."),
        ] = None,
        include_cancelled: Annotated[
            bool, QueryParameter(description="False leaves cancelled appointments out.")
        ] = True,
    ) -> AgendaOut:
        agenda = await container.get_agenda()(
            AgendaQuery(
                clinic_id=principal_of(request).clinic_id,
                day=day,
                professional_id=professional_id,
                include_cancelled=include_cancelled,
            )
        )
        return AgendaOut.of(agenda)
