"""Living documentation: the clinic's knowledge base, searched as patients ask."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from porfin_core.domain.clinic import Role
from porfin_core.errors import Forbidden
from porfin_core.ports.auth import Principal
from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.remove_knowledge_document import KnowledgeRemoval
from porfin_core.use_cases.search_knowledge import KnowledgeQuery

scenarios("base_de_conhecimento.feature")

KB = Path(__file__).resolve().parents[1] / "tests" / "data" / "assistant" / "kb"
FILES = ("tabela-precos.csv", "faq.md", "politicas.txt")


@pytest.fixture
def base() -> dict[str, Any]:
    """The documents by file name, and the last answers."""
    return {"documents": {}, "answers": []}


def _send(clinica, filename: str, role: Role):
    viewer = Principal(f"{role.value}-1", clinica.clinic_id, role)
    return clinica.attempt(
        clinica.container.add_knowledge_document()(
            NewKnowledgeDocument(
                clinic_id=clinica.clinic_id,
                filename=filename,
                data=(KB / filename).read_bytes(),
                viewer=viewer,
            )
        )
    )


@given("que a gerente enviou a tabela de preços, as perguntas frequentes e as políticas da clínica")
def enviou(clinica, base):
    for filename in FILES:
        added = _send(clinica, filename, Role.MANAGER)
        assert added is not None, clinica.error
        base["documents"][filename] = added.document


@when(parsers.parse('um paciente pergunta "{pergunta}"'))
def pergunta(clinica, base, pergunta):
    base["answers"] = clinica.run(
        clinica.container.search_knowledge()(
            KnowledgeQuery(clinic_id=clinica.clinic_id, query=pergunta, limit=3)
        )
    )


@then(parsers.parse('a primeira resposta vem de "{arquivo}" e diz "{trecho}"'))
def primeira_resposta(base, arquivo, trecho):
    best = base["answers"][0]
    assert best.chunk.document_id == base["documents"][arquivo].id
    assert trecho in best.snippet, best.snippet


@when("a gerente envia de novo a tabela de preços")
def envia_de_novo(clinica):
    added = _send(clinica, "tabela-precos.csv", Role.MANAGER)
    assert added is not None and not added.created


@then(parsers.parse("a base continua com {quantos:d} documentos"))
def continua_com(clinica, quantos):
    assert len(clinica.run(clinica.container.list_knowledge_documents()(clinica.clinic_id))) == (
        quantos
    )


@when("a secretária tenta enviar um arquivo")
def secretaria_envia(clinica):
    _send(clinica, "faq.md", Role.SECRETARY)


@then("o envio é recusado por falta de permissão")
def recusado(clinica):
    assert isinstance(clinica.error, Forbidden)


@when("a gerente remove as políticas da clínica")
def remove(clinica, base):
    clinica.run(
        clinica.container.remove_knowledge_document()(
            KnowledgeRemoval(
                clinic_id=clinica.clinic_id,
                document_id=base["documents"]["politicas.txt"].id,
                viewer=Principal("manager-1", clinica.clinic_id, Role.MANAGER),
            )
        )
    )


@then(parsers.parse('nenhuma resposta vem de "{arquivo}"'))
def nenhuma(base, arquivo):
    removed = base["documents"][arquivo].id
    assert all(answer.chunk.document_id != removed for answer in base["answers"])
