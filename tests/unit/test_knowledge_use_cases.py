"""The knowledge base's use cases on the in-memory container: who may change it, what is
accepted, the same file added once, audit records, and searches."""

from __future__ import annotations

import pytest

from porfin_core.domain.clinic import Role
from porfin_core.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
    ValidationError,
)
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.remove_knowledge_document import KnowledgeRemoval
from porfin_core.use_cases.search_knowledge import KnowledgeQuery

PRICES = b"Procedimento;Valor\nLimpeza (profilaxia);R$ 180,00\nClareamento;R$ 900,00\n"


def viewer(clinic_id: str, role: Role) -> Principal:
    return Principal(f"{role.value}-1", clinic_id, role)


async def add(container, clinic_id, data=PRICES, filename="tabela_precos.csv", **fields):
    return await container.add_knowledge_document()(
        NewKnowledgeDocument(clinic_id=clinic_id, filename=filename, data=data, **fields)
    )


async def audit_records(container, clinic_id: str):
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


async def test_a_manager_adds_a_file_that_is_chunked_indexed_and_audited(container, installation):
    clinic_id = installation.clinic.id
    added = await add(container, clinic_id, viewer=viewer(clinic_id, Role.MANAGER))
    document = added.document
    assert added.created
    assert (document.title, document.filename, document.media_type) == (
        "tabela precos",
        "tabela_precos.csv",
        "text/csv",
    )
    assert (document.size_bytes, document.chunk_count, document.created_by) == (
        len(PRICES),
        1,
        "manager-1",
    )
    [record] = [r for r in await audit_records(container, clinic_id) if r.action.startswith("kn")]
    assert (record.action, record.resource_id, record.actor_id) == (
        "knowledge.add",
        document.id,
        "manager-1",
    )
    assert record.details["chunks"] == "1"
    [found] = await container.search_knowledge()(
        KnowledgeQuery(clinic_id=clinic_id, query="quanto custa a profilaxia?")
    )
    assert found.snippet == "Procedimento: Limpeza (profilaxia); Valor: R$ 180,00"


async def test_a_secretary_may_not_change_the_knowledge_base(container, installation):
    clinic_id = installation.clinic.id
    with pytest.raises(Forbidden):
        await add(container, clinic_id, viewer=viewer(clinic_id, Role.SECRETARY))
    document = (await add(container, clinic_id)).document
    with pytest.raises(Forbidden):
        await container.remove_knowledge_document()(
            KnowledgeRemoval(
                clinic_id=clinic_id,
                document_id=document.id,
                viewer=viewer(clinic_id, Role.SECRETARY),
            )
        )
    assert await container.list_knowledge_documents()(clinic_id) == [document]


async def test_the_same_file_is_added_once(container, installation):
    clinic_id = installation.clinic.id
    first = await add(container, clinic_id, title="Preços")
    again = await add(container, clinic_id, filename="outro-nome.csv", title="Outro")
    assert not again.created
    assert again.document == first.document
    assert len(await container.list_knowledge_documents()(clinic_id)) == 1
    actions = [r.action for r in await audit_records(container, clinic_id)]
    assert actions.count("knowledge.add") == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"data": b""}, ValidationError),
        ({"data": b"x" * (10 * 1024 * 1024 + 1), "filename": "a.txt"}, PayloadTooLarge),
        ({"filename": "foto.jpg", "media_type": "image/jpeg"}, UnsupportedMediaType),
        ({"filename": "vazio.txt", "data": b"   \n"}, ValidationError),
        ({"title": "x" * 201}, ValidationError),
    ],
)
async def test_what_cannot_be_added(container, installation, fields, error):
    with pytest.raises(error):
        await add(container, installation.clinic.id, **fields)
    assert await container.list_knowledge_documents()(installation.clinic.id) == []


async def test_a_document_whose_audit_record_fails_is_removed(container, installation):
    class BrokenAudit:
        def __init__(self, factory):
            self._factory = factory

        def __call__(self, read_only=False):
            uow = self._factory(read_only=read_only)

            async def fail(entry):
                raise StorageUnavailable("disk full")

            uow.audit.append = fail
            return uow

    use_case = container.add_knowledge_document()
    use_case.uow_factory = BrokenAudit(use_case.uow_factory)
    with pytest.raises(StorageUnavailable):
        await add(container, installation.clinic.id)
    assert await container.list_knowledge_documents()(installation.clinic.id) == []


async def test_removing_a_document_forgets_it_and_is_audited(container, installation):
    clinic_id = installation.clinic.id
    document = (await add(container, clinic_id)).document
    removal = KnowledgeRemoval(
        clinic_id=clinic_id, document_id=document.id, viewer=viewer(clinic_id, Role.ADMIN)
    )
    assert await container.remove_knowledge_document()(removal) == document
    assert await container.list_knowledge_documents()(clinic_id) == []
    query = KnowledgeQuery(clinic_id=clinic_id, query="limpeza")
    assert await container.search_knowledge()(query) == []
    assert "knowledge.remove" in [r.action for r in await audit_records(container, clinic_id)]
    with pytest.raises(NotFound):
        await container.remove_knowledge_document()(removal)
    with pytest.raises(NotFound):
        await container.remove_knowledge_document()(
            KnowledgeRemoval(clinic_id="another-clinic", document_id=document.id)
        )


@pytest.mark.parametrize(("query", "limit"), [("   ", 5), ("limpeza", 0), ("limpeza", 51)])
async def test_searches_need_words_and_a_sane_limit(container, installation, query, limit):
    with pytest.raises(ValidationError):
        await container.search_knowledge()(
            KnowledgeQuery(clinic_id=installation.clinic.id, query=query, limit=limit)
        )
