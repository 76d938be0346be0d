"""Prometheus metrics: HTTP traffic by route template, and messages from committed events.

Each app owns one :class:`Metrics` (its own registry, so several apps in one process, as in
the tests, never collide). With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR``
before the workers start (``porfin serve`` does when ``--workers`` > 1): prometheus-client then
keeps every value in a file of that directory and ``/metrics`` adds up all the workers' files.
"""

from __future__ import annotations

import hmac
import os
import weakref
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import HTTPRouteHandler
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector

from porfin_adapters.events import EventDispatcher
from porfin_core.domain.events import DomainEvent, MessageCreated, MessageStatusChanged
from porfin_http.auth import PUBLIC

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Most requests take milliseconds; the default buckets start at 5 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# Any other method (``FOO``) is counted as ``other``: a label value per spelling would let
# clients create unbounded series.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def multiprocess_dir() -> str | None:
    """The directory of prometheus-client's multiprocess mode, when it is on."""
    return os.environ.get(MULTIPROC_ENV) or os.environ.get(MULTIPROC_ENV.lower()) or None


class Metrics:
    """The app's counters and histograms, and their text exposition."""

    def __init__(self) -> None:
        self._multiprocess_dir = multiprocess_dir()
        # In multiprocess mode values live in files, not in a registry: metrics are created
        # unregistered and each scrape reads every worker's files.
        self.registry: CollectorRegistry | None = (
            None if self._multiprocess_dir else CollectorRegistry(auto_describe=True)
        )
        self.http_requests = Counter(
            "porfin_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "porfin_http_request_duration_seconds",
            "Time to answer an HTTP request, by method and route template.",
            ("method", "route"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.messages = Counter(
            "porfin_messages",
            "Messages committed to a timeline, by direction and author.",
            ("direction", "author"),
            registry=self.registry,
        )
        self.message_statuses = Counter(
            "porfin_message_status",
            "Delivery status changes of outbound messages, by new status.",
            ("status",),
            registry=self.registry,
        )
        self._subscribed: weakref.WeakSet[EventDispatcher] = weakref.WeakSet()
        # label values -> child: one dict lookup per request instead of prometheus-client's
        # label validation and locking.
        self._request_children: dict[tuple[str, str, int], Any] = {}
        self._duration_children: dict[tuple[str, str], Any] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        if method not in _METHODS:
            method = "other"
        key = (method, route, status)
        counter = self._request_children.get(key)
        if counter is None:
            counter = self._request_children[key] = self.http_requests.labels(
                method, route, str(status)
            )
        counter.inc()
        histogram = self._duration_children.get((method, route))
        if histogram is None:
            histogram = self._duration_children[(method, route)] = self.http_duration.labels(
                method, route
            )
        histogram.observe(seconds)

    def subscribe(self, dispatcher: EventDispatcher) -> None:
        """Count messages from the events ``dispatcher`` delivers (once per dispatcher).

        Delivery is at least once: events re-delivered after a crash are counted again.
        """
        if dispatcher in self._subscribed:
            return
        self._subscribed.add(dispatcher)
        dispatcher.subscribe(MessageCreated, self._on_message_created)
        dispatcher.subscribe(MessageStatusChanged, self._on_message_status)

    async def _on_message_created(self, event: DomainEvent) -> None:
        assert isinstance(event, MessageCreated)
        self.messages.labels(event.direction, event.author).inc()

    async def _on_message_status(self, event: DomainEvent) -> None:
        assert isinstance(event, MessageStatusChanged)
        self.message_statuses.labels(event.status).inc()

    def exposition(self, accept: str | None) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (Prometheus text by default)."""
        registry = self.registry
        if registry is None:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=self._multiprocess_dir)
        encoder, content_type = choose_encoder(accept or "")
        return encoder(registry), content_type


def metrics_handler(metrics: Metrics, token: str | None) -> HTTPRouteHandler:
    """``GET /metrics``; when ``token`` is set, only ``Authorization: Bearer <token>``."""
    expected = token.encode() if token else None

    @get(
        "/metrics",
        include_in_schema=False,
        security=PUBLIC,
        sync_to_thread=True,  # reads files in multiprocess mode
        name="metrics",
    )
    def prometheus_metrics(request: Request[Any, Any, Any]) -> Response[bytes]:
        if expected is not None:
            scheme, _, value = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                value.strip().encode(), expected
            ):
                raise NotAuthorizedException(
                    "a valid bearer token is required",
                    headers={"WWW-Authenticate": 'Bearer realm="porfin-metrics"'},
                )
        body, content_type = metrics.exposition(request.headers.get("accept"))
        return Response(content=body, media_type=content_type)

    return prometheus_metrics
