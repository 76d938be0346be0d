"""What the app needs from operations settings: CORS, metrics, security headers, access log."""

from __future__ import annotations

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.handlers import HTTPRouteHandler

from porfin_adapters.events import EventDispatcher
from porfin_adapters.settings import Settings
from porfin_http.metrics import Metrics, metrics_handler
from porfin_http.middleware import install

# What browsers may send and read cross-origin: the API's methods, bearer tokens, JSON bodies.
CORS_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
CORS_HEADERS = ["Authorization", "Content-Type", "X-Request-ID"]
CORS_EXPOSED = [
    "X-Request-ID",
    "Retry-After",
    "WWW-Authenticate",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]


class Operations:
    """The operations side of one app, built from :class:`Settings`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = Metrics() if settings.metrics_enabled else None

    @property
    def route_handlers(self) -> list[HTTPRouteHandler]:
        """``GET /metrics`` when metrics are on."""
        if self.metrics is None:
            return []
        return [metrics_handler(self.metrics, self.settings.metrics_token)]

    @property
    def cors_config(self) -> CORSConfig | None:
        """Litestar's CORS for the configured origins; None (no CORS headers) without any."""
        if not self.settings.cors_origins:
            return None
        return CORSConfig(
            allow_origins=list(self.settings.cors_origins),
            allow_methods=CORS_METHODS,  # type: ignore[arg-type]
            allow_headers=CORS_HEADERS,
            expose_headers=CORS_EXPOSED,
            allow_credentials=False,  # bearer tokens, no cookies
            max_age=600,
        )

    def subscribe(self, dispatcher: EventDispatcher) -> None:
        """Count messages from the committed events ``dispatcher`` delivers."""
        if self.metrics is not None:
            self.metrics.subscribe(dispatcher)

    def install(self, app: Litestar) -> Litestar:
        """Wrap ``app`` in the request-id / security-headers / metrics middleware."""
        return install(
            app,
            metrics=self.metrics,
            hsts_max_age=self.settings.hsts_max_age,
            log_requests=self.settings.access_log,
        )
