"""The Litestar application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar, Router
from litestar.di import Provide
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme

import porfin_adapters.container as composition
from porfin_adapters.container import Container
from porfin_adapters.settings import Settings, load_settings
from porfin_adapters.tokens import ensure_admin_token
from porfin_http.auth import AccountCheck, api_guard, token_guard
from porfin_http.controllers.agenda import AgendaController
from porfin_http.controllers.appointment_types import AppointmentTypeController
from porfin_http.controllers.appointments import AppointmentController
from porfin_http.controllers.assistants import AssistantController, list_assistant_turns
from porfin_http.controllers.audit import AuditController
from porfin_http.controllers.auth import AuthController, MeController
from porfin_http.controllers.calendar import CalendarController, calendar_public_handlers
from porfin_http.controllers.channels import ChannelController
from porfin_http.controllers.charges import ChargeController
from porfin_http.controllers.chats import ChatController
from porfin_http.controllers.clinic import ClinicController
from porfin_http.controllers.closures import ClosureController
from porfin_http.controllers.customers import CustomerController
from porfin_http.controllers.dashboard import DashboardController
from porfin_http.controllers.evolution import evolution_webhook
from porfin_http.controllers.firebase_auth import FirebaseAuthController
from porfin_http.controllers.health import health, ready
from porfin_http.controllers.knowledge import KnowledgeController
from porfin_http.controllers.media import media_controller
from porfin_http.controllers.payments import PaymentGatewayController, payment_webhook
from porfin_http.controllers.professionals import ProfessionalController
from porfin_http.controllers.realtime import realtime_handler
from porfin_http.controllers.simulator import simulator_webhook
from porfin_http.controllers.slots import SlotController
from porfin_http.controllers.users import UserController
from porfin_http.controllers.waitlist import WaitlistController
from porfin_http.controllers.whatsapp_cloud import (
    CloudWebhookLane,
    cloud_webhook,
    cloud_webhook_verify,
)
from porfin_http.deps import Services
from porfin_http.logging import configure_logging
from porfin_http.operations import Operations
from porfin_http.problems import EXCEPTION_HANDLERS
from porfin_http.rate_limits import RATE_LIMIT_HEADERS, RateLimits, document_rate_limits
from porfin_http.realtime import Realtime

API_VERSION = "0.1.0"


def create_app(container: Container) -> Litestar:
    """Build the API around ``container``; storage opens in the app's lifespan."""
    settings: Settings = container.settings()
    token, _ = ensure_admin_token(settings)
    guard = token_guard(token)
    limits = RateLimits(container.rate_limiter(), container.clock(), settings)
    accounts = AccountCheck(container.get_staff_user(), container.clock())
    authorize = api_guard(
        token, container.access_tokens(), container.clock(), limits, accounts=accounts
    )
    services = Services(container)
    ops = Operations(settings)
    realtime = Realtime(settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        ops.subscribe(container.dispatcher())
        realtime.subscribe(container.dispatcher(), container.uow_factory(), container.clock())
        await composition.start(container)
        installation = await container.set_up_installation()()
        app.state.clinic_id = installation.clinic.id
        # Everything built so far lives as long as the process: keep it out of the cyclic
        # garbage collector's full passes, which otherwise show up as latency spikes.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await composition.stop(container)

    api = Router(
        path="/api/v1",
        route_handlers=[
            ChatController,
            ChannelController,
            CustomerController,
            ClinicController,
            media_controller(settings.max_upload_bytes),
            MeController,
            UserController,
            AuditController,
            ProfessionalController,
            AppointmentTypeController,
            ClosureController,
            SlotController,
            AppointmentController,
            AgendaController,
            DashboardController,
            WaitlistController,
            CalendarController,
            ChargeController,
            KnowledgeController,
            PaymentGatewayController,
            AssistantController,
            list_assistant_turns,
        ],
        guards=[authorize],
        response_headers=RATE_LIMIT_HEADERS,
    )
    # Public session routes (login, refresh, Firebase, invitations...): limited per address.
    sessions = Router(
        path="/api/v1",
        route_handlers=[AuthController, FirebaseAuthController],
        guards=[limits.per_client_guard],
        response_headers=RATE_LIMIT_HEADERS,
    )
    webhooks = Router(path="/", route_handlers=[simulator_webhook], guards=[guard])

    app = Litestar(
        route_handlers=[
            health,
            ready,
            api,
            sessions,
            webhooks,
            evolution_webhook,  # authenticated by each channel's webhook secret
            payment_webhook,  # signed with the clinic's gateway webhook secret
            cloud_webhook_verify,  # Meta's handshake: the channel's verify token
            cloud_webhook,  # signed with the channel's app secret (X-Hub-Signature-256)
            *calendar_public_handlers(),  # the OAuth state / the feed token is the credential
            realtime_handler(realtime, services, token, accounts),
            *ops.route_handlers,
        ],
        dependencies={"container": Provide(lambda: services, sync_to_thread=False)},
        signature_namespace={"Services": Services},
        exception_handlers=EXCEPTION_HANDLERS,
        # Channels first: running before the dispatcher starts and until it has stopped.
        lifespan=[realtime.lifespan, lifespan],
        request_max_body_size=settings.max_body_bytes,
        cors_config=ops.cors_config,
        openapi_config=OpenAPIConfig(
            title="Porfin API",
            version=API_VERSION,
            description="WhatsApp front desk for health practices. Errors are RFC 9457 "
            "problem details (`application/problem+json`).",
            path="/schema",
            render_plugins=[SwaggerRenderPlugin(), ScalarRenderPlugin(path="/scalar")],
            components=Components(
                security_schemes={
                    "BearerToken": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="A staff access token (from /api/v1/auth/login) or the "
                        "installation's admin token.",
                    ),
                    "ChannelWebhookSecret": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="The channel's webhook secret (set when the channel is "
                        "created); provider webhooks only, never the API.",
                    ),
                    "MetaSignature": SecurityScheme(
                        type="apiKey",
                        name="X-Hub-Signature-256",
                        security_scheme_in="header",
                        description="`sha256=` + HMAC-SHA256 of the raw body with the channel's "
                        "app secret (Meta Cloud API webhooks only).",
                    ),
                    "PaymentWebhookSignature": SecurityScheme(
                        type="apiKey",
                        name="asaas-access-token",
                        security_scheme_in="header",
                        description="Asaas: the account's webhook token in "
                        "`asaas-access-token`. Mercado Pago: `x-signature` (`ts=...,v1=...`, "
                        "HMAC-SHA256 of the documented manifest with the webhook secret).",
                    ),
                    "OAuth2": SecurityScheme(
                        type="oauth2",
                        description="Log in with e-mail and password (Swagger UI's Authorize).",
                        flows=OAuthFlows(
                            password=OAuthFlow(token_url="/api/v1/auth/token", scopes={})
                        ),
                    ),
                }
            ),
        ),
        debug=False,
        logging_config=None,  # porfin_http.logging.configure_logging owns logging
    )
    document_rate_limits(app, [authorize, limits.per_client_guard])
    # Inside the operations middleware: the lane's answers get the same headers and metrics.
    app.asgi_handler = CloudWebhookLane(app.asgi_handler, services, settings.max_body_bytes)
    return ops.install(app)


def create_app_from_env() -> Litestar:
    """Factory for ``uvicorn --factory``: settings from the environment and porfin.toml."""
    settings = load_settings()
    configure_logging(settings)
    return create_app(composition.create_container(settings))
