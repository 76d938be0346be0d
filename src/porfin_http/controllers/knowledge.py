"""The clinic's knowledge base: ``/api/v1/knowledge`` (documents and search)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.enums import RequestEncodingType
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Body, FromPath, Parameter

from porfin_core.domain.knowledge import MAX_DOCUMENT_BYTES
from porfin_core.permissions import Permission
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.remove_knowledge_document import KnowledgeRemoval
from porfin_core.use_cases.search_knowledge import MAX_LIMIT, MAX_QUERY_LENGTH, KnowledgeQuery
from porfin_http.actors import actor_of
from porfin_http.auth import BEARER, needs, principal_of
from porfin_http.controllers.media import MULTIPART_OVERHEAD
from porfin_http.deps import Services
from porfin_http.knowledge_schemas import KnowledgeDocumentOut, KnowledgeResultOut, KnowledgeUpload
from porfin_http.problems import problems


class KnowledgeController(Controller):
    """What the AI receptionist answers from: price tables, FAQs and policies (PDF, DOCX,
    XLSX, CSV, TXT, Markdown), cut into passages and searched in Brazilian Portuguese
    (accents, plurals and procedure synonyms do not matter). Admins and managers change it
    (`assistant.tune`); see docs/knowledge-base.md."""

    path = "/knowledge"
    tags = ["knowledge"]
    security = BEARER
    # Documents are bigger than JSON bodies: the file is held to MAX_DOCUMENT_BYTES by the
    # use case, the envelope gets the multipart overhead.
    request_max_body_size = MAX_DOCUMENT_BYTES + MULTIPART_OVERHEAD

    @post(
        "/documents",
        summary="Add a document",
        description="Multipart form: the file in `file`, an optional `title`. PDF, DOCX, "
        "XLSX, CSV (`;` or `,`, UTF-8 or Latin-1), TXT or Markdown, up to 10 MB. `201` with "
        "the document; `200` with the existing one when the clinic already has this very "
        "file (same SHA-256). Too large: `413`; another format: `415`; corrupt, empty, "
        "password-protected or without text (a scanned PDF): `422`. Recorded in the audit "
        "log (`knowledge.add`).",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses={
            200: ResponseSpec(
                data_container=KnowledgeDocumentOut,
                description="The clinic already had this file: the existing document.",
                generate_examples=False,
            ),
            **problems(400, 401, 403, 413, 415, 422),
        },
        status_code=201,
    )
    async def add_knowledge_document(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        data: Annotated[KnowledgeUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
    ) -> Response[KnowledgeDocumentOut]:
        upload = data.file
        try:
            content = await upload.read()
        finally:
            await upload.close()
        principal = principal_of(request)
        added = await container.add_knowledge_document()(
            NewKnowledgeDocument(
                clinic_id=principal.clinic_id,
                filename=upload.filename or "documento",
                data=content,
                media_type=upload.content_type,
                title=data.title,
                viewer=principal,
                actor=actor_of(request),
            )
        )
        body = KnowledgeDocumentOut.of(added.document)
        return Response(body, status_code=201 if added.created else 200)

    @get(
        "/documents",
        summary="List documents",
        description="The clinic's knowledge documents, newest first.",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(401, 403),
    )
    async def list_knowledge_documents(
        self, request: Request[Any, Any, Any], container: NamedDependency[Services]
    ) -> list[KnowledgeDocumentOut]:
        found = await container.list_knowledge_documents()(principal_of(request).clinic_id)
        return [KnowledgeDocumentOut.of(d) for d in found]

    @delete(
        "/documents/{document_id:str}",
        summary="Remove a document",
        description="The document and its passages; the assistant stops answering from it at "
        "once. Recorded in the audit log (`knowledge.remove`).",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(401, 403, 404),
    )
    async def remove_knowledge_document(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        document_id: FromPath[str],
    ) -> None:
        principal = principal_of(request)
        await container.remove_knowledge_document()(
            KnowledgeRemoval(
                clinic_id=principal.clinic_id,
                document_id=document_id,
                viewer=principal,
                actor=actor_of(request),
            )
        )

    @get(
        "/search",
        summary="Search the knowledge base",
        description='The passages that answer `q` best, as a patient would ask it ("quanto '
        'custa clareamento"), each with the line that answers best (`snippet`). `[]` when '
        "nothing matches.",
        opt=needs(Permission.ASSISTANT_TUNE),
        responses=problems(400, 401, 403, 422),
    )
    async def search_knowledge(
        self,
        request: Request[Any, Any, Any],
        container: NamedDependency[Services],
        q: Annotated[
            str,
            Parameter(min_length=1, max_length=MAX_QUERY_LENGTH, description="The question."),
        ],
        limit: Annotated[int, Parameter(ge=1, le=MAX_LIMIT, description="Passages at most.")] = 5,
    ) -> list[KnowledgeResultOut]:
        found = await container.search_knowledge()(
            KnowledgeQuery(clinic_id=principal_of(request).clinic_id, query=q, limit=limit)
        )
        return [KnowledgeResultOut.of(r) for r in found]
