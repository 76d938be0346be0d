"""Relevance on a realistic clinic knowledge base (tests/data/assistant/kb: a price table, an
FAQ and the clinic's policies): patients' questions, written as they write them on WhatsApp,
find the passage that answers them first, and the line that answers them as its snippet."""

from __future__ import annotations

from pathlib import Path

import pytest

from porfin_core.use_cases.add_knowledge_document import NewKnowledgeDocument
from porfin_core.use_cases.search_knowledge import KnowledgeQuery

KB = Path(__file__).resolve().parents[1] / "data" / "assistant" / "kb"

# question -> (file of the right chunk, text its snippet must hold)
QUESTIONS = {
    "quanto custa clareamento": ("tabela-precos.csv", "Clareamento"),
    "qual o valor da profilaxia": ("tabela-precos.csv", "Limpeza (profilaxia)"),
    "quanto é a limpeza?": ("tabela-precos.csv", "Limpeza (profilaxia)"),
    "vcs fazem endodontia? preço": ("tabela-precos.csv", "Tratamento de canal (endodontia)"),
    "qto custa o canal do molar": ("tabela-precos.csv", "(endodontia) molar; Valor: R$ 1.100"),
    "quanto custa um implante": ("tabela-precos.csv", "Implante dentário"),
    "valor da mensalidade do aparelho": ("tabela-precos.csv", "Aparelho fixo mensalidade"),
    "quanto custa pra arrancar o siso": ("tabela-precos.csv", "Extração de siso"),
    "a avaliação é gratis?": ("faq.md", "avaliação é gratuita"),
    "aceita amil": ("faq.md", "Amil Dental"),
    "atende plano odontoprev": ("faq.md", "OdontoPrev"),
    "vocês aceitam convênio?": ("faq.md", "convênios odontológicos"),
    "onde fica a clinica": ("faq.md", "Rua Augusta, 1500"),
    "qual o endereço de vcs": ("faq.md", "Rua Augusta, 1500"),
    "qual o horário de funcionamento": ("faq.md", "segunda a sexta-feira"),
    "abre sábado?": ("faq.md", "sábados"),
    "posso pagar parcelado": ("faq.md", "10x sem juros"),
    "aceita cartão de crédito?": ("faq.md", "cartão de crédito"),
    "tem desconto no pix": ("faq.md", "desconto"),
    "o que fazer depois de tirar o siso": ("faq.md", "tirar um dente"),
    "cuidados apos extração": ("faq.md", "tirar um dente"),
    "posso tomar café depois do clareamento?": ("faq.md", "café"),
    "tem estacionamento": ("faq.md", "Augusta Park"),
    "onde posso estacionar o carro": ("faq.md", "Augusta Park"),
    "vcs atendem criança?": ("faq.md", "odontopediatra"),
    "quanto tempo dura a consulta": ("faq.md", "40 minutos"),
    "preciso pagar sinal?": ("politicas.txt", "sinal de 30%"),
    "posso cancelar a consulta": ("politicas.txt", "24 horas"),
    "se eu faltar pago multa?": ("politicas.txt", "taxa de R$ 80,00"),
    "qual a tolerância de atraso": ("politicas.txt", "15 minutos"),
    "tem garantia no implante?": ("politicas.txt", "garantia"),
    "menor de idade precisa de acompanhante?": ("politicas.txt", "menores de 18 anos"),
}


@pytest.fixture
async def knowledge(container, installation):
    titles = {}
    for path in sorted(KB.iterdir()):
        added = await container.add_knowledge_document()(
            NewKnowledgeDocument(
                clinic_id=installation.clinic.id, filename=path.name, data=path.read_bytes()
            )
        )
        titles[added.document.id] = path.name
    return titles


@pytest.mark.parametrize(("question", "expected"), QUESTIONS.items(), ids=list(QUESTIONS))
async def test_the_answer_comes_first(container, installation, knowledge, question, expected):
    filename, snippet = expected
    found = await container.search_knowledge()(
        KnowledgeQuery(clinic_id=installation.clinic.id, query=question, limit=3)
    )
    assert found, question
    best = found[0]
    assert knowledge[best.chunk.document_id] == filename, [
        (knowledge[r.chunk.document_id], r.snippet) for r in found
    ]
    assert snippet in best.snippet, best.snippet


async def test_the_files_are_cut_into_sections_and_rows(container, installation, knowledge):
    documents = await container.list_knowledge_documents()(installation.clinic.id)
    by_name = {d.filename: d for d in documents}
    assert by_name["faq.md"].title == "Perguntas frequentes — Clínica Sorriso Paulista"
    assert by_name["faq.md"].chunk_count == 11  # one per question
    assert by_name["politicas.txt"].chunk_count == 8  # one per numbered section
    assert by_name["tabela-precos.csv"].chunk_count >= 3
