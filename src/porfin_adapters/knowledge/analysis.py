"""Brazilian Portuguese text analysis for retrieval: the same tokens for documents and
questions, so that "Quanto custa a profilaxia?" meets "Limpeza (profilaxia): R$ 180,00".

1. Fold case and accents ("Extração" -> "extracao"): patients rarely type accents.
2. Split into words and expand WhatsApp abbreviations ("vc", "qto", "vlr").
3. Stem with the Snowball Portuguese stemmer ("clareamentos" -> "clareament").
4. Find synonyms: each group of words or phrases that mean one thing for a clinic
   ("limpeza"/"profilaxia", "canal"/"endodontia", "preço"/"valor"/"quanto custa") adds one
   concept token (``=limpeza``) wherever any of its members appears, in documents and in
   questions alike; matching is on stems, so plurals and verb forms count too. Procedure
   synonyms come from :mod:`porfin_core.domain.procedures`; the words around them (prices,
   insurance, hours, address, payment...) from :data:`SYNONYMS` here.
5. Drop stopwords (after step 4, so "depois de" or "onde fica" still find their group).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

import snowballstemmer

from porfin_core.domain.procedures import PROCEDURES
from porfin_core.domain.pt_text import fold

_WORD = re.compile(r"[a-z0-9]+")

CONCEPT_PREFIX = "="
"""Concept tokens start with it; no word does."""
PRICE_CONCEPT = "=preco"
"""The concept of prices, also added for every amount written in reais."""
_AMOUNT = re.compile(r"R\$\s?\d")

ABBREVIATIONS: Mapping[str, str] = {
    "vc": "voce",
    "vcs": "voces",
    "ce": "voce",
    "q": "que",
    "pq": "porque",
    "tb": "tambem",
    "tbm": "tambem",
    "hj": "hoje",
    "qto": "quanto",
    "qnto": "quanto",
    "qt": "quanto",
    "vlr": "valor",
    "vl": "valor",
    "orc": "orcamento",
    "info": "informacao",
    "dr": "doutor",
    "dra": "doutora",
}
"""How people write on WhatsApp, folded -> the word they mean."""

_STOPWORDS = """
    a ao aos aquela aquelas aquele aqueles aquilo as ate com como da das de dela delas dele
    deles depois do dos e ela elas ele eles em entre era eram essa essas esse esses esta
    estas este estes eu foi fomos for foram ha isso isto ja lhe lhes mais mas me mesmo meu
    meus minha minhas muito na nao nas nem no nos nossa nossas nosso nossos num numa o os
    ou para pela pelas pelo pelos por qual quais que quem se seja sem ser seu seus so sua
    suas tambem te tem tenho ter teu tua tu um uma umas uns voce voces vos sao sou esta
    estao estou estava estavam tinha tinham temos tive teve pra pro pras pros ai ola oi
    bom boa dia tarde noite gostaria queria quero saber favor obrigado obrigada sim
    aqui la the of faz fazem fazer faco feito fazendo
