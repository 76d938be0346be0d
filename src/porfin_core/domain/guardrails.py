"""Checks an AI reply must pass before it reaches the patient.

The receptionist books, informs and hands over; it never diagnoses, prescribes, doses or
advises treatment, never promises results, never quotes a price the clinic did not set, and
never shows its plumbing (prompts, tools, JSON). :func:`check_reply` returns what is wrong with
a reply; the pipeline regenerates an invalid reply once, then hands the chat to a person.

Phrases are matched on folded text (:func:`porfin_core.domain.pt_text.fold`), sentence by
sentence. Some checks ignore questions: "Você tem alguma alergia?" is anamnesis, "Você tem uma
cárie" is a diagnosis. The lists aim at what a language model actually writes in Portuguese
when it oversteps, and stay clear of a receptionist's everyday sentences ("Você tem consulta
amanhã às 10h", "O tratamento de canal é feito pelo Dr. Paulo", "Para garantir seu horário,
pedimos um sinal").
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from typing import Final

import attrs

from porfin_core.domain.pt_text import detect_language, fold

__all__ = ["Violation", "ViolationKind", "check_reply", "money_amounts_cents"]


class ViolationKind(enum.StrEnum):
    """Why a reply may not be sent."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_PORTUGUESE = "not_portuguese"
    LEAKS_INTERNAL = "leaks_internal"
    OFFENSIVE = "offensive"
    DIAGNOSIS = "diagnosis"
    PRESCRIPTION = "prescription"
    DOSAGE = "dosage"
    TREATMENT_ADVICE = "treatment_advice"
    PROMISE_OF_RESULT = "promise_of_result"
    INVENTED_PRICE = "invented_price"


@attrs.frozen
class Violation:
    """One problem found in a reply.

    Attributes:
        kind: What rule the reply breaks.
        detail: What was found, for the trace staff read (e.g. ``'"voce tem uma carie"'`` or
            ``"R$ 180,00 não é um preço da clínica"``).
    """

    kind: ViolationKind
    detail: str


# --- Money ----------------------------------------------------------------------------------

# At most a billion reais: longer digit runs are not prices (and int() refuses huge ones).
_NUMBER = (
    r"(?:\d{1,3}(?:\.\d{3}){1,3}(?:,\d{1,2})?|\d{1,9}\.\d{2}(?![\d.])|\d{1,9}(?:,\d{1,2})?)"
    r"(?![\d])"
)
_INSTALMENTS = r"(?:(?P<times>\d{1,2})\s*(?:x|vezes)\s*(?:de\s+|sem\s+juros\s+de\s+)?)?"
_MONEY = re.compile(
    _INSTALMENTS
    + r"(?:"
    + rf"R\$\s*(?P<a>{_NUMBER})(?P<a_mil>\s*mil\b)?"
    + rf"|(?<![\d.,])(?P<b>{_NUMBER})(?P<b_mil>\s*mil)?\s*(?:reais|real)\b"
    + r")",
    re.IGNORECASE,
)


def _to_cents(number: str, thousands: bool) -> int:
    if "," in number:
        whole, fraction = number.split(",")
        cents = int(whole.replace(".", "")) * 100 + int(fraction.ljust(2, "0"))
    elif re.fullmatch(r"\d+\.\d{2}", number):  # "150.00", written the English way
        whole, fraction = number.split(".")
        cents = int(whole) * 100 + int(fraction)
    else:
        cents = int(number.replace(".", "")) * 100
    return cents * 1000 if thousands else cents


def _format_brl(cents: int) -> str:
    whole = f"{cents // 100:,}".replace(",", ".")
    return f"R$ {whole},{cents % 100:02d}"


def money_amounts_cents(text: str) -> tuple[tuple[int, int], ...]:
    """Find the amounts of money written in ``text``.

    Reads ``"R$ 150"``, ``"R$150,00"``, ``"R$ 1.234,56"``, ``"150 reais"``, ``"R$ 2 mil"``
    and instalments (``"3x de R$ 100"``, ``"em 10 vezes de R$ 80,00"``).

    Args:
        text: A reply, as written.

    Returns:
        One ``(amount_cents, instalments)`` pair per amount, in order; ``instalments`` is 1
        unless the amount is one of several instalments.
    """
    found: list[tuple[int, int]] = []
    for match in _MONEY.finditer(text):
        number = match.group("a") or match.group("b")
        thousands = bool(match.group("a_mil") or match.group("b_mil"))
        times = int(match.group("times")) if match.group("times") else 1
        found.append((_to_cents(number, thousands), max(times, 1)))
    return tuple(found)


