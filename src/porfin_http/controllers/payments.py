"""The clinic's payment gateway (``/api/v1/clinic/payment-gateway``) and the gateways'
webhooks (``POST /webhooks/payments/{provider}/{clinic_id}``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from porfin_core.domain.clinic import Clinic
from porfin_core.domain.payment_gateway import GATEWAY_SETTINGS
from porfin_core.permissions import Permission
from porfin_core.use_cases.configure_payment_gateway import GatewayChoice
from porfin_core.use_cases.receive_payment_webhook import PaymentWebhook
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, PAYMENT_SIGNATURE, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems

_SETTINGS_DOC = "; ".join(
    f"`{provider.value}`: "
    + ", ".join(f"`{s.name}`{'' if s.required else ' (optional)'}" for s in settings)
    for provider, settings in GATEWAY_SETTINGS.items()
)


class PaymentGatewayIn(msgspec.Struct, forbid_unknown_fields=True):
    """The gateway and its account's settings (credentials are stored in the secret store;
    only their last four characters are ever shown)."""

    provider: Annotated[str, msgspec.Meta(description="`asaas` or `mercadopago`.")]
    settings: Annotated[
        dict[
            Annotated[str, msgspec.Meta(max_length=64)],
            Annotated[str, msgspec.Meta(max_length=600)],
        ],
        msgspec.Meta(max_length=10, description=_SETTINGS_DOC),
    ]


class PaymentGatewayOut(msgspec.Struct):
    """The clinic's gateway (`provider` `embedded`: none, static PIX confirmed by staff),
    its plain settings, the hints of its credentials and the webhook URL path to set at the
    gateway."""

    provider: str
    settings: dict[str, str]
    secret_hints: dict[str, str | None]
    webhook_path: str | None

    @classmethod
    def of(cls, clinic: Clinic) -> PaymentGatewayOut:
        """Present the clinic's gateway."""
        config = clinic.payment_gateway
        if config is None:
            return cls("embedded", {}, {}, None)
        return cls(
            config.provider.value,
            dict(config.settings),
            {name: ref.hint for name, ref in config.secrets.items()},
            f"/webhooks/payments/{config.provider.value}/{clinic.id}",
        )


class PaymentWebhookOut(msgspec.Struct):
    """How many notices the call carried, applied and ignored (charges Porfin did not
    issue)."""

    notices: int
    applied: int
    ignored: int


class PaymentGatewayController(Controller):
    """Which gateway the clinic's new charges go through."""

    path = "/clinic/payment-gateway"
    tags = ["charges"]
    security = BEARER

    @get(
        "/",
        summary="Show the payment gateway",
        opt=needs(Permission.CLINIC_VIEW),
        responses=problems(401, 403),
    )
    async def show_gateway(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> PaymentGatewayOut:
        clinic = await container.get_clinic()(principal_of(request).clinic_id)
        return PaymentGatewayOut.of(clinic)

    @put(
        "/",
        summary="Set the payment gateway",
        description="New charges go through the gateway (charges issued before keep theirs). "
        f"Settings: {_SETTINGS_DOC}. Set the gateway's webhook to `webhook_path` on this "
        "server. Recorded in the audit log (`clinic.payment_gateway`, names only).",
        opt=needs(Permission.CLINIC_MANAGE),
        responses=problems(400, 401, 403, 422),
    )
    async def set_gateway(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: JSONBody[PaymentGatewayIn],
    ) -> PaymentGatewayOut:
        clinic = await container.configure_payment_gateway()(
            GatewayChoice(
                clinic_id=principal_of(request).clinic_id,
                provider=data.provider,
                settings=data.settings,
                actor=actor_of(request),
            )
        )
        return PaymentGatewayOut.of(clinic)

    @delete(
        "/",
        summary="Go back to the embedded PIX",
        description="New charges are static PIX codes for the clinic's key, confirmed by "
        "staff. The gateway's credentials are deleted from the secret store.",
        opt=needs(Permission.CLINIC_MANAGE),
        responses=problems(401, 403),
        status_code=200,
    )
    async def remove_gateway(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> PaymentGatewayOut:
        clinic = await container.configure_payment_gateway()(
            GatewayChoice(
                clinic_id=principal_of(request).clinic_id,
                provider=None,
                actor=actor_of(request),
            )
        )
        return PaymentGatewayOut.of(clinic)


@post(
    "/webhooks/payments/{provider:str}/{clinic_id:str}",
    summary="Payment gateway webhook",
    description="Asaas (`asaas-access-token`) or Mercado Pago (`x-signature`) notifications "
    "for the clinic's account. A bad token or signature is `401` and changes nothing; "
    "replays and out-of-order notices change each charge at most once. Notices about "
    "charges Porfin did not issue are ignored. See docs/payments.md.",
    status_code=200,
    security=PAYMENT_SIGNATURE,
    tags=["webhooks"],
    responses=problems(400, 401, 404, 422, 502),
)
async def payment_webhook(
    request: Request[Any, Any, Any],
    container: NamedDependency[Services],
    provider: FromPath[str],
    clinic_id: FromPath[str],
) -> PaymentWebhookOut:
    """Verify and apply one gateway notification."""
    outcome = await container.receive_payment_webhook()(
        PaymentWebhook(
            clinic_id=clinic_id,
            provider=provider,
            headers=dict(request.headers),
            body=await request.body(),
            query=dict(request.query_params),
        )
    )
    return PaymentWebhookOut(outcome.notices, outcome.applied, outcome.ignored)
