"""Patients' appointments: ``/api/v1/appointments``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.book_with_any_professional import BookingRequest
from porfin_core.use_cases.cancel_appointment import Cancellation
from porfin_core.use_cases.confirm_appointment import Confirmation
from porfin_core.use_cases.list_appointments import MAX_APPOINTMENTS, AppointmentFilter
from porfin_core.use_cases.mark_attended import Attendance
from porfin_core.use_cases.mark_no_show import MissedAppointment
from porfin_core.use_cases.reschedule_appointment import NewTime
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems, slot_taken_problems
from porfin_http.scheduling_schemas import (
    AppointmentIn,
    AppointmentOut,
    CancelIn,
    FreedSlotOut,
    RescheduleIn,
)

Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=200)]


class AppointmentController(Controller):
    """The clinic's appointments. Every role sees and books them (the agenda is the whole
    front desk's); every change is audited and announced as an `appointment.*` event."""

    path = "/appointments"
    tags = ["agenda"]
    security = BEARER

    @get(
        "/",
        summary="List appointments",
        description="By start, then id: of the local dates `from` to `to` (default: `from`; "
        "at most 92 days), of a professional, of a patient (`customer_id` alone: all of "
        "theirs); filters combine with AND. Dates or a patient are required. At most "
        "`limit` (the earliest); no cursor.",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(400, 401, 403, 422),
    )
    async def list_appointments(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        first_day: Annotated[
            date | None, QueryParameter(name="from", description="First local date.")
        ] = None,
        last_day: Annotated[
            date | None, QueryParameter(name="to", description="Last local date (included).")
        ] = None,
        professional_id: Filter = None,
        customer_id: Filter = None,
        include_cancelled: Annotated[
            bool, QueryParameter(description="False leaves cancelled appointments out.")
        ] = True,
        limit: Annotated[
            int, QueryParameter(ge=1, le=MAX_APPOINTMENTS, description="At most this many.")
        ] = 500,
    ) -> list[AppointmentOut]:
        found = await container.list_appointments()(
            AppointmentFilter(
                clinic_id=principal_of(request).clinic_id,
                first_day=first_day,
                last_day=last_day,
                professional_id=professional_id,
                customer_id=customer_id,
                include_cancelled=include_cancelled,
                limit=limit,
            )
        )
        return [AppointmentOut.of(a) for a in found]

    @post(
        "/",
        summary="Book an appointment",
        description="Status `requested`, source `staff`. The time must fit the professional's "
        "agenda (hours, breaks, closures, holidays, other appointments with their buffers); "
        "it need not be on a slot step. Without `professional_id`, the first professional "
        "who performs the type and is free then. Two bookings of one time never both "
        "succeed: the other gets `409 slot_taken` with the three nearest free "
        "`alternatives`. Recorded in the audit log (`appointment.book`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        responses=slot_taken_problems(400, 401, 403, 404, 409, 422),
    )
    async def book_appointment(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[AppointmentIn],
    ) -> AppointmentOut:
        appointment = await container.book_with_any_professional()(
            BookingRequest(
                clinic_id=principal_of(request).clinic_id,
                customer_id=data.customer_id,
                type_id=data.type_id,
                start=data.start,
                professional_id=data.professional_id,
                notes=data.notes,
                chat_id=data.chat_id,
                waitlist_entry_id=data.waitlist_entry_id,
                actor=actor_of(request),
            )
        )
        return AppointmentOut.of(appointment)

    @get(
        "/{appointment_id:str}",
        summary="Get an appointment",
        description="With its history. The read is recorded in the audit log (`appointment.read`).",
        opt=needs(Permission.SCHEDULE_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_appointment(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
    ) -> AppointmentOut:
        appointment = await container.get_appointment()(
            principal_of(request).clinic_id, appointment_id, actor=actor_of(request)
        )
        return AppointmentOut.of(appointment)

    @post(
        "/{appointment_id:str}/reschedule",
        summary="Reschedule an appointment",
        description="Same professional and duration, with the same guarantee as booking "
        "(`409 slot_taken` with `alternatives`); the appointment waits for confirmation "
        "again (`requested`). The old slot is offered to the first waitlisted patient who "
        "wants it (`offered_to`). A final appointment is `409 invalid_state`. Recorded in "
        "the audit log (`appointment.reschedule`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        status_code=200,
        responses=slot_taken_problems(400, 401, 403, 404, 409, 422),
    )
    async def reschedule_appointment(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
        data: JSONBody[RescheduleIn],
    ) -> FreedSlotOut:
        moved = await container.reschedule_appointment()(
            NewTime(
                clinic_id=principal_of(request).clinic_id,
                appointment_id=appointment_id,
                start=data.start,
                actor=actor_of(request),
            )
        )
        return FreedSlotOut.of(moved.appointment, moved.offered_to)

    @post(
        "/{appointment_id:str}/cancel",
        summary="Cancel an appointment",
        description="Final; its time is free again and offered to the first waitlisted "
        "patient who wants it (`offered_to`). The body (`reason`) may be left out. A final "
        "appointment is `409 invalid_state`. Recorded in the audit log "
        "(`appointment.cancel`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        status_code=200,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def cancel_appointment(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
        data: JSONBody[CancelIn | None] = None,
    ) -> FreedSlotOut:
        cancelled = await container.cancel_appointment()(
            Cancellation(
                clinic_id=principal_of(request).clinic_id,
                appointment_id=appointment_id,
                reason=data.reason if data is not None else "",
                actor=actor_of(request),
            )
        )
        return FreedSlotOut.of(cancelled.appointment, cancelled.offered_to)

    @post(
        "/{appointment_id:str}/confirm",
        summary="Confirm an appointment",
        description="The patient will come. Confirming a confirmed appointment changes "
        "nothing; a final one is `409 invalid_state`. Recorded in the audit log "
        "(`appointment.confirm`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def confirm_appointment(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
    ) -> AppointmentOut:
        appointment = await container.confirm_appointment()(
            Confirmation(
                clinic_id=principal_of(request).clinic_id,
                appointment_id=appointment_id,
                actor=actor_of(request),
            )
        )
        return AppointmentOut.of(appointment)

    @post(
        "/{appointment_id:str}/attended",
        summary="Mark an appointment attended",
        description="The patient came (final). From two hours before the start; earlier, or "
        "a final appointment, is `409 invalid_state`. Recorded in the audit log "
        "(`appointment.attended`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def mark_attended(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
    ) -> AppointmentOut:
        appointment = await container.mark_attended()(
            Attendance(
                clinic_id=principal_of(request).clinic_id,
                appointment_id=appointment_id,
                actor=actor_of(request),
            )
        )
        return AppointmentOut.of(appointment)

    @post(
        "/{appointment_id:str}/no-show",
        summary="Mark an appointment as a no-show",
        description="The patient did not come (final). Only once it has started; before, or "
        "a final appointment, is `409 invalid_state`. Recorded in the audit log "
        "(`appointment.no_show`).",
        opt=needs(Permission.APPOINTMENTS_MANAGE),
        status_code=200,
        responses=problems(401, 403, 404, 409),
    )
    async def mark_no_show(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        appointment_id: FromPath[str],
    ) -> AppointmentOut:
        appointment = await container.mark_no_show()(
            MissedAppointment(
                clinic_id=principal_of(request).clinic_id,
                appointment_id=appointment_id,
                actor=actor_of(request),
            )
        )
        return AppointmentOut.of(appointment)
