"""The clinic's audit log: ``/api/v1/audit`` (administrators)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import Parameter

from porfin_core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from porfin_core.permissions import Permission
from porfin_core.ports.audit import AuditQuery
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import AuditPage, AuditRecordOut

Text = Annotated[str | None, Parameter(min_length=1, max_length=512)]


class AuditController(Controller):
    """Who did or saw what in the clinic: every write, and every read of a patient's chat."""

    path = "/audit"
    tags = ["audit"]
    security = BEARER

    @get(
        "/",
        summary="List audit records",
        description="Newest first (by time, then sequence number); filters combine with AND; "
        "cursor pagination. Each record carries its place in the clinic's hash chain "
        "(`seq`, `prev_hash`, `hash`); `porfin audit verify` checks the chain.",
        opt=needs(Permission.AUDIT_READ),
        responses=problems(400, 401, 403, 422),
    )
    async def list_audit_records(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        actor: Annotated[
            str | None, Parameter(min_length=1, max_length=512, description="Actor id.")
        ] = None,
        action: Annotated[
            str | None,
            Parameter(min_length=1, max_length=512, description="E.g. `chat.read`."),
        ] = None,
        resource_type: Annotated[
            str | None, Parameter(min_length=1, max_length=512, description="E.g. `chat`.")
        ] = None,
        resource_id: Text = None,
        since: Annotated[
            datetime | None,
            Parameter(description="Only records at or after this time (ISO 8601 with offset)."),
        ] = None,
        until: Annotated[
            datetime | None,
            Parameter(description="Only records before this time (ISO 8601 with offset)."),
        ] = None,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
        ] = DEFAULT_PAGE_SIZE,
        cursor: Annotated[
            str | None, Parameter(description="`next_cursor` of the previous page.")
        ] = None,
    ) -> AuditPage:
        page = await container.list_audit_records()(
            AuditQuery(
                clinic_id=principal_of(request).clinic_id,
                actor_id=actor,
                action=action,
                resource_type=resource_type,
                resource_id=resource_id,
                since=since,
                until=until,
                limit=limit,
                cursor=cursor,
            )
        )
        return AuditPage([AuditRecordOut.of(r) for r in page.items], page.next_cursor)
