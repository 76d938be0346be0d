"""The procedures patients ask a clinic about, and the many ways they name them.

One table serves intent recognition (``"preço do clareamento"`` names *clareamento*) and
knowledge-base retrieval (a question about *profilaxia* finds the chunk about *limpeza*).
Synonyms are stored folded (:func:`porfin_core.domain.pt_text.fold`); a plural ``s``/``es``
at the end of a synonym is accepted when matching, so ``implantes`` and ``facetas`` need no
entry of their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from porfin_core.domain.pt_text import fold

__all__ = ["PROCEDURES", "find_procedure", "find_procedure_folded"]

PROCEDURES: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "limpeza": (
            "limpeza",
            "limpeza dental",
            "limpeza dos dentes",
            "profilaxia",
            "tartaro",
            "tirar tartaro",
            "remover tartaro",
        ),
        "canal": (
            "canal",
            "tratamento de canal",
            "endodontia",
            "tratar o canal",
            "fazer canal",
        ),
        "clareamento": (
            "clareamento",
            "clareamento dental",
            "branqueamento",
            "clarear",
            "clarear os dentes",
            "clarear o dente",
            "branquear",
        ),
        "extracao": (
            "extracao",
            "exodontia",
            "extrair",
            "extrair o dente",
            "tirar o dente",
            "tirar um dente",
            "tirar dente",
            "tirar meu dente",
            "tirar os dentes",
            "arrancar",
            "arrancar o dente",
            "arrancar um dente",
        ),
        "siso": (
            "siso",
            "sisos",
            "dente do siso",
            "dente de siso",
            "dente do juizo",
            "terceiro molar",
            "terceiros molares",
        ),
        "aparelho": (
            "aparelho",
            "aparelho ortodontico",
            "aparelho dental",
            "ortodontia",
            "ortodontista",
            "alinhador",
            "alinhadores",
            "alinhador invisivel",
            "invisalign",
        ),
        "implante": (
            "implante",
            "implante dentario",
            "implante dental",
            "implantodontia",
        ),
        "restauracao": (
            "restauracao",
            "restauracoes",
            "restaurar",
            "obturacao",
            "obturacoes",
            "obturar",
            "resina",
            "carie",
        ),
        "protese": (
            "protese",
            "protese dentaria",
            "dentadura",
            "chapa",
            "coroa",
            "ponte movel",
            "ponte fixa",
        ),
        "lente de contato": (
            "lente de contato",
            "lentes de contato",
            "lente de contato dental",
            "lentes de contato dental",
            "lente",
            "lente dental",
            "lentes dentais",
            "faceta",
            "facetas de porcelana",
            "faceta de resina",
            "laminado",
        ),
        "avaliacao": (
            "avaliacao",
            "consulta",
            "consulta de avaliacao",
            "primeira consulta",
            "consulta inicial",
            "check up",
            "checkup",
            "revisao",
        ),
        "harmonizacao": (
            "harmonizacao",
            "harmonizacao facial",
            "botox",
            "toxina botulinica",
            "preenchimento",
            "preenchimento labial",
            "acido hialuronico",
            "bichectomia",
        ),
        "periodontia": (
            "periodontia",
            "raspagem",
            "tratamento de gengiva",
            "gengivite",
            "periodontite",
        ),
        "radiografia": (
            "radiografia",
            "raio x",
            "raiox",
            "panoramica",
            "tomografia",
        ),
        "odontopediatria": (
            "odontopediatria",
            "odontopediatra",
            "dentista infantil",
            "dentista de crianca",
        ),
        "placa de bruxismo": (
            "placa de bruxismo",
            "placa miorrelaxante",
            "placa para dormir",
            "placa pra dormir",
            "bruxismo",
        ),
    }
)
"""Canonical procedure (folded) -> its folded synonyms, the canonical name included."""

# When several procedures are named, the specific one wins: "extração do siso" is *siso*, and
# "avaliação para implante" is *implante*.
_GENERIC_RANK: Final = {"extracao": 1, "avaliacao": 2}

# "consulta" names the evaluation visit only when it is not the patient's booked appointment:
# "quanto custa a consulta" is an evaluation, "desmarcar minha consulta" names no procedure.
_APPOINTMENT_WORDS: Final = frozenset(
    str.split(
        "minha meu sua seu tua nossa essa esta dessa desta nessa nesta na tenho tinha remarcar"
        " reagendar desmarcar cancelar confirmar mudar trocar adiar antecipar marcada agendada"
    )
)
_WEAK: Final = frozenset({"consulta", "revisao"})
_APPOINTMENT_REACH: Final = 3
"""How many words before a weak synonym an appointment word reaches."""

_CANONICAL_OF: Final = {
    synonym: canonical for canonical, synonyms in PROCEDURES.items() for synonym in synonyms
}
_LONGEST: Final = max(len(synonym.split()) for synonym in _CANONICAL_OF)


_TYPO_MIN_LENGTH: Final = 6
"""Words this long or longer may carry one typo (``limpesa``, ``clariamento``)."""
_ONE_WORD_SYNONYMS: Final = tuple(
    s for s in _CANONICAL_OF if " " not in s and len(s) >= _TYPO_MIN_LENGTH and s not in _WEAK
)


def _one_typo(word: str, synonym: str) -> bool:
    """``word`` is ``synonym`` with one letter swapped for another or two neighbours
    exchanged, keeping the first letter (``limpesa``, ``lipmeza``); a letter more or less
    is not read as a typo (``consultar`` is a verb, not ``consulta``)."""
    if len(word) != len(synonym) or word[0] != synonym[0] or word == synonym:
        return False
    diff = [i for i, (a, b) in enumerate(zip(word, synonym, strict=True)) if a != b]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and word[diff[0]] == synonym[diff[1]]
        and word[diff[1]] == synonym[diff[0]]
    )


def _synonym(phrase: str) -> str | None:
    """The synonym ``phrase`` is, allowing a plural ending (``implantes``, ``lentes``) and,
    in a single long word, one typo (``limpesa``)."""
    if phrase in _CANONICAL_OF:
        return phrase
    for ending in ("s", "es"):
        if phrase.endswith(ending) and phrase[: -len(ending)] in _CANONICAL_OF:
            return phrase[: -len(ending)]
    if " " not in phrase and len(phrase) >= _TYPO_MIN_LENGTH and phrase.isalpha():
        for synonym in _ONE_WORD_SYNONYMS:
            if _one_typo(phrase, synonym):
                return synonym
    return None


def find_procedure_folded(folded: str) -> str | None:
    """Like :func:`find_procedure`, for text already passed through ``fold``.

    Commas (clause breaks added by callers) are respected: no synonym spans one.

    Args:
        folded: Output of :func:`porfin_core.domain.pt_text.fold`.

    Returns:
        The canonical procedure (a key of :data:`PROCEDURES`), or None.
    """
    words = folded.replace(",", " , ").split()
    best: tuple[int, int, str] | None = None
    for start in range(len(words)):
        # Longest phrase first, so "tratamento de canal" is read as one synonym.
        for size in range(min(_LONGEST, len(words) - start), 0, -1):
            phrase_words = words[start : start + size]
            if "," in phrase_words:
                continue
            synonym = _synonym(" ".join(phrase_words))
            if synonym is None:
                continue
            before = words[max(0, start - _APPOINTMENT_REACH) : start]
            if synonym in _WEAK and _APPOINTMENT_WORDS.intersection(before):
                break
            canonical = _CANONICAL_OF[synonym]
            candidate = (_GENERIC_RANK.get(canonical, 0), start, canonical)
            if best is None or candidate < best:
                best = candidate
            break
    return None if best is None else best[2]


def find_procedure(text: str) -> str | None:
    """Return the procedure a message names, as its canonical name.

    Matching is on folded words (no accents, any case), plural endings allowed. When several
    procedures are named, a specific one beats a generic one (*siso* over *extracao*, anything
    over *avaliacao*), then the first named wins. ``consulta`` right after a possessive or a
    scheduling verb (``minha consulta``, ``remarcar a consulta``) is the patient's appointment,
    not the evaluation procedure.

    Args:
        text: A patient message, as written.

    Returns:
        A key of :data:`PROCEDURES`, or None when no procedure is named.
    """
    return find_procedure_folded(fold(text))
