"""Liveness and readiness probes."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec

from porfin_http.auth import PUBLIC
from porfin_http.deps import Services
from porfin_http.schemas import Health


@get("/health", summary="Liveness", security=PUBLIC, tags=["operations"])
async def health() -> Health:
    """The process is up."""
    return Health(status="ok")


@get(
    "/ready",
    summary="Readiness",
    description="503 while storage cannot be reached.",
    security=PUBLIC,
    tags=["operations"],
    responses={503: ResponseSpec(data_container=Health, description="Storage unreachable")},
)
async def ready(container: NamedDependency[Services]) -> Response[Health]:
    """Storage answers."""
    storage = container.storage()
    ok = await storage.ready()
    return Response(
        Health(status="ok" if ok else "unavailable", storage=storage.kind.value),
        status_code=200 if ok else 503,
    )
