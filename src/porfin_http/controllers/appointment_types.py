"""What patients can book: ``/api/v1/appointment-types``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.create_appointment_type import NewAppointmentType
from porfin_core.use_cases.update_appointment_type import ChangeAppointmentType
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.scheduling_schemas import (
    AppointmentTypeIn,
    AppointmentTypeOut,
    AppointmentTypePatch,
)


class AppointmentTypeController(Controller):
    """Everyone sees the types and prices; administrators and managers set them."""

    path = "/appointment-types"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="List appointment types",
        description="Oldest first; inactive ones only with `inactive=true`.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403),
    )
    async def list_appointment_types(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        inactive: Annotated[
            bool, Parameter(description="Also list types that can no longer be booked.")
        ] = False,
    ) -> list[AppointmentTypeOut]:
        found = await container.list_appointment_types()(
            principal_of(request).clinic_id, include_inactive=inactive
        )
        return [AppointmentTypeOut.of(t) for t in found]

    @post(
        "/",
        summary="Add an appointment type",
        description="Recorded in the audit log (`appointment_type.create`). A professional "
        "not of the clinic in `professional_ids` is `422`.",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(400, 401, 403, 422),
    )
    async def create_appointment_type(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[AppointmentTypeIn],
    ) -> AppointmentTypeOut:
        kind = await container.create_appointment_type()(
            NewAppointmentType(
                clinic_id=principal_of(request).clinic_id,
                name=data.name,
                duration_minutes=data.duration_minutes,
                price_cents=data.price_cents,
                buffer_before_minutes=data.buffer_before_minutes,
                buffer_after_minutes=data.buffer_after_minutes,
                professional_ids=data.professional_ids,
                actor=actor_of(request),
            )
        )
        return AppointmentTypeOut.of(kind)

    @patch(
        "/{type_id:str}",
        summary="Change an appointment type",
        description="Name, duration, price, buffers, who performs it, active. Booked "
        "appointments keep their duration and buffers. Recorded in the audit log "
        "(`appointment_type.update`).",
        opt=needs(Permission.SCHEDULE_MANAGE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def update_appointment_type(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        type_id: FromPath[str],
        data: JSONBody[AppointmentTypePatch],
    ) -> AppointmentTypeOut:
        kind = await container.update_appointment_type()(
            ChangeAppointmentType(
                clinic_id=principal_of(request).clinic_id,
                type_id=type_id,
                name=data.name,
                duration_minutes=data.duration_minutes,
                price_cents=data.price_cents,
                buffer_before_minutes=data.buffer_before_minutes,
                buffer_after_minutes=data.buffer_after_minutes,
                professional_ids=data.professional_ids,
                active=data.active,
                actor=actor_of(request),
            )
        )
        return AppointmentTypeOut.of(kind)
