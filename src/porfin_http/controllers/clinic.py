"""The caller's clinic and its settings: ``/api/v1/clinic``."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, Request, get, patch
from litestar.di import NamedDependency
from litestar.params import JSONBody

from porfin_core.permissions import Permission
from porfin_core.use_cases.update_clinic import ChangeClinic, Interval
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import WEEKDAYS, ClinicOut, ClinicPatch, OptionalText


def _clearable(value: OptionalText) -> str | None:
    """Absent: no change (None); null: remove (``""``); a value: that value."""
    if value is msgspec.UNSET:
        return None
    return "" if value is None else value


class ClinicController(Controller):
    """Everyone sees the clinic's settings; administrators change them."""

    path = "/clinic"
    tags = ["clinic"]
    security = BEARER

    @get(
        "/",
        summary="Get the clinic's settings",
        opt=needs(Permission.CLINIC_VIEW),
        responses=problems(401, 403),
    )
    async def get_clinic(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> ClinicOut:
        clinic = await container.get_clinic()(principal_of(request).clinic_id)
        return ClinicOut.of(clinic)

    @patch(
        "/",
        summary="Change the clinic's settings",
        description="Name, time zone, phone, address and opening hours, all or nothing; "
        "recorded in the audit log (`clinic.update`).",
        opt=needs(Permission.CLINIC_MANAGE),
        responses=problems(400, 401, 403, 422),
    )
    async def update_clinic(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ClinicPatch],
    ) -> ClinicOut:
        hours = data.business_hours
        clinic = await container.update_clinic()(
            ChangeClinic(
                clinic_id=principal_of(request).clinic_id,
                name=data.name,
                timezone=data.timezone,
                phone=_clearable(data.phone),
                address=_clearable(data.address),
                city=_clearable(data.city),
                state=_clearable(data.state),
                business_hours=None
                if hours is None
                else [Interval(WEEKDAYS.index(h.weekday) + 1, h.opens, h.closes) for h in hours],
                reminders=data.reminders,
                pix_key=_clearable(data.pix_key),
                pix_merchant_name=_clearable(data.pix_merchant_name),
                pix_merchant_city=_clearable(data.pix_merchant_city),
                ai_resume_after_hours=data.ai_resume_after_hours,
                actor=actor_of(request),
            )
        )
        return ClinicOut.of(clinic)
