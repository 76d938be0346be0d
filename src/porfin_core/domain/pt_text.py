"""Brazilian Portuguese as patients type it on WhatsApp: folding, words and a language guess.

Patients write without accents, in capitals, with abbreviations (``vc``, ``ta``, ``mto``),
stretched letters (``dooooor``, ``nãaaao``) and emojis. Everything that matches words against
patient text (red flags, intents, retrieval) compares *folded* text, so that ``"DOOOR
insuportável!!!"`` and ``"dor insuportavel"`` are the same words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = [
    "ABBREVIATIONS",
    "LANGUAGES",
    "detect_language",
    "expand_abbreviations",
    "fold",
    "squeeze",
    "words",
]

LANGUAGES: Final = ("pt", "en", "es", "unknown")
"""Every value :func:`detect_language` can return."""

_NOT_WORD = re.compile(r"[\W_]+")
# A letter (not a digit: "10000" is a number) repeated three times or more.
_LETTER_RUN = re.compile(r"([^\W\d_])\1{2,}")
# Any doubled letter, for :func:`squeeze`.
_LETTER_PAIR = re.compile(r"([^\W\d_])\1+")
# Portuguese doubles only these two consonants, and only between letters ("carro", "isso").
_DOUBLE_OK = frozenset("rs")


def _shorten_run(match: re.Match[str]) -> str:
    letter = match.group(1)
    if letter in _DOUBLE_OK:
        text, start, end = match.string, match.start(), match.end()
        inside_word = start > 0 and text[start - 1].isalpha() and end < len(text)
        if inside_word and text[end].isalpha():
            return letter * 2  # "socorrrrro" -> "socorro", "issssso" -> "isso"
    return letter  # "dooooor" -> "dor", "siiiim" -> "sim", "kkkkk" -> "k"


# The accents of Latin letters; other scripts' marks are looked up one by one.
_LATIN_MARKS = re.compile("[\u0300-\u036f]+")


def _fold_once(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = _LATIN_MARKS.sub("", decomposed)
    if not bare.isascii():
        bare = "".join(ch for ch in bare if not unicodedata.combining(ch))
    # Compatibility decomposition can produce capitals again (Roman numerals, ligatures).
    spaced = _NOT_WORD.sub(" ", bare.casefold())
    return " ".join(_LETTER_RUN.sub(_shorten_run, spaced).split())


def fold(text: str) -> str:
    """Return ``text`` reduced to the form words are compared in.

    Lowercases, strips accents (``ç`` -> ``c``, ``ã`` -> ``a``), turns every run of
    punctuation, symbols and emojis into one space, collapses letters stretched three times or
    more (``dooooor`` -> ``dor``; ``rr`` and ``ss`` inside a word stay doubled, so
    ``socorrrro`` -> ``socorro``), and trims and collapses whitespace. Digits are kept as they
    are. The result holds only lowercase word characters separated by single spaces, and
    ``fold(fold(t)) == fold(t)``.

    Args:
        text: Any text, as the patient typed it.

    Returns:
        The folded text; ``""`` when ``text`` has no letters or digits.
    """
    folded = _fold_once(text)
    # Plain ASCII output is already stable; exotic scripts may need another pass (casefolding
    # can expand a letter into one that has a compatibility decomposition).
    while not folded.isascii():
        again = _fold_once(folded)
        if again == folded:
            break
        folded = again
    return folded


def _squeeze_pair(match: re.Match[str]) -> str:
    pair = match.group(0)
    if len(pair) == 2 and pair[0] in _DOUBLE_OK:
        return pair
    return match.group(1)


def squeeze(folded: str) -> str:
    """Collapse every doubled letter of already folded text, except ``rr`` and ``ss``.

    Patients also stretch words by a single letter (``dooor``, ``muitoo``); :func:`fold` keeps
    those because Portuguese has real double vowels (``voo``, ``enjoo``, ``alcool``). Matchers
    that want to be lenient compare squeezed text against squeezed patterns.

    Args:
        folded: Output of :func:`fold`.

    Returns:
        ``folded`` with doubled letters collapsed.
    """
    return _LETTER_PAIR.sub(_squeeze_pair, folded)


def words(text: str) -> list[str]:
    """Return the folded words of ``text``, in order (see :func:`fold`).

    Args:
        text: Any text, as the patient typed it.

    Returns:
        The words; an empty list when ``text`` has no letters or digits.
    """
    return fold(text).split()


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


ABBREVIATIONS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "vc": "voce",
        "vcs": "voces",
        "ce": "voce",
        "n": "nao",
        "nn": "nao",
        "naum": "nao",
        "q": "que",
        "pq": "porque",
        "c": "com",
        "cm": "com",
        "d": "de",
        "p": "para",
        "mt": "muito",
        "mto": "muito",
        "mtu": "muito",
        "mta": "muita",
        "mtos": "muitos",
        "mtas": "muitas",
        "dms": "demais",
        "dmais": "demais",
        "tb": "tambem",
        "tbm": "tambem",
        "tmb": "tambem",
        "hj": "hoje",
        "dps": "depois",
        "dpois": "depois",
        "qro": "quero",
        "qr": "quero",
        "qria": "queria",
        "msm": "mesmo",
        "nd": "nada",
        "td": "tudo",
        "tds": "todos",
        "cmg": "comigo",
        "agr": "agora",
        "aq": "aqui",
        "ngm": "ninguem",
        "obg": "obrigado",
        "vlw": "valeu",
        "blz": "beleza",
        "pfv": "por favor",
        "pfvr": "por favor",
        "pf": "por favor",
        "sla": "sei la",
        "vdd": "verdade",
        "mds": "meu deus",
        "amnh": "amanha",
        "amh": "amanha",
        "qdo": "quando",
        "qnd": "quando",
        "qd": "quando",
        "qto": "quanto",
    }
)
"""Chat abbreviations Brazilians use, folded, with the words they stand for."""


def expand_abbreviations(folded: str) -> str:
    """Spell out the chat abbreviations of already folded text (see :data:`ABBREVIATIONS`).

    ``"vc ta c dor dps q tirou?"`` folds to ``"vc ta c dor dps q tirou"``, which expands to
    ``"voce ta com dor depois que tirou"``. Colloquial words that are not abbreviations
    (``ta``, ``to``, ``tava``, ``pra``, ``pro``) are left alone.

    Args:
        folded: Output of :func:`fold` (or of :func:`squeeze`).

    Returns:
        The text with every abbreviation replaced by its words.
    """
    return " ".join(ABBREVIATIONS.get(word, word) for word in folded.split(" "))


# Function words and receptionist vocabulary that belong to one language only once folded.
# Words shared by two of them ("para", "consulta", "que", "no", "to", "esta") score nothing.
_MARKERS: Final[dict[str, frozenset[str]]] = {
    "pt": _word_set(
        """
        nao naum voce vc vcs voces quero queria gostaria obrigado obrigada obg brigado brigada
        tenho estou estava ta tava uma um meu minha meus minhas amanha hoje agora ainda
        tambem tb tbm muito muita mto mt pra pro com isso esse essa entao depois ja mais
        sao oi ola tudo bem bom boa dente dentes dor marcar agendar horario horarios limpeza
        clareamento valor quanto custa do da dos das ao aos em eu ele ela preciso pode posso
        podem vou vai fiz foi teria tchau valeu vlw blz beleza pq q k kk manha noite semana
        proxima segunda terca quarta quinta sexta doutor doutora consigo sim gente fazer tem
        quando onde fica ficar consegue conseguir desculpa atende atendem aceita aceitam qual
        quais ate falar pessoa encaixar remarcar chamar funcao equipe nosso nossa
        """
    ),
    "es": _word_set(
        """
        hola quiero quisiera una cita manana gracias necesito tengo usted ustedes estoy puedo
        puede podria el los las del muy pero cuanto cuesta dolor muela muelas diente dientes
        hoy ayer buenos buenas hacer y yo es si bien ahora tambien donde cuando en con mi su
        ya hay hasta senor senora doctora doctor mucho mucha muchas muchos soy son precio
        limpieza blanqueamiento tiene tienen quisiera un unos unas proximo gustaria tenemos
        disponible podemos necesita usted nosotros
        """
    ),
    "en": _word_set(
        """
        hi hello hey i need an appointment the is are you your my please thanks thank want
        would like can could cannot tomorrow today how much cost what where when have has it
        for with tooth teeth pain dentist yes good morning afternoon evening book schedule
        cleaning price and of does this that there am im be was were been will should which who
        about from by our us they their he she his her all just only also here then than now
        next week sorry speak english we in on at not any available doctor as give get if or
        but help sure advice medical language model
        """
    ),
}


# Greetings that settle a short message: "bom dia" is Portuguese although "dia" is shared.
_GREETINGS: Final[dict[str, str]] = {
    "bom dia": "pt",
    "boa tarde": "pt",
    "boa noite": "pt",
    "buenos dias": "es",
    "buenas tardes": "es",
    "buenas noches": "es",
    "good morning": "en",
    "good afternoon": "en",
    "good evening": "en",
}


def detect_language(text: str) -> str:
    """Guess whether ``text`` is Portuguese, English or Spanish.

    Counts words that belong to one language only. Short or ambiguous messages (``"ok"``,
    ``"sim"``, ``"1"``, an emoji, a name) return ``"unknown"``, which callers treat as
    Portuguese: Porfin serves Brazilian clinics, and sending a Brazilian to a person because
    of a one-word reply would be the worse mistake.

    Args:
        text: A patient message or a reply, as written.

    Returns:
        ``"pt"``, ``"en"``, ``"es"`` or ``"unknown"`` (see :data:`LANGUAGES`).
    """
    folded = fold(text)
    tokens = folded.split()
    if not tokens:
        return "unknown"
    scores = {lang: sum(token in markers for token in tokens) for lang, markers in _MARKERS.items()}
    padded = f" {folded} "
    for greeting, lang in _GREETINGS.items():
        if f" {greeting} " in padded:
            scores[lang] += 1
    best = max(scores, key=lambda lang: scores[lang])
    top = scores[best]
    runner_up = max(score for lang, score in scores.items() if lang != best)
    if top < 2 or top <= runner_up:
        return "unknown"
    # A foreign verdict sends the patient to a person: demand more evidence, and a clear lead
    # over Portuguese (replies and messages mix in English words: "book", "delivery", "ok").
    if best != "pt" and (top < 3 or top <= 2 * scores["pt"]):
        return "unknown"
    return best
