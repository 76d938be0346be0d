"""The clinic's customers (leads and patients): ``/api/v1/customers``."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, Parameter

from porfin_core.domain.customer import FunnelStage
from porfin_core.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from porfin_core.permissions import Permission
from porfin_core.ports.storage import CustomerQuery
from porfin_core.use_cases.merge_customers import DuplicateCustomer
from porfin_core.use_cases.update_customer import ChangeCustomer
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.deps import Services
from porfin_http.problems import problems
from porfin_http.schemas import (
    CustomerMerge,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    FunnelStageName,
)


class CustomerController(Controller):
    """Find, read and edit the clinic's customers. Every staff role sees all of them (the
    conversations stay scoped by chat access); reading or changing a profile is audited."""

    path = "/customers"
    tags = ["customers"]
    security = BEARER

    @get(
        "/",
        summary="List customers",
        description="Newest first; filters combine with AND; cursor pagination. `q` finds a "
        "name (every word of `q` begins a word of the name, ignoring case and accents) or a "
        "phone number in any spelling (its digits occur in the number; a complete number "
        "also matches its canonical form, 9th digit included).",
        opt=needs(Permission.CUSTOMERS_VIEW),
        responses=problems(400, 401, 403, 422),
    )
    async def list_customers(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        stage: Annotated[FunnelStageName | None, Parameter(description="Funnel stage.")] = None,
        tag: Annotated[str | None, Parameter(max_length=100, description="A tag.")] = None,
        q: Annotated[
            str | None, Parameter(max_length=200, description="Search a name or a phone.")
        ] = None,
        limit: Annotated[
            int, Parameter(ge=1, le=MAX_PAGE_SIZE, description="Page size.")
        ] = DEFAULT_PAGE_SIZE,
        cursor: Annotated[
            str | None, Parameter(description="`next_cursor` of the previous page.")
        ] = None,
    ) -> CustomerPage:
        page = await container.list_customers()(
            CustomerQuery(
                clinic_id=principal_of(request).clinic_id,
                stage=FunnelStage(stage) if stage else None,
                tag=tag,
                search=q,
                limit=limit,
                cursor=cursor,
            )
        )
        return CustomerPage([CustomerOut.of(c) for c in page.items], page.next_cursor)

    @get(
        "/{customer_id:str}",
        summary="Get a customer",
        description="The read is recorded in the audit log (`customer.read`).",
        opt=needs(Permission.CUSTOMERS_VIEW),
        responses=problems(401, 403, 404),
    )
    async def get_customer(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        customer_id: FromPath[str],
    ) -> CustomerOut:
        customer = await container.get_customer()(
            principal_of(request).clinic_id, customer_id, actor=actor_of(request)
        )
        return CustomerOut.of(customer)

    @patch(
        "/{customer_id:str}",
        summary="Change a customer",
        description="Name, tags, funnel stage and consents, in one transaction; recorded in "
        "the audit log (`customer.update`) and announced as a `customer.updated` event. A new "
        "name is also shown in the customer's chats.",
        opt=needs(Permission.CUSTOMERS_EDIT),
        responses=problems(400, 401, 403, 404, 422),
    )
    async def update_customer(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        customer_id: FromPath[str],
        data: JSONBody[CustomerPatch],
    ) -> CustomerOut:
        customer = await container.update_customer()(
            ChangeCustomer(
                clinic_id=principal_of(request).clinic_id,
                customer_id=customer_id,
                name=data.name,
                tags=data.tags,
                stage=data.stage,
                consents=data.consents,
                actor=actor_of(request),
            )
        )
        return CustomerOut.of(customer)

    @post(
        "/{customer_id:str}/merge",
        summary="Merge a duplicate into this customer",
        description="Two records of one person become one, in one transaction: this customer "
        "keeps its id and gains the duplicate's WhatsApp identities (later messages from any "
        "of them arrive here), tags, the more recent consent per purpose, a missing name or "
        "phone and the stage further along the funnel. The duplicate's chats become this "
        "customer's; where both have a chat on the same channel, the duplicate's messages "
        "move into this customer's chat and the duplicate's chat is deleted. The duplicate is "
        "then gone: not listed, and reading or changing it answers `404` with `merged_into` "
        "naming this customer. Managers and administrators only; recorded in the audit log "
        "(`customer.merge`) and announced as a `customer.merged` event. The same id twice "
        "is `422`; a customer already merged, `409`.",
        opt=needs(Permission.CUSTOMERS_MERGE),
        status_code=200,
        responses=problems(400, 401, 403, 404, 409, 422),
    )
    async def merge_customers(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        customer_id: FromPath[str],
        data: JSONBody[CustomerMerge],
    ) -> CustomerOut:
        merged = await container.merge_customers()(
            DuplicateCustomer(
                clinic_id=principal_of(request).clinic_id,
                customer_id=customer_id,
                duplicate_id=data.duplicate_id,
                actor=actor_of(request),
            )
        )
        return CustomerOut.of(merged.customer)