def _invented_prices(text: str, known: frozenset[int]) -> list[str]:
    invented = []
    for cents, times in money_amounts_cents(text):
        if cents in known or (times > 1 and cents * times in known):
            continue
        invented.append(_format_brl(cents))
    return invented


# --- Phrases --------------------------------------------------------------------------------


def _alternatives(words: str) -> str:
    return "(?:" + "|".join(words.split()) + ")"


_CONDITION = (
    r"(?:caries?|infecc?ao|infeccionad\w*|infeccao|inflamacao|inflamad\w*|abscessos?"
    r"|gengivite|periodontite|doenca periodontal|pulpite|alveolite|pericoronarite|fratura"
    r"|fraturad\w*|trinca|trincad\w*|bruxismo|sinusite|cistos?|tumor|cancer|necrose"
    r"|necrosad\w*|dtm|disfuncao|herpes|aftas?|candidiase|sapinho|halitose|mau halito"
    r"|sensibilidade dentinaria|nervo (?:exposto|inflamado|morto|comprometido)"
    r"|dente (?:morto|inflamado|infeccionado|necrosado|incluso)|siso (?:incluso|impactado)"
    r"|granuloma|lesao|osteomielite|celulite|neuralgia|nevralgia|tartaro|retracao gengival"
    r"|maloclusao|mordida cruzada|virose|gripe|covid|dengue|diabetes|anemia|hipertensao"
    r"|pressao alta|enxaqueca|alveolite|pedra no rim|calculo|labirintite|otite|amigdalite"
    r"|faringite|conjuntivite|gastrite|refluxo|ansiedade|depressao|problema (?:no|de) canal)"
)
_DRUG = _alternatives(
    """
    amoxicilina amoxil clavulanato azitromicina clindamicina cefalexina cefadroxil metronidazol
    penicilina benzetacil ciprofloxacino ibuprofeno advil alivium nimesulida dipirona novalgina
    paracetamol tylenol cetoprofeno profenid diclofenaco cataflan voltaren dexametasona decadron
    prednisona prednisolona betametasona celestone cetorolaco toragesic tramadol codeina tylex
    torsilax dorflex buscopan omeprazol clorexidina periogard nistatina aciclovir loratadina
    allegra fexofenadina dramin rivotril diazepam bromazepam aspirina aas omcilon
    """
)
_DRUG_CLASS = (
    r"(?:remedios?|medicamentos?|medicacao|antibioticos?|anti inflamatorios?|antiinflamatorios?"
    r"|analgesicos?|antialergicos?|relaxante muscular|calmantes?|corticoides?|antissepticos?"
    r"|enxaguantes?|comprimidos?|capsulas?|gotas|pastilhas?|xarope|spray)"
)
_PRESCRIBE = (
    r"(?<!nao )(?<!nunca )(?<!sem )(?:tome|tomar|use|usar|utilize|utilizar|ingira"
    r"|pode tomar|pode usar|podera tomar|recomendo|recomendamos|recomendaria|indico|indicamos"
    r"|sugiro|sugerimos|receito|receitar|vou receitar|prescrevo|prescrever|comece a tomar"
    r"|continue tomando|continue a tomar|mantenha o|suspenda o|suspenda a|pare de tomar"
    r"|interrompa)"
)


@attrs.frozen
class _Check:
    kind: ViolationKind
    pattern: re.Pattern[str]
    # Questions ("Você tem alguma alergia?") don't state anything about the patient.
    statements_only: bool = False


def _checks(
    kind: ViolationKind, patterns: Iterable[str], *, statements_only: bool = False
) -> tuple[_Check, ...]:
    return tuple(
        _Check(kind, re.compile(rf"(?<!\w)(?:{pattern})(?!\w)"), statements_only)
        for pattern in patterns
    )


