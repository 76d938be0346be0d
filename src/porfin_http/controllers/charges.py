"""Charges (cobranças) and their payments: ``/api/v1/charges``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from porfin_core.permissions import Permission
from porfin_core.use_cases.cancel_charge import ChargeCancellation
from porfin_core.use_cases.create_charge import NewCharge
from porfin_core.use_cases.list_charges import ChargeQuery
from porfin_core.use_cases.mark_charge_paid import PaymentReceived
from porfin_core.use_cases.refund_charge import Refund
from porfin_core.use_cases.sync_charge import ChargeSync
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.charge_schemas import (
    ChargeCancelIn,
    ChargeIn,
    ChargeOut,
    MarkPaidIn,
    RefundIn,
)
from porfin_http.deps import Services
from porfin_http.problems import problems

Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=200)]


class ChargeController(Controller):
    """The clinic's charges. With no payment gateway (the embedded default) a charge is a
    static PIX code for the clinic's key, sent in the patient's chat, and staff confirm the
    payment; every change is audited and announced as a `charge.*` event."""

    path = "/charges"
    tags = ["charges"]
    security = BEARER

    @get(
        "/",
        summary="List charges",
        description="Newest first; of a patient (`customer_id`) and/or in a `status` "
        "(`pending`, `paid`, `expired`, `cancelled`, `refunded`).",
        opt=needs(Permission.CHARGES_VIEW),
        responses=problems(400, 401, 403, 422),
    )
    async def list_charges(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        customer_id: Filter = None,
        status: Filter = None,
    ) -> list[ChargeOut]:
        found = await container.list_charges()(
            ChargeQuery(
                clinic_id=principal_of(request).clinic_id, customer_id=customer_id, status=status
            )
        )
        return [ChargeOut.of(c) for c in found]

    @post(
        "/",
        summary="Issue a charge",
        description="A static PIX code (BR Code) for the clinic's PIX key with the amount and "
        "a txid made from the charge's id, sent in the patient's chat as the \"copia e cola\" "
        "text and a QR image (not sent when the patient has no chat on an active channel or "
        "their 24-hour window is closed). `422` with field `pix_key` when the clinic has no "
        "PIX key (`PATCH /api/v1/clinic`). With a payment gateway "
        "(`PUT /api/v1/clinic/payment-gateway`) the gateway creates the charge and its PIX "
        "code; if it cannot be reached the charge is answered without `br_code` and Porfin "
        "keeps trying, then delivers it. With `payment_link: true` (Asaas) the patient gets "
        "the gateway's payment page instead (PIX, boleto or card in up to `max_installments` "
        "instalments). Recorded in the audit log (`charge.create`).",
        opt=needs(Permission.CHARGES_MANAGE),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def create_charge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[ChargeIn],
    ) -> ChargeOut:
        issued = await container.create_charge()(
            NewCharge(
                clinic_id=principal_of(request).clinic_id,
                customer_id=data.customer_id,
                amount_cents=data.amount_cents,
                description=data.description,
                due_date=data.due_date,
                expires_at=data.expires_at,
                appointment_id=data.appointment_id,
                chat_id=data.chat_id,
                deliver=data.deliver,
                payer_document=data.payer_document,
                payer_email=data.payer_email,
                payment_link=data.payment_link,
                max_installments=data.max_installments,
                actor=actor_of(request),
            )
        )
        return ChargeOut.of(issued.charge)

    @get(
        "/{charge_id:str}",
        summary="Get a charge",
        description="With its history and its transactions (the money log).",
        opt=needs(Permission.CHARGES_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_charge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        charge_id: FromPath[str],
    ) -> ChargeOut:
        details = await container.get_charge()(principal_of(request).clinic_id, charge_id)
        return ChargeOut.detailed(details)

    @post(
        "/{charge_id:str}/mark-paid",
        summary="Record a payment",
        description="Staff saw the money arrive. Without `amount_cents`, everything still "
        "due; less is a partial payment and the charge stays `pending` until the payments "
        "reach its amount. Appended to the transaction log with who and when; `409 "
        "invalid_state` unless pending. Recorded in the audit log (`charge.mark_paid`).",
        opt=needs(Permission.CHARGES_MANAGE),
        responses=problems(400, 401, 403, 404, 409, 422),
        status_code=200,
    )
    async def mark_charge_paid(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        charge_id: FromPath[str],
        data: JSONBody[MarkPaidIn | None] = None,
    ) -> ChargeOut:
        body = data or MarkPaidIn()
        await container.mark_charge_paid()(
            PaymentReceived(
                clinic_id=principal_of(request).clinic_id,
                charge_id=charge_id,
                amount_cents=body.amount_cents,
                paid_at=body.paid_at,
                reference=body.reference,
                actor=actor_of(request),
            )
        )
        details = await container.get_charge()(principal_of(request).clinic_id, charge_id)
        return ChargeOut.detailed(details)

    @post(
        "/{charge_id:str}/cancel",
        summary="Cancel a charge",
        description="Final; `409 invalid_state` unless pending. Recorded in the audit log "
        "(`charge.cancel`).",
        opt=needs(Permission.CHARGES_MANAGE),
        responses=problems(400, 401, 403, 404, 409, 422),
        status_code=200,
    )
    async def cancel_charge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        charge_id: FromPath[str],
        data: JSONBody[ChargeCancelIn | None] = None,
    ) -> ChargeOut:
        charge = await container.cancel_charge()(
            ChargeCancellation(
                clinic_id=principal_of(request).clinic_id,
                charge_id=charge_id,
                reason=(data or ChargeCancelIn()).reason,
                actor=actor_of(request),
            )
        )
        return ChargeOut.of(charge)

    @post(
        "/{charge_id:str}/refund",
        summary="Record a refund",
        description="The clinic sent a paid embedded-PIX charge's money back: the charge "
        "becomes `refunded` and the refund is appended to the transaction log. A gateway's "
        "charge is refunded at the gateway (`422`, field `provider`), which reports it. `409 "
        "invalid_state` unless paid. Recorded in the audit log (`charge.refund`).",
        opt=needs(Permission.CHARGES_MANAGE),
        responses=problems(400, 401, 403, 404, 409, 422),
        status_code=200,
    )
    async def refund_charge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        charge_id: FromPath[str],
        data: JSONBody[RefundIn | None] = None,
    ) -> ChargeOut:
        clinic_id = principal_of(request).clinic_id
        await container.refund_charge()(
            Refund(
                clinic_id=clinic_id,
                charge_id=charge_id,
                reference=(data or RefundIn()).reference,
                actor=actor_of(request),
            )
        )
        return ChargeOut.detailed(await container.get_charge()(clinic_id, charge_id))

    @post(
        "/{charge_id:str}/sync",
        summary="Ask the gateway about a charge",
        description="Creates a gateway's charge the gateway has not created yet, or applies "
        "the gateway's current state (a payment whose webhook was missed). An embedded "
        "charge is returned unchanged. `502` when the gateway cannot be reached.",
        opt=needs(Permission.CHARGES_MANAGE),
        responses=problems(401, 403, 404, 422, 502),
        status_code=200,
    )
    async def sync_charge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        charge_id: FromPath[str],
    ) -> ChargeOut:
        clinic_id = principal_of(request).clinic_id
        await container.sync_charge()(
            ChargeSync(
                clinic_id=clinic_id,
                charge_id=charge_id,
                source="staff",
                actor=actor_of(request),
            )
        )
        return ChargeOut.detailed(await container.get_charge()(clinic_id, charge_id))