"""
STOPWORDS = frozenset(_STOPWORDS.split())
"""Folded Portuguese function words (Snowball's list, less the question words that carry
meaning here such as "quanto" and "onde", plus greetings and politeness)."""

SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "preco": (
        "preco",
        "valor",
        "custa",
        "custo",
        "quanto custa",
        "quanto e",
        "quanto fica",
        "quanto sai",
        "quanto cobra",
        "quanto ta",
        "quanto esta",
        "quanto vale",
        "qual o valor",
        "cobra",
        "cobram",
        "tabela",
        "orcamento",
        "investimento",
    ),
    "convenio": (
        "convenio",
        "plano",
        "plano de saude",
        "plano odontologico",
        "seguro",
        "operadora",
        "credenciado",
        "credenciada",
    ),
    "horario": (
        "horario",
        "horarios",
        "funcionamento",
        "abre",
        "abrem",
        "fecha",
        "fecham",
        "aberto",
        "aberta",
        "expediente",
    ),
    "endereco": (
        "endereco",
        "onde fica",
        "onde",
        "localizacao",
        "localizada",
        "localizado",
        "fica",
        "chegar",
        "como chegar",
        "mapa",
        "rua",
        "avenida",
    ),
    "pagamento": (
        "pagamento",
        "pagar",
        "pago",
        "paga",
        "pix",
        "cartao",
        "credito",
        "debito",
        "dinheiro",
        "boleto",
        "parcelado",
        "parcelar",
        "parcela",
        "parcelamento",
        "vezes sem juros",
        "forma de pagamento",
    ),
    "parcelamento": (
        "parcelado",
        "parcelar",
        "parcela",
        "parcelamento",
        "vezes sem juros",
        "dividir",
        "dividido",
        "divide",
        "em quantas vezes",
    ),
    "estacionamento": (
        "estacionamento",
        "estacionar",
        "vaga",
        "vagas",
        "garagem",
        "manobrista",
        "carro",
    ),
    "depois": ("depois", "apos", "pos", "pos operatorio", "cuidados", "recuperacao"),
    "extracao": ("extracao", "exodontia", "tirar", "arrancar", "extrair", "arrancado"),
    "cancelamento": ("cancelamento", "cancelar", "desmarcar", "remarcar", "falta", "faltar"),
    "agendamento": ("agendar", "agendamento", "marcar", "consulta", "horario livre"),
    "sinal": ("sinal", "entrada", "adiantamento", "deposito"),
    "taxa": ("taxa", "multa", "tarifa", "cobrada", "cobrado", "cobranca"),
    "gratis": ("gratis", "gratuita", "gratuito", "sem custo", "cortesia"),
    "crianca": ("crianca", "criancas", "infantil", "odontopediatria", "filho", "filha"),
    "urgencia": ("urgencia", "emergencia", "dor"),
}
"""Synonyms of the words around procedures, canonical -> folded members (words or
phrases)."""


@functools.lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.Stemmer:
    return snowballstemmer.stemmer("portuguese")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """The Snowball Portuguese stem of a folded ``word`` (numbers stay as they are)."""
    if word.isdigit():
        return word
    return str(_stemmer().stemWord(word))


def words(text: str) -> list[str]:
    """Folded words of ``text`` in order, abbreviations expanded."""
    return [ABBREVIATIONS.get(word, word) for word in _WORD.findall(fold(text))]


class PortugueseAnalyzer:
    """Turns text into retrieval tokens: stems of the words that carry meaning, plus one
    concept token (``=<canonical>``) per synonym group member found.

    Args:
        synonyms: Groups to use instead of the built-in ones (procedures and
            :data:`SYNONYMS`), canonical -> members.
    """

    def __init__(self, synonyms: Mapping[str, Iterable[str]] | None = None) -> None:
        groups = synonyms if synonyms is not None else default_synonyms()
        # first stem of a phrase -> (phrase stems, concept token), longest phrases first
        self._phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for canonical, members in groups.items():
            concept = CONCEPT_PREFIX + fold(canonical).replace(" ", "_")
            for member in {canonical, *members}:
                stems = tuple(stem(word) for word in words(member))
                if stems:
                    self._phrases.setdefault(stems[0], []).append((stems, concept))
        for options in self._phrases.values():
            options.sort(key=lambda option: -len(option[0]))

    def tokens(self, text: str) -> list[str]:
        """A document's tokens: meaningful stems in order, then concept tokens (one per
        occurrence of a group member, and one ``=preco`` per amount in reais, ``R$ 180``)."""
        kept, concepts, _ = self._analyze(text)
        prices = [PRICE_CONCEPT] * len(_AMOUNT.findall(text))
        return [root for _, root in kept] + concepts + prices

    def terms(self, text: str) -> list[str]:
        """A question's distinct terms, in order: the concept of each synonym group found,
        and the stems of the words outside every group ("quanto custa o clareamento" ->
        ``=preco``, ``=clareamento``), so a group weighs once however it was said."""
        kept, concepts, covered = self._analyze(text)
        roots = [root for position, root in kept if position not in covered]
        return list(dict.fromkeys(roots + concepts))

    def _analyze(self, text: str) -> tuple[list[tuple[int, str]], list[str], set[int]]:
        """(position, stem) of the meaningful words, the concepts found, and the positions
        of the words that belong to a found phrase."""
        found = words(text)
        stems = [stem(word) for word in found]
        concepts: list[str] = []
        covered: set[int] = set()
        span_end = 0  # a phrase inside a longer one found before adds nothing ("sem custo")
        for position, first in enumerate(stems):
            longest, seen = 0, set[str]()
            for phrase, concept in self._phrases.get(first, ()):  # longest first
                size = len(phrase)
                if size < longest or position + size <= span_end or concept in seen:
                    continue
                if tuple(stems[position : position + size]) == phrase:
                    longest = size
                    seen.add(concept)
                    concepts.append(concept)
                    covered.update(range(position, position + size))
            span_end = max(span_end, position + longest)
        kept = [
            (position, root)
            for position, (word, root) in enumerate(zip(found, stems, strict=True))
            if _meaningful(word)
        ]
        return kept, concepts, covered


def _meaningful(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit()) and word != "00"


def default_synonyms() -> dict[str, tuple[str, ...]]:
    """Procedure synonyms (:data:`porfin_core.domain.procedures.PROCEDURES`) merged with
    :data:`SYNONYMS`."""
    merged: dict[str, tuple[str, ...]] = {}
    for table in (PROCEDURES, SYNONYMS):
        for canonical, members in table.items():
            key = fold(canonical)
            merged[key] = tuple(dict.fromkeys((*merged.get(key, ()), *members)))
    return merged


@functools.lru_cache(maxsize=1)
def default_analyzer() -> PortugueseAnalyzer:
    """One shared analyzer with the built-in synonyms (building it stems every member)."""
    return PortugueseAnalyzer()