_PHRASES: Final = (
    *_checks(
        ViolationKind.LEAKS_INTERNAL,
        (
            r"system prompt|prompt(?: do| de)? sistema|prompt|instrucoes do sistema"
            r"|minhas instrucoes|fui (?:instruid[oa]|programad[oa]|configurad[oa]) (?:para|pra)",
            r"as an ai|language model|modelo de linguagem|modelo de ia|llm|openai|chatgpt|gpt"
            r"|anthropic|large language",
            r"tool|tools|tool call|function call|function calling|json|api|endpoint|payload"
            r"|token|tokens",
            r"(?:chamar|chamei|chamando|usar|usei|usando|executar|executei|acionar|acionei"
            r"|invocar|invoquei) (?:a |uma )?(?:funcao|ferramenta)",
            r"base de conhecimento|knowledge base|documentos fornecidos|contexto fornecido"
            r"|trechos recuperados|dados fornecidos",
        ),
    ),
    *_checks(
        ViolationKind.OFFENSIVE,
        (
            _alternatives(
                """
                porra caralho merda bosta puta puto putaria fdp foda foder fodase fuder idiota
                imbecil otario otaria babaca desgracado desgracada arrombado arrombada viado
                retardado retardada vagabundo vagabunda piranha corno cu pqp vsf tnc
                """
            ),
            r"cala (?:a )?boca|vai se (?:ferrar|lascar|danar|catar)|voce e (?:um |uma )?"
            r"(?:burr[oa]|lixo|chat[oa]|ridicul[oa]|palhac[oa]|louc[oa]|doid[oa])",
        ),
    ),
    *_checks(
        ViolationKind.DIAGNOSIS,
        (
            r"(?<!se )(?<!caso )(?<!quando )voce (?:tem|teria|deve ter|pode ter|provavelmente tem"
            r"|esta com|ta com|estaria com"
            r"|deve estar com|pode estar com|sofre de|desenvolveu|esta desenvolvendo)"
            rf" (?:(?:uma|um|o|a|alguma|algum|principio de|inicio de|quadro de|sinais? de)"
            rf" ){{0,2}}{_CONDITION}",
            r"(?:parece ser|parece|pode ser|deve ser|provavelmente (?:e|seja)|provavel que seja"
            r"|isso e|isso seria|trata se de|e (?:um |uma )?caso de|sinal de|sinais de"
            r"|sintomas? de|indicativo de|indica|indicam|caracteristico de|tipico de"
            r"|compativel com|quadro de|diagnostico (?:de|e|seria)|seu caso e|seu caso parece)"
            rf" (?:\w+ ){{0,2}}{_CONDITION}",
            # Reassurance is a diagnosis too; "isso pode ser grave" (urging care) is not.
            r"(?:parece|pode|deve) ser (?:um |uma |algo |so |apenas |um caso )?(?:problema |caso"
            r" |coisa )?(?:simples|leve|comum|normal|passageir[oa]|nada demais|bobagem)",
            r"(?:parece que|acho que|pelo jeito|pelo visto|pelos sintomas|pelo que voce"
            r" (?:descreveu|disse|contou|falou)|com certeza|certamente|sem duvida)"
            rf" (?:\w+ ){{0,4}}{_CONDITION}",
            r"seu caso (?:e|parece|indica|exige|requer|nao e)",
            r"nao (?:e|deve ser|parece(?: ser)?) nada(?: demais| de mais)?$",
            r"provavelmente (?:e|seja|voce tem|voce esta|vai precisar|precisa)",
            r"(?:nao|nada) (?:e |parece |deve ser )?(?:nada )?(?:grave|serio|preocupante)",
            r"(?:e|eh|isso e|isso eh) (?:totalmente |bem |muito |perfeitamente |bastante )?"
            r"(?:normal|comum|esperado) (?:\w+ ){0,3}(?:sangr\w*|doer|dor|inch\w*|febre"
            r"|sensibilidade|dormen\w*|pus|latej\w*|extracao|cirurgia|procedimento)",
            r"o diagnostico",
        ),
        statements_only=True,
    ),
    *_checks(
        ViolationKind.PRESCRIPTION,
        (
            rf"{_PRESCRIBE} (?:\w+ ){{0,3}}(?:{_DRUG}|{_DRUG_CLASS})",
            rf"{_DRUG} (?:\w+ ){{0,3}}(?:resolve|ajuda|alivia|e indicad\w*|e o melhor|funciona)",
            r"(?:o ideal|o melhor|o indicado|o recomendado|o mais indicado) (?:e|seria|eh)"
            rf" (?:\w+ ){{0,3}}(?:{_DRUG}|{_DRUG_CLASS})",
        ),
        statements_only=True,
    ),
    *_checks(
        ViolationKind.DOSAGE,
        (
            r"\d+ ?(?:mg|mcg|ml|miligramas?|gotas|gts|comprimidos?|capsulas?|cps)",
            r"de \d+ ?em \d+ ?(?:h|hs|horas)",
            r"(?:a cada|cada) \d+ ?(?:h|hs|horas)",
            r"\d+ (?:vezes|x) (?:ao|por|no) dia",
            r"(?:um|uma|dois|duas|tres|meio|meia) (?:comprimidos?|capsulas?|gotas|colher\w*)",
            rf"{_DRUG} (?:\w+ ){{0,3}}(?:por|durante) \d+ dias",
        ),
    ),
    *_checks(
        ViolationKind.TREATMENT_ADVICE,
        (
            r"(?:faca|faz|fazer|fazendo|facam) (?:um |uns |o )?bochechos?",
            r"bochech(?:e|ar|em|a|ando|o) (?:\w+ ){0,2}com",
            r"(?<!nao )(?:coloque|coloca|colocar|aplique|aplica|aplicar|passe|passa|passar|ponha"
            r"|poe|use|usar|utilize|faca|fazer) (?:um |uma |a |o |bastante |)?(?:gelo|compressas?"
            r"|pomadas?|cravo|sal|agua morna|agua com sal|bicarbonato|saquinho de cha|cha"
            r"|alho|mel|vinagre|oleo|creme|enxaguante|agua oxigenada)(?!\w)",
            r"compressas? (?:fria|quente|gelada|de gelo|morna)|agua morna com sal|agua com sal",
            r"escov\w* (?:\w+ ){0,2}com (?:bicarbonato|sal|carvao|limao|agua oxigenada)",
            r"(?:evite|evitar|nao coma|nao beba|nao fume|nao cuspa|nao mastigue) (?:\w+ ){0,3}"
            r"(?:mastigar|comer|alimentos|bebidas|cuspir|fumar|esforco|exercicios?|quente"
            r"|bochechos?|quentes|gelad[oa]s?|canudo|bochechar|sol|alcool|duros|lado)",
            r"(?:fique|ficar|faca|fazer|mantenha) (?:de |em )?repouso|durma com a cabeca",
            r"(?:espere|aguarde|aguardar|esperar) (?:\w+ ){0,3}(?:passe|passa|passar|melhore"
            r"|melhora|melhorar|desinche|desincha|desinchar|pare de)",
            r"(?:espere|aguarde|aguardar|esperar) (?:\w+ ){0,3}(?:para|pra) ver se (?:\w+ ){0,3}"
            r"(?:passa|melhora|desincha|para)",
            r"nao (?:precisa|e necessario|ha necessidade de) (?:ir|procurar|voltar) (?:ao|a|no"
            r"|na|um|uma) (?:dentista|medico|pronto socorro|emergencia|hospital|upa)",
            r"nao (?:precisa|e necessario) se preocupar com (?:a |o )?(?:dor|sangr\w*|inch\w*"
            r"|febre)",
            r"(?<!se )(?<!caso )(?<!quem )(?<!se voce )(?<!caso voce )(?<!quem )"
            r"(?:voce )?(?:precisa|vai precisar|tera que|deve|devera|precisaria|teria que)"
            r" (?:fazer |de |tirar |extrair |colocar )?(?:um |uma |o |a )?(?:canal|extracao"
            r"|tratamento de canal|implante|cirurgia|restauracao|obturacao|antibiotico|enxerto"
            r"|coroa|raspagem|biopsia|tirar o dente|extrair o dente|aparelho|clareamento"
            r"|tirar o siso|extrair o siso)",
        ),
        statements_only=True,
    ),
    *_checks(
        ViolationKind.PROMISE_OF_RESULT,
        (
            r"garant\w*(?! (?:\w+ )?(?:horario|vaga|reserva|agendamento|atendimento|lugar"
            r"|consulta|data|desconto|condicao)\b)(?! (?:de|por) \d+ (?:anos?|meses)\b)",
            r"100 ?(?:%|por cento)? (?:sem dor|garantido|seguro|eficaz|natural|de sucesso"
            r"|indolor|eficiente|dos casos)",
            r"(?:nao|nunca) (?:vai |ira |vais )?(?:doer|doi|doera|sentir (?:nenhuma )?dor"
            r"|sentir nada|ter dor)",
            r"(?:e|sera|fica|eh) (?:totalmente |completamente |100 )?(?:indolor|sem dor)|indolor",
            r"(?:fica|ficara|vai ficar|ficarao|ficam|vao ficar|deixa|vai deixar|deixamos)"
            r" (?:\w+ ){0,3}(?:perfeit\w*|impecave\w*|branquissim\w*|natural para sempre)",
            r"resultado (?:garantido|perfeito|definitivo|permanente|imediato|certo)"
            r"|cura (?:definitiva|garantida|total)",
            r"(?:resolve|resolvemos|resolver|resolvera) (?:\w+ )?(?:de vez|definitivamente"
            r"|para sempre|pra sempre)",
            r"(?:dura|durar|duram|durara) (?:para sempre|pra sempre|a vida (?:toda|inteira))",
            r"resultado (?:\w+ ){0,3}(?:e |sera |fica )?garantid\w*",
            r"sem (?:nenhum )?risco(?! de (?:multa|cobranca|perder|pagar))|zero risco|risco zero"
            r"|nenhum risco",
            r"nunca mais (?:vai )?(?:ter|sentir|precisar)",
            r"certeza (?:de )?(?:que )?(?:vai|ira) (?:ficar|dar certo|funcionar|resolver)",
            r"(?:sucesso|eficacia) (?:garantid\w*|de 100|total)",
        ),
        statements_only=True,
    ),
)

# Raw-text signs of plumbing that folding would hide: JSON, code, template slots, roles.
_RAW_LEAKS: Final = (
    re.compile(r"[{\[]\s*\"[^\"\n]{1,40}\"\s*:"),
    re.compile(r"```|<\|?/?(?:tool|function|system|assistant|im_start|im_end)\w*\|?>"),
    re.compile(r"\{\{|\}\}|\{[a-z_]{2,30}\}"),
    re.compile(r"(?<![@/.\w])[a-z]{2,}(?:_[a-z]{2,})+\b(?![@.]\w)"),
    re.compile(r"(?im)^\s*(?:system|assistant|user|sistema|assistente|usuario|tool)\s*:"),
)

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def _sentences(text: str) -> list[tuple[str, bool]]:
    """Folded sentences, each with whether it is a question."""
    return [
        (fold(sentence), sentence.rstrip().endswith("?"))
        for sentence in _SENTENCE_END.split(text)
        if sentence.strip()
    ]


def check_reply(
    text: str, *, known_prices_cents: frozenset[int], max_chars: int = 1000
) -> tuple[Violation, ...]:
    """Find what keeps an AI reply from being sent to the patient.

    Args:
        text: The reply the model wrote.
        known_prices_cents: Every amount the clinic has set (prices, deposits, fees), in
            centavos; any other amount in the reply is an invented price. An amount paid in
            instalments is accepted when the instalments add up to a known price.
        max_chars: Longest reply allowed (WhatsApp-sized by default).

    Returns:
        At most one violation per kind, in :class:`ViolationKind` order; empty when the reply
        may be sent. An empty reply yields only :attr:`ViolationKind.EMPTY`.
    """
    if not fold(text):
        return (Violation(ViolationKind.EMPTY, "a resposta está vazia"),)
    found: dict[ViolationKind, str] = {}
    if len(text) > max_chars:
        found[ViolationKind.TOO_LONG] = f"{len(text)} caracteres (máximo {max_chars})"
    language = detect_language(text)
    if language in ("en", "es"):
        found[ViolationKind.NOT_PORTUGUESE] = f"idioma detectado: {language}"
    for raw in _RAW_LEAKS:
        if (match := raw.search(text)) is not None:
            found.setdefault(ViolationKind.LEAKS_INTERNAL, f'"{match.group(0).strip()}"')
    sentences = _sentences(text)
    for check in _PHRASES:
        if check.kind in found:
            continue
        for sentence, is_question in sentences:
            if is_question and check.statements_only:
                continue
            if (match := check.pattern.search(sentence)) is not None:
                found[check.kind] = f'"{match.group(0)}"'
                break
    invented = _invented_prices(text, known_prices_cents)
    if invented:
        found[ViolationKind.INVENTED_PRICE] = (
            ", ".join(invented) + " não " + ("é preço" if len(invented) == 1 else "são preços")
        ) + " da clínica"
    return tuple(Violation(kind, found[kind]) for kind in ViolationKind if kind in found)
