"""Clinical red flags: patient messages that must reach a person at once, before any model call.

The receptionist is not a clinician. When a patient describes pain out of control, bleeding
that won't stop, swelling that spreads to the face or neck, trouble breathing, suicidal talk
and the like, the chat is handed to the staff with urgent priority, the patient gets a short
safe message (:func:`safe_reply`) and the secretary a note (:func:`staff_note`).

Matching works on normalized text (:func:`porfin_core.domain.pt_text.fold`, then
:func:`~porfin_core.domain.pt_text.squeeze` and
:func:`~porfin_core.domain.pt_text.expand_abbreviations`), so accents, capitals, stretched
letters, ``vc``/``dps``/``mto`` and emojis don't matter; clause breaks (``,`` ``.`` ``?``) are
kept. Each category is a table of phrase patterns; a few need a context elsewhere in the
message (fever counts after a procedure) or are cancelled by one (gums that bleed when
brushing are routine). A match is ignored when a negation governs it (``"nao tenho febre"``,
``"sem dor"``), when it is hypothetical (``"se sangrar muito"``, ``"medo de ter febre"``),
for passing symptoms when the patient says it is over (``"sangrou muito mas ja parou"``), and
for datable events when the clause places them long ago (``"desmaiei ano passado"``). Jokes
and figures of speech that borrow the same words (``"morrendo de rir"``, ``"quase desmaiei com
o preco"``, ``"bater um raio-x"``) are excluded pattern by pattern.

When in doubt the table errs toward a handoff: a person reading a false alarm costs a minute,
a missed emergency costs much more.
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs

from porfin_core.domain.pt_text import expand_abbreviations, fold, squeeze, words

__all__ = [
    "CALL_EMERGENCY_REPLY",
    "LIFE_THREATENING",
    "SELF_HARM_REPLY",
    "URGENT_REPLY",
    "RedFlag",
    "RedFlagCategory",
    "find_red_flag",
    "safe_reply",
    "staff_note",
]


class RedFlagCategory(enum.StrEnum):
    """What kind of emergency a patient message suggests.

    Declared from the most to the least pressing: when a message matches several categories,
    :func:`find_red_flag` reports the first in this order.
    """

    SELF_HARM = "self_harm"
    BREATHING_OR_SWALLOWING = "breathing_or_swallowing"
    CHEST_PAIN = "chest_pain"
    ALLERGIC_REACTION = "allergic_reaction"
    FAINTING = "fainting"
    NUMBNESS_OR_PARALYSIS = "numbness_or_paralysis"
    PREGNANCY_EMERGENCY = "pregnancy_emergency"
    UNCONTROLLED_BLEEDING = "uncontrolled_bleeding"
    TRAUMA = "trauma"
    SPREADING_SWELLING = "spreading_swelling"
    FEVER_AFTER_PROCEDURE = "fever_after_procedure"
    HIGH_FEVER = "high_fever"
    SEVERE_PAIN = "severe_pain"


@attrs.frozen
class RedFlag:
    """A red flag found in a patient message.

    Attributes:
        category: What kind of emergency it suggests.
        matched: The phrase that matched, as normalized for matching (lowercase, no accents,
            abbreviations spelled out: ``"n consigo engolir"`` gives ``"nao consigo engolir"``);
            shown to staff in :func:`staff_note`.
    """

    category: RedFlagCategory
    matched: str


LIFE_THREATENING: Final = frozenset(
    {
        RedFlagCategory.BREATHING_OR_SWALLOWING,
        RedFlagCategory.CHEST_PAIN,
        RedFlagCategory.ALLERGIC_REACTION,
        RedFlagCategory.FAINTING,
        RedFlagCategory.NUMBNESS_OR_PARALYSIS,
        RedFlagCategory.PREGNANCY_EMERGENCY,
    }
)
"""Categories where the patient is told to call SAMU now rather than wait for the staff."""

URGENT_REPLY: Final = (
    "Já chamei uma pessoa da nossa equipe para falar com você agora. "
    "Se for uma emergência, ligue 192 (SAMU) ou procure o pronto-socorro mais próximo."
)
"""What the patient reads when a red flag hands the chat to a person."""

CALL_EMERGENCY_REPLY: Final = (
    "Isso pode ser grave: ligue agora para o 192 (SAMU) ou vá ao pronto-socorro mais "
    "próximo. Já chamei uma pessoa da nossa equipe para falar com você."
)
"""What the patient reads for a :data:`LIFE_THREATENING` red flag."""

SELF_HARM_REPLY: Final = (
    "Sinto muito que você esteja passando por isso, e obrigado por contar. Já chamei uma "
    "pessoa da nossa equipe para falar com você agora. Se quiser conversar com alguém neste "
    "momento, o CVV atende 24 horas pelo 188 (ligação gratuita) ou em cvv.org.br. "
    "Se você estiver em perigo agora, ligue 192 (SAMU)."
)
"""What the patient reads when the message suggests suicidal thoughts or self-harm."""

_LABELS: Final[dict[RedFlagCategory, str]] = {
    RedFlagCategory.SELF_HARM: "fala em suicídio ou em se machucar",
    RedFlagCategory.BREATHING_OR_SWALLOWING: "dificuldade para respirar ou engolir",
    RedFlagCategory.CHEST_PAIN: "dor ou aperto no peito",
    RedFlagCategory.ALLERGIC_REACTION: "possível reação alérgica ou a medicamento",
    RedFlagCategory.FAINTING: "desmaio, mal-estar forte, convulsão ou perda de consciência",
    RedFlagCategory.NUMBNESS_OR_PARALYSIS: "dormência prolongada ou paralisia",
    RedFlagCategory.PREGNANCY_EMERGENCY: "gestante com sangramento ou sinais de urgência",
    RedFlagCategory.UNCONTROLLED_BLEEDING: "sangramento que não para",
    RedFlagCategory.TRAUMA: "trauma (queda, batida, dente quebrado ou perdido)",
    RedFlagCategory.SPREADING_SWELLING: "inchaço se espalhando (rosto, olho ou pescoço)",
    RedFlagCategory.FEVER_AFTER_PROCEDURE: "febre depois de um procedimento",
    RedFlagCategory.HIGH_FEVER: "febre alta ou que não baixa",
    RedFlagCategory.SEVERE_PAIN: "dor intensa",
}


def safe_reply(flag: RedFlag) -> str:
    """Return the short pt-BR message sent to the patient when ``flag`` is found.

    Args:
        flag: The red flag found in the patient's message.

    Returns:
        :data:`SELF_HARM_REPLY` (CVV 188) for self-harm, :data:`CALL_EMERGENCY_REPLY` for
        :data:`LIFE_THREATENING` categories, :data:`URGENT_REPLY` otherwise.
    """
    if flag.category is RedFlagCategory.SELF_HARM:
        return SELF_HARM_REPLY
    if flag.category in LIFE_THREATENING:
        return CALL_EMERGENCY_REPLY
    return URGENT_REPLY


def staff_note(flag: RedFlag) -> str:
    """Return the pt-BR note that tells the secretary why the chat was handed over.

    Args:
        flag: The red flag found in the patient's message.

    Returns:
        One line naming the alert and quoting the phrase that triggered it.
    """
    return (
        f"URGENTE: sinal de alerta clínico ({_LABELS[flag.category]}). "
        f'O paciente escreveu "{flag.matched}". '
        "A IA não vai responder; fale com o paciente agora."
    )


# ---------------------------------------------------------------------------------------------
# Pattern language. Patterns are regexes over the normalized text (folded, squeezed,
# abbreviations spelled out, clause breaks kept as "," and "?" words), plus conveniences:
#   a space      matches the space between two words, across a clause break (",", "!", ...);
#   " ~ "        skips up to 3 words, " ~~ " up to 6 (see _GAP_WORD);
#   <Q>          not followed by a question mark in the same clause;
#   <NAME>       expands a shared word list from _MACROS.
# Pattern sources are squeezed like the text, so "enjoo" and "dooor" may be written naturally.
# ---------------------------------------------------------------------------------------------

_NEGATORS: Final = frozenset(words("nao naum n nn sem nunca nem nenhum nenhuma num jamais zero"))
# Words that may stand between a negation and what it negates: "nao TENHO MAIS febre".
_FILLERS: Final = frozenset(
    words(
        """
    tenho tem tinha tive teve ter to tou estou esta ta tava estava estive esteve fiquei ficou
    fica sinto senti sentiu sente sentindo sentir com de a o as os um uma mais muita muito mto
    mt eu ele ela ja ha houve apresentou apresenta deu e eh foi era tenha
    """
    )
)
_RESOLVED: Final = frozenset(
    words(
        "passou melhorou sumiu parou acabou estancou diminuiu desinchou baixou cessou"
        " melhorando desinchando diminuindo passando"
    )
)

_SEP = r" (?:[,?] )?"
# Gaps never skip a negation ("rosto NAO ta inchado") nor a softener ("ta UM POUCO inchado").
_GAP_WORD = r"(?!(?:nao|naum|n|nn|sem|nem|nunca|pouco|pouquinho|levemente|leve)\b)\w+ (?:[,?] )?"
# "<Q>": not followed, within the same clause, by a question mark ("o canal doi muito?").
_NOT_A_QUESTION = r"(?!(?: \w+){0,4} \?)"
_GAPS: Final = {"\x00": "{0,6}", "\x01": "{0,3}"}

_MACROS: Final[dict[str, str]] = {
    # Mild: "inchou um pouco", "sangrou so um pouquinho".
    "MILD": r"(?! (?:so |bem |muito )?(?:um )?(?:pouc\w*|pouquinho|levemente|de leve|leve)\b)",
    "MUITO": r"(?:muito|muita|mto|mt|mta|super|mega|bem|extremamente|absurdamente|tao|mais)",
    "NO": r"(?:nao|naum|n|nn)",
    # Figures of speech: "morrendo de rir", "me matar de trabalhar", "quase desmaiei de susto".
    "JOKE": (
        r"(?! (?:de|do|da|com|pelo|pela) (?:o |a |os |as |tanto |tanta )?(?:rir|rindo|riso"
        r"|vontade|fome|sede|sono|medo|vergonha|saudade|calor|frio|inveja|curiosidade|tedio"
        r"|cansaco|preguica|susto|ansiedade|amor|trabalhar|trabalho|estudar|estudo|malhar"
        r"|correr|comer|dor|preco|valor|conta|felicidade|alegria|emocao|tanta|tanto|raiva"
        r"|odio|ciume|velhice|velho|velha)\b)"
    ),
    "FACE": (
        r"(?:rosto|cara|face|olho|olhos|palpebra|pescoco|garganta|papada|queixo|mandibula"
        r"|bochecha toda|lado do rosto|metade do rosto|lado da cara|metade da cara)"
    ),
    "MOUTH": (
        r"(?:dente|dentes|boca|labio|labios|rosto|cara|cabeca|queixo|mandibula|maxilar|nariz"
        r"|olho|gengiva|lingua|testa)"
    ),
    "RESTORATION": (
        r"(?:restauracao|obturacao|coroa|faceta|facetas|lente|lentes|protese|ponte"
        r"|provisorio|aparelho|bracket|braquete|massinha|resina|tampa|tampinha|pino|ficha"
        r"|dentadura|placa|dente de leite|implante)"
    ),
    "HIT": (
        r"(?:cai|caiu (?:de|da|do|no|na|em|e|feio)|caindo|queda|tombo|tombei|levei um tombo"
        r"|bati|bateu|batida|pancada|bolada|cotovelada|cabecada|joelhada|soco|murro|tapa"
        r"|acidente|atropel\w*|apanhei|apanhou|agredid[oa]|agressao|trombei|trombou"
        r"|escorreguei|escorregou)"
    ),
    # What can cause a reaction: the clinic's drugs and anaesthetics.
    "DRUG": (
        r"(?:remedio|remedios|medicamento|medicacao|antibiotico|anti inflamatorio"
        r"|antiinflamatorio|analgesico|anestesia|anestesico|amoxicilina|amoxil|penicilina"
        r"|benzetacil|dipirona|novalgina|ibuprofeno|nimesulida|diclofenaco|cetoprofeno"
        r"|paracetamol|tylenol|azitromicina|cefalexina|clindamicina|injecao|vacina|comprimido"
        r"|pomada|dexametasona)"
    ),
    # A procedure already done: "depois que tirei o siso", "desde a extracao".
    "AFTER_PROCEDURE": (
        r"(?:(?:depois|desde|apos|pos|que) ~ (?:extra\w*|cirurgi\w*|procedimento\w*|canal"
        r"|implante\w*|siso|enxerto|raspagem|anestesia|operacao|biopsia|limpeza|obtura\w*"
        r"|restaura\w*|tirei|tirou|tiraram|arranquei|arrancou|arrancaram|operei|operou|extrai"
        r"|extraiu|fiz|fez|coloquei|colocou)"
        r"|(?:tirei|arranquei|extrai|operei|tiraram|arrancaram|operou|extraiu) ~ (?:dente"
        r"|siso|sisos|dentes|amigdala|amigdalas|apendice|vesicula|cisto|pinta|sinal)"
        r"|(?:fiz|fez|coloquei|colocou) ~ (?:canal|extracao|cirurgia|implante|enxerto"
        r"|raspagem|procedimento|biopsia)|pos operatorio|pos op)"
    ),
}


@attrs.frozen
class _Rule:
    pattern: str
    # Must also occur somewhere in the message for the pattern to count.
    context: str | None = None
    # Cancels the pattern when it occurs anywhere in the message.
    unless: str | None = None


_RuleSpec = str | _Rule

# Categories whose symptom can be reported as over ("a dor forte passou").
# Pain that is old news ("todo dia", "quando acordo") or a figure of speech ("dor no bolso") is
# booked as usual, not escalated.
_CHRONIC_OR_FIGURATIVE = (
    r"(?:bolso|cotovelo|corno|todo dia|todos os dias|toda vez|as vezes|de vez em quando"
    r"|sempre que|quando (?:acordo|mastigo|como|tomo|escovo|bebo)|ha anos|faz anos|faz tempo"
    r"|ha meses|faz meses)"
)

_RESOLVABLE: Final = frozenset(
    {
        RedFlagCategory.UNCONTROLLED_BLEEDING,
        RedFlagCategory.SPREADING_SWELLING,
        RedFlagCategory.FEVER_AFTER_PROCEDURE,
        RedFlagCategory.HIGH_FEVER,
        RedFlagCategory.SEVERE_PAIN,
    }
)

# Events that are history when the clause dates them long ago ("tive febre alta semana
# passada", "desmaiei ano passado") unless it also says they go on ("desde", "ainda", "agora").
_DATABLE: Final = frozenset(
    {
        RedFlagCategory.FAINTING,
        RedFlagCategory.NUMBNESS_OR_PARALYSIS,
        RedFlagCategory.TRAUMA,
        RedFlagCategory.FEVER_AFTER_PROCEDURE,
        RedFlagCategory.HIGH_FEVER,
    }
)
_LONG_AGO = re.compile(
    r"\b(?:semana passada|mes passado|ano passado|(?:ha|faz) \w+ (?:meses|anos)"
    r"|(?:meses|anos) atras|uma vez|quando (?:eu )?era (?:crianca|pequen\w*))\b"
)
_ONGOING = re.compile(
    r"\b(?:desde|ainda|continua\w*|agora|hoje|de novo|voltou|nao para|nao passa|to com|ta com"
    r"|estou com|esta com)\b"
)

# A medicine taken before the symptom: "depois que tomei a amoxicilina", "tomei o remédio
# (que a dentista passou) e ...".
_AFTER_DRUG = (
    r"(?:(?:depois|desde|apos|quando|que) ~ (?:tomei|tomou|tomar|usei|usou|apliquei|aplicou"
    r"|aplicaram|passei)? ?<DRUG>|(?:tomei|tomou|usei|usou|apliquei|aplicou|aplicaram)"
    r" (?:o |a |um |uma |esse |essa |aquele |aquela )?<DRUG>)"
)

_RULES: Final[dict[RedFlagCategory, tuple[_RuleSpec, ...]]] = {
    RedFlagCategory.SELF_HARM: (
        r"(?:quero|queria|vontade de|penso em|pensando em|pensei em|prefiro|preferia) "
        r"morrer?<JOKE>",
        r"(?:penso|pensando|pensei|vontade de|quero) (?:em )?(?:acabar com tudo|sumir pra sempre"
        r"|sumir para sempre)",
        r"(?:penso|pensando|pensei) em sumir",
        r"vida (?:nao tem|perdeu o|perdeu todo o|sem) (?:mais )?sentido",
        r"(?:vou|quero|queria|vontade de|penso em|pensando em|pensei em|tentei|tentou|tentar"
        r"|ia|pensamento de|pensamentos de|ideia de) (?:me matar<JOKE>|me suicidar|suicidar"
        r"|me machucar|me cortar|me enforcar|me jogar|tirar (?:a )?minha (?:propria )?vida"
        r"|acabar com (?:a )?minha (?:propria )?vida)",
        r"suicid\w*",
        r"<NO> (?:aguento|aguenta|quero|vejo sentido|tenho vontade de|tenho motivo pra"
        r"|tenho motivo para|tenho razao pra|tenho razao para) (?:mais )?(?:em )?"
        r"(?:viver|a vida|na vida|continuar vivendo|continuar vivo|continuar viva|existir"
        r"|estar vivo|estar viva)",
        r"sem (?:vontade|motivo|razao|sentido) (?:de|pra|para|em) viver",
        r"<NO> (?:vejo|tem|ha) (?:mais )?(?:sentido|motivo|razao) (?:em |na |de |pra |para )?"
        r"(?:viver|vida|continuar|continuar vivendo|existir)",
        r"(?:acabar|acabo|acabei) com (?:a )?minha (?:propria )?vida|tirar (?:a )?minha propria"
        r" vida",
        r"(?:queria|quero|preferia|prefiro) (?:estar|ta|tar|ficar) mort[oa]",
        r"melhor (?:se )?eu (?:morrer|morresse|sumir|sumisse|nao existir|nao existisse"
        r"|nao estivesse aqui|nao acordar|nao acordasse)",
        r"(?:tomei|tomou|engoli|engoliu) (?:uma|a|duas|todas as|todos os|varias|varios"
        r"|um monte de|muitos|muitas) ~ (?:remedio|remedios|comprimido|comprimidos|pilula"
        r"|pilulas|calmante|calmantes|cartela|cartelas|caixa) ~ (?:pra|para) (?:morrer|acabar"
        r"|sumir|dormir pra sempre)",
        r"(?:tomei|tomou|engoli|engoliu) (?:uma cartela|a cartela|uma caixa|a caixa"
        r"|todas as cartelas|todos os remedios|todos os comprimidos|um monte de remedios"
        r"|um monte de comprimidos|varios comprimidos|varios remedios)",
        r"(?:me cortei|me cortando|me corto|me machuquei de proposito|me machucando de"
        r" proposito)(?! (?:com|no|na|sem querer|fazendo|cozinhando)\b)",
    ),
    RedFlagCategory.BREATHING_OR_SWALLOWING: (
        _Rule(r"falta de ar", unless=r"cronic\w*"),
        r"<NO> (?:consigo|consegue|consegui|conseguia|to conseguindo|ta conseguindo|esta"
        r" conseguindo|estou conseguindo|consigo mais) (?:direito )?(?:respirar?|engolir?"
        r"|puxar o ar|puxar ar)(?!(?: direito)? (?:pelo|pela|o|esse|essa|isso|isto|esses"
        r"|essas|que|comprimido|comprimidos|remedio|remedios|capsula|capsulas|pilula)\b)",
        r"(?:dificuldade|dificil|custando|sufoco) (?:pra|para|de|em|ao)? ?(?:respirar|engolir)"
        r"(?! (?:comprimido|comprimidos|remedio|remedios|capsula|capsulas|pilula)\b)",
        r"(?:engoli|engoliu|engolido|engolir) (?:o |a |um |uma |meu |minha |sem querer )?"
        r"(?:aparelho|protese|dente|coroa|pino|broca|lima|grampo|peca|moeda|parafuso|implante"
        r"|provisorio|bracket|braquete|dentadura|placa|pecinha|bateria|pilha)",
        r"(?:fiquei|ficou|fica|ficando|to|ta|estou|esta|sem) sem (?:conseguir )?(?:respirar"
        r"|ar\b(?! condicionado))",
        r"\bsem ar\b(?! condicionado)",
        r"respira\w* (?:com dificuldade|mal|muito mal|com chiado|chiando|curto|ofegante)",
        r"(?:sufocando|sufocada|sufocado|engasgad[oa] e <NO>)(?! (?:de|com) (?:trabalho|tanta"
        r"|tanto|coisa|coisas|servico|estudo|prova|provas|conta|contas)\b)",
        r"garganta (?:ta |esta )?(?:fechando|fechou|trancando|travando|inchada|inchou"
        r"|inchando)",
        r"lingua (?:ta |esta )?(?:inchada|inchando|inchou|enrolando|enorme)",
        r"chiado no peito",
        r"(?:ficando|ficou|ta|esta) roxo (?:e )?(?:sem|<NO>) (?:ar|respirar)",
    ),
    RedFlagCategory.CHEST_PAIN: (
        r"(?:dor|dores|aperto|pressao|queimacao|pontada|pontadas|peso|agulhada) "
        r"(?:<MUITO> )?(?:forte )?(?:no|do|em|no meu|em meu|dentro do) peito(?! do pe\b)",
        r"peito (?:ta |esta )?(?:apertado|doendo|doi|queimando|pesado|trancado)",
        r"(?:tendo|to tendo|ta tendo|esta tendo|estou tendo|sofrendo|acho que e|acho que to"
        r" tendo|acho que ta tendo) (?:um )?(?:infarto|ataque cardiaco|ataque do coracao"
        r"|enfarte)",
        r"infartando|enfartando",
        r"(?:dor|formigamento|dormencia|formigando) ~ braco esquerdo",
    ),
    RedFlagCategory.ALLERGIC_REACTION: (
        _Rule(
            r"(?:reacao alergica|choque anafilatico|anafila\w*|edema de glote)",
            unless=r"(?:historico|ja tive|ja teve|tenho alergia|sou alergic|alergico a"
            r"|alergica a|tive uma|teve uma|vez)",
        ),
        _Rule(
            r"(?:to|estou|ta|esta|tendo|deu|dando|me deu|fiquei com|ficou com|ele ta|ela ta"
            r"|meu filho ta|minha filha ta) ~ (?:reacao|alergia)",
            context=r"(?:<DRUG>|inch\w*|cocei\w*|coca\w*|manchas?|empol\w*|vermelh\w*"
            r"|placas?|urticaria|bolinhas|vergoes|falta de ar)",
        ),
        _Rule(
            r"(?:boca|labio|labios|lingua|rosto|cara|olho|olhos|corpo|pele|palpebra|palpebras"
            r"|mao|maos|pescoco) ~ (?:inch\w*|empolad\w*|empolou"
            r"|vermelh\w*|manchad\w*|cheio de manchas|cheia de manchas|coceira|cocando"
            r"|bolinhas)",
            context=_AFTER_DRUG,
        ),
        _Rule(
            r"(?:vomitando|vomitei|vomitou|vomito|enjoo forte|muito enjoo)",
            context=_AFTER_DRUG,
        ),
        _Rule(
            r"(?:coceira|cocando|urticaria|empolad\w*|empolou|manchas vermelhas|placas"
            r" vermelhas|vergoes|bolinhas vermelhas|inchad[oa] e (?:cocando|com coceira))",
            context=_AFTER_DRUG,
        ),
    ),
    RedFlagCategory.FAINTING: (
        r"desmai(?:ei|ou|ando|ado|ada|aram|amos|ou de novo)<JOKE>",
        r"(?:tive|teve|tendo|deu|dando|ta tendo|esta tendo|sensacao de) (?:um |uns )?"
        r"(?:desmaio|desmaios)",
        r"(?:acho que vou|vou|quase|to quase|ta quase|estou quase|esta quase) desmai\w*<JOKE>",
        r"(?:perdi|perdeu|perdendo|perdeu a|perdi a) (?:os sentidos|a consciencia|o sentido"
        r"|consciencia)",
        r"(?:ele|ela|eu|paciente|meu filho|minha filha|meu pai|minha mae|do nada|simplesmente)"
        r" apag(?:ou|uei)(?! (?:a|o|as|os|minha|meu|sem querer|tudo|sem|mensagem|foto)\b)",
        r"(?:tendo|teve|ta tendo|esta tendo|deu|dando|comecou a ter|teve uma|tendo uma)"
        r" (?:uma )?convulsao",
        r"convulsionando|convulsionou|se debatendo",
        r"desacordad[oa]|inconsciente",
        _Rule(
            r"(?:passando mal|passei mal|passou mal|mal estar|pressao (?:subiu|caiu|baixou"
            r"|ta alta|ta baixa|muito alta|muito baixa)|suando frio|tremendo (?:muito|todo|toda)"
            r"|coracao (?:disparado|disparou|acelerado))",
            context=r"(?:<DRUG>|<AFTER_PROCEDURE>)",
        ),
        _Rule(
            r"(?:tontura|tonta|tonto|zonza|zonzo|vista escurec\w*|escureceu a vista|tudo girando)",
            context=r"(?:<DRUG>|<AFTER_PROCEDURE>|<MUITO> (?:tontura|tonta|tonto)|cai|caindo)",
        ),
    ),
    RedFlagCategory.NUMBNESS_OR_PARALYSIS: (
        _Rule(
            r"(?:boca|labio|labios|lingua|queixo|rosto|bochecha|metade do rosto|lado do rosto"
            r"|gengiva|cara) ~ (?:dormente|dormencia|adormecid\w*|formigando|formigamento"
            r"|sem sensibilidade|sem sentir)",
            context=r"(?:desde ontem|desde anteontem|(?:ha|faz|fazem|mais de|tem) ~ (?:dias"
            r"|dia|semana|semanas|mes|meses)|\d+ dias|ate hoje|ainda nao voltou|nao volta"
            r"|<NO> passou|<NO> passa|<NO> voltou|semana passada)",
        ),
        _Rule(
            r"<NO> (?:sinto|to sentindo|estou sentindo|consigo sentir) (?:o|a|meu|minha|os|as)?"
            r" ?(?:labio|labios|lingua|queixo|boca|rosto|bochecha)",
            context=r"(?:desde ontem|desde anteontem|(?:ha|faz|fazem|mais de|tem) ~ (?:dias"
            r"|dia|semana|semanas|mes|meses)|\d+ dias|ate hoje|semana passada)",
        ),
        r"(?:rosto|boca|cara|metade do rosto|lado do rosto) (?:ta |esta |ficou |fica )?"
        r"(?:torta|torto|caid[oa]|paralisad[oa]|entortou|caiu de um lado)",
        r"(?:paralisia|paralisou|paralisad[oa]) ~ (?:rosto|boca|cara|braco|perna|lado)",
        r"(?:rosto|boca|cara|braco|perna|lado) ~ (?:paralisia|paralisou|paralisad[oa])",
        r"fala (?:enrolada|arrastada|embolada)",
        r"<NO> (?:consigo|consegue) (?:mexer|levantar|sentir) (?:o |a |um |uma |meu |minha )?"
        r"(?:lado|braco|perna|metade)",
        r"(?:tendo|ta tendo|esta tendo|to tendo|acho que e|acho que ta tendo|acho que to"
        r" tendo) (?:um )?(?:avc|derrame)",
    ),
    RedFlagCategory.PREGNANCY_EMERGENCY: (
        r"bolsa (?:estourou|rompeu|estorou)",
        _Rule(
            r"(?:sangr\w*|sangue|perdendo liquido|perdendo agua|saindo liquido|contrac\w*"
            r"|<MUITO> colica|colica forte|dor forte na barriga|dor na barriga <MUITO>"
            r"|bebe (?:parou|nao mexe|nao ta mexendo|nao esta mexendo)|nao sinto o bebe)",
            context=r"(?:gravid\w*|gestante|gestacao|gravidez|semanas de|bebe na barriga"
            r"|pre natal|prenatal|estou de \d+ (?:semanas|meses)|to de \d+ (?:semanas|meses))",
            unless=r"(?:gengiv\w*|escov\w*|fio dental|nariz|exame de sangue|gravidez passada"
            r"|gestacao passada|outra gravidez|ultima gravidez|primeira gravidez)",
        ),
    ),
    RedFlagCategory.UNCONTROLLED_BLEEDING: (
        r"(?:sangue|sangramento|sangrando|sangra|sangrou|sangrar) ~ <NO> (?:para|parou"
        r"|estanca|estancou|passa|diminui|diminuiu|quer parar|ta parando|esta parando"
        r"|tem jeito)",
        r"<NO> (?:para|parou|quer parar|consigo parar|ta parando|esta parando|consigo estancar)"
        r" (?:de )?(?:sangrar|sair sangue)",
        _Rule(
            r"(?:sangrando|sangrou|sangramento) (?:<MUITO>|demais|bastante|horrores"
            r"|pra caramba|pra caralho|sem parar|direto|ate agora|forte|intenso|muito forte)"
            r"(?! (?:pouc\w*|pouquinho|pouquinhos|so)\b)",
            unless=r"(?:escov\w*|fio dental|passo o fio|passar o fio)",
        ),
        _Rule(
            r"(?:sangra|sangrar) (?:<MUITO>|demais|bastante|horrores|sem parar|forte)"
            r"(?! (?:pouc\w*|pouquinho)\b)<Q>",
            unless=r"(?:escov\w*|fio dental|passo o fio|passar o fio)",
        ),
        r"(?:muito|mto|mt|bastante|monte de|tanto|tanta) sangue(?! (?:no exame|pra doar"
        r"|para doar)\b)",
        r"sangue (?:demais|pra todo lado|para todo lado|sem parar|jorrando|escorrendo)",
        r"jorr\w* sangue|poca de sangue|boca ~ (?:cheia|enchendo|enche|encheu) de sangue",
        r"gaze\w* ~ (?:encharcad\w*|cheia de sangue|ensopad\w*|vermelh\w*)",
        r"(?:encharc\w*|ensop\w*) ~ (?:gaze\w*|travesseiro|sangue)",
        r"hemorragia",
        _Rule(
            r"(?:ainda|continua|continuo|segue|sem parar de) (?:ta |esta )?(?:saindo sangue"
            r"|sangrando|sangra|sangrar)",
            context=r"<AFTER_PROCEDURE>",
            unless=r"(?:escov\w*|fio dental)",
        ),
        r"(?:vomitando|vomitou|vomitei|tossindo|tossiu) sangue",
        _Rule(
            r"(?:sangrando|sangramento|sangra) ~~ (?:desde|ha|faz) ~ (?:ontem|anteontem|horas"
            r"|hora|manha|cedo|noite|extra\w*|cirurgi\w*|dias)",
            context=r"<AFTER_PROCEDURE>|desde (?:a|o) (?:extra\w*|cirurgi\w*|implante|canal)",
            unless=r"(?:escov\w*|fio dental)",
        ),
    ),
    RedFlagCategory.TRAUMA: (
        _Rule(
            r"<HIT>(?! (?:(?:a|o|as|os|uma|um|minha|meu|sua|seu) )?<RESTORATION>\b)"
            r" ~~ <MOUTH>",
            # "bater um raio-x" is taking an X-ray; "bater papo" is chatting.
            unless=r"(?:bateu|bati) (?:uma |um |o |a |uns )?(?:saudade|desespero|fome|sono"
            r"|vontade|medo|raio|rx|foto|fotos|papo|panoramica|radiografia|tomografia)",
        ),
        r"<MOUTH> ~ (?:quebrou|quebrei|quebrado|quebrada|trincou|rachou|amoleceu|mole|saiu"
        r"|afundou|entortou|sangrando) ~~ (?:cai|caiu (?:de|da|do|no|na|em|e)|queda|tombo"
        r"|batida|bati|bateu|pancada|bolada|cotovelada|cabecada|soco|murro|acidente|briga"
        r"|agressao)",
        r"(?:quebrei|quebrou|rachei|rachou|trinquei|trincou|perdi|perdeu|amoleceu|amoleci"
        r"|arrancou|entortou|cortei|cortou) ~ <MOUTH> ~~ (?:<HIT>|briga|queda|batida)",
        _Rule(
            r"dente ~ (?:saiu|caiu|soltou|pulou) (?:inteiro|inteirinho|com (?:a )?raiz|todo"
            r"|fora|da boca)",
            unless=r"(?:de leite|leite)",
        ),
        r"(?:cortou|cortei|rasgou|rasgei|abriu um corte|cortado|cortada) (?:o |a |meu |minha )?"
        r"(?:labio|boca|queixo|supercilio|cabeca|rosto|testa)(?! (?:com|no|na) (?:o |a )?"
        r"(?:aparelho|escova|fio|garfo)\b)",
        r"traumatismo|afundamento|fratura (?:no|na|do|da) (?:rosto|mandibula|maxilar|queixo"
        r"|cranio|nariz)",
        r"(?:acidente|atropelad[oa]|atropelamento) (?:de|com) (?:moto|carro|bicicleta|bike"
        r"|onibus)",
    ),
    RedFlagCategory.SPREADING_SWELLING: (
        r"<FACE> ~ (?:inch\w*|infl\w*)<MILD>(?! (?:de|do|da) (?:chorar|choro|sono|tanto chorar"
        r"|ressaca|dormir|tanto dormir)\b)",
        r"inch\w*<MILD> ~~ (?:<FACE>|ate o olho|ate a orelha|olho|pescoco)(?! (?:de|do|da)"
        r" (?:chorar|choro|sono|ressaca)\b)",
        r"inch\w* ~ (?:espalhando|espalhou|aumentando|aumentou|crescendo|cresceu|descendo"
        r"|desceu|subindo|subiu|piorando|piorou|cada vez maior|cada vez mais|endurecendo"
        r"|duro e quente|quente e duro|enorme|gigante|fechando o olho)",
        r"bochecha (?:<MUITO>|toda|enorme|gigante) ~ inch\w*",
        r"olho ~ (?:fechando|fechou|fechado) ~ inch\w*",
        r"(?:rosto|cara|bochecha|face|queixo) (?:ta |esta |ficou |fica )?(?:enorme|gigante"
        r"|deformad\w*|o dobro|dobrou de tamanho)",
        r"bochecha inch\w* (?:<MUITO>|e quente|e dura|toda|ate|demais|enorme)",
        _Rule(
            r"<NO> (?:consigo|consegue|to conseguindo) abrir a boca",
            context=r"inch\w*",
        ),
    ),
    RedFlagCategory.FEVER_AFTER_PROCEDURE: (
        _Rule(
            r"febre(?! (?:amarela|reumatica|do feno|maculosa|tifoide)\b)",
            context=r"<AFTER_PROCEDURE>",
        ),
        _Rule(
            r"(?:corpo quente|calafrio\w*|tremedeira|queimando de febre)",
            context=r"<AFTER_PROCEDURE>",
        ),
    ),
    RedFlagCategory.HIGH_FEVER: (
        r"febre (?:<MUITO> )?(?:alta|altissima|de (?:3[9]|4[0-2])|(?:3[9]|4[0-2]))",
        r"(?:3[9]|4[0-2])(?: \d)? (?:graus|de febre|c de febre)",
        r"febre (?:que )?<NO> (?:baixa|abaixa|passa|cede|desce)",
        r"febre ~ (?:convuls\w*|delirando|delirio)",
    ),
    RedFlagCategory.SEVERE_PAIN: (
        _Rule(
            r"dor(?:es)? ~ (?:insuportave\w*|terrive\w*|horrive\w*|absurd\w*|intensa"
            r"|intensas|fortissima|lancinante|excruciante|infernal|desesperador\w*|surreal"
            r"|forte|fortes|demais|cruel|enlouquecedor\w*|muito grande)",
            unless=_CHRONIC_OR_FIGURATIVE,
        ),
        _Rule(
            r"(?:forte|fortes|muita|mta|mto|tanta|intensa|terrivel|horrivel|absurda"
            r"|insuportavel) dor(?:es)?\b",
            unless=_CHRONIC_OR_FIGURATIVE,
        ),
        r"(?:doendo|latejando) (?:<MUITO>|demais|horrores|pra caramba|pra caralho|absurdo"
        r"|bastante|d|sem parar|forte|insuportavel)\b(?! (?:pouc\w*|pouquinho)\b)",
        # Present "doi" is also how people ask about a procedure: "o canal doi muito?".
        r"(?:doi|dois|lateja) (?:<MUITO>|demais|horrores|pra caramba|pra caralho|absurdo"
        r"|bastante|d|sem parar|forte)\b(?! (?:pouc\w*|pouquinho)\b)<Q>",
        r"<NO> (?:aguento|aguenta|suporto|suporta|to aguentando|estou aguentando|aguentando"
        r"|consigo aguentar|aguento mais|suporto mais) (?:mais )?(?:de |essa |a |tanta |esta )?"
        r"(?:dor|doer)",
        r"(?:dor|doendo|doi|lateja|latejando) ~~ <NO> (?:aguento|aguenta|suporto|consigo mais"
        r"|to aguentando|estou aguentando)",
        r"(?:morrendo|morrer|morro|morri|chorando|chorei|chora|chorar|gritando|gritar|gemendo"
        r"|acordei|acordando|acordo|rolando na cama) de dor\b",
        r"(?:dor|doendo|doi|latejando) ~~ <NO> (?:consigo|consegui|deixa|deixou|da|consegue)"
        r" (?:nem )?(?:dormir|comer|trabalhar|abrir a boca|mastigar|falar|pensar|ficar)",
        r"(?:<NO> (?:consigo|consegui|consegue) (?:dormir|comer|trabalhar)|sem dormir|noite"
        r" (?:em claro|acordad\w*|toda acordad\w*|sem dormir)) ~~ (?:dor|doendo|doi|latejando)",
        r"(?:nem|nenhum) (?:o |a )?(?:remedio|analgesico|dipirona|ibuprofeno|paracetamol"
        r"|nimesulida|tylenol|novalgina|torsilax|cetoprofeno) (?:ta |esta )?(?:resolve|resolveu"
        r"|resolvendo|adianta|adiantou|adiantando|passa|passou|ajuda|ajudou|ajudando"
        r"|faz efeito|fez efeito|fazendo efeito|tira|tirou|segura|segurou|alivia|aliviou"
        r"|aliviando)",
        _Rule(
            r"(?:remedio|analgesico|dipirona|ibuprofeno|paracetamol|nimesulida|tylenol"
            r"|novalgina|torsilax|cetoprofeno) ~ <NO> (?:resolve|resolveu|adianta|adiantou"
            r"|passa|passou|ajuda|ajudou|faz efeito|fez efeito|ta fazendo efeito|ta resolvendo"
            r"|tira|tirou|segura|segurou|alivia|aliviou)",
            context=r"(?:dor|doendo|doi|latej\w*)",
        ),
        r"dor (?:nivel |nota )?10|pior dor (?:da|de) (?:minha )?vida",
        r"(?:dor|dente|doendo) ~ (?:me matando|me deixando louc[oa]|me enlouquecendo"
        r"|enlouquecendo)",
        r"(?:tomei|tomando|ja tomei) ~ (?:remedio|remedios|analgesico|dipirona|dipironas"
        r"|ibuprofeno|paracetamol|nimesulida|tylenol|novalgina|torsilax|cetoprofeno) ~ (?:e nada"
        r"|e nao (?:passou|passa|melhorou|melhora|resolveu|resolve|adiantou|adianta)"
        r"|nao (?:passou|passa|resolveu|resolve|adiantou|adianta|fez efeito|faz efeito))",
    ),
}


def _expand(source: str) -> str:
    for _ in range(3):  # macros may use macros
        for name, body in _MACROS.items():
            source = source.replace(f"<{name}>", body)
    source = source.replace(" ~~ ", "\x00").replace(" ~ ", "\x01").replace(" ?", "\x02")
    source = source.replace(" ", _SEP).replace("\x02", f"(?:{_SEP})?")
    source = source.replace("<Q>", _NOT_A_QUESTION)
    for mark, count in _GAPS.items():
        source = source.replace(mark, f"{_SEP}(?:{_GAP_WORD}){count}")
    return squeeze(source)


def _compile(source: str) -> re.Pattern[str]:
    # Matches start at a word: the text is words separated by single spaces.
    return re.compile(r"(?<![^ ])(?:" + _expand(source) + r")(?!\w)")


@attrs.frozen
class _Compiled:
    pattern: re.Pattern[str]
    context: re.Pattern[str] | None
    unless: re.Pattern[str] | None


def _compile_rule(spec: _RuleSpec) -> _Compiled:
    rule = spec if isinstance(spec, _Rule) else _Rule(spec)
    return _Compiled(
        pattern=_compile(rule.pattern),
        context=_compile(rule.context) if rule.context else None,
        unless=_compile(rule.unless) if rule.unless else None,
    )


def _compile_category(
    specs: tuple[_RuleSpec, ...],
) -> tuple[re.Pattern[str], tuple[_Compiled, ...]]:
    rules = tuple(_compile_rule(spec) for spec in specs)
    # One leading look-behind, so that the engine tries the alternatives at word starts only.
    prefix = "(?<![^ ])"
    quick = re.compile(
        prefix + "(?:" + "|".join(rule.pattern.pattern.removeprefix(prefix) for rule in rules) + ")"
    )
    return quick, rules


# One quick regex per category rules most messages out; the rules run only when it matches.
_TABLE: Final = tuple(
    (category, *_compile_category(_RULES[category])) for category in RedFlagCategory
)

_CLAUSE_BREAK = re.compile(r"[.,;:!?\n\r()\[\]\"]+|\s[-–—]+\s")
# Placeholder words for clause breaks: no doubled letters (squeeze keeps them), no real word.
_COMMA_WORD, _QUESTION_WORD = " qzvirgulaqz ", " qzperguntaqz "
_MARKS: Final = {_COMMA_WORD.strip(): ",", _QUESTION_WORD.strip(): "?"}
_BREAKS: Final = frozenset(",?")
_DEMAIS = re.compile(r"(?<!\w)d\+(?!\w)", re.IGNORECASE)  # "doi d+" is "doi demais"
# "medo de ter febre", "se sangrar muito", "e se eu sentir muita dor": not happening now.
_HYPOTHETICAL = re.compile(
    r"(?:\b(?:medo|receio|risco|pavor|perigo) (?:de|da|do)|(?:^|\s)(?:se|caso)"
    r"(?: eu| ele| ela| meu filho| minha filha)?)"
    r"(?: (?:tiver|tivesse|sentir|sentisse|der|desse|ficar|ficasse|estiver|tenha|sinta|ter"
    r"|dar|comecar a|voltar a))?(?: com| de)?(?: uma| um| muita| muito)? $"
)
# "... mas ja PASSOU", "agora ta tudo bem": the symptom is over (for _RESOLVABLE categories).
_RESOLUTION = re.compile(
    r"^(?: (?:[,?]|\w+)){0,5}? (?:ta|esta|to|estou|fiquei|ficou) (?:tudo |ja )?"
    r"(?:bem|bom|otimo|otima|melhor|tranquilo)\b(?! (?:forte|inchad\w*|vermelh\w*|feio"
    r"|grande|ruim|dolorid\w*|mole|quente)\b)"
)


def _mark_break(match: re.Match[str]) -> str:
    found, text, start, end = match.group(0), match.string, match.start(), match.end()
    if found in (".", ",") and text[start - 1 : start].isdigit() and text[end : end + 1].isdigit():
        return found  # "39,5 graus", "R$ 1.200": part of a number
    return _QUESTION_WORD if "?" in found else _COMMA_WORD


def _normalize(text: str) -> str:
    # Clause breaks become placeholder words so that the whole text is folded in one pass.
    marked = _CLAUSE_BREAK.sub(_mark_break, _DEMAIS.sub(" demais ", text))
    tokens: list[str] = []
    for word in expand_abbreviations(squeeze(fold(marked))).split():
        mark = _MARKS.get(word)
        if mark is None:
            tokens.append(word)
        elif tokens and tokens[-1] in _BREAKS:
            tokens[-1] = "?" if "?" in (mark, tokens[-1]) else ","
        elif tokens:
            tokens.append(mark)
    if tokens and tokens[-1] == ",":
        tokens.pop()
    return " ".join(tokens)


def _negated(text: str, start: int) -> bool:
    before = text[:start]
    if _HYPOTHETICAL.search(before):
        return True
    for word in reversed(before.split()[-4:]):
        if word in _NEGATORS:
            return True
        if word not in _FILLERS:
            return False
    return False


def _resolved(text: str, end: int) -> bool:
    rest = text[end:]
    following = [word for word in rest.split()[:6] if word not in _BREAKS]
    for index, word in enumerate(following[:5]):
        if word in _RESOLVED and (index == 0 or following[index - 1] not in _NEGATORS):
            return True
    match = _RESOLUTION.match(rest)
    return match is not None and not (set(match.group(0).split()) & _NEGATORS)


def _long_ago(text: str, start: int, end: int) -> bool:
    clause_start = max(text.rfind(" , ", 0, start), text.rfind(" ? ", 0, start)) + 1
    ends = [found for mark in (" , ", " ? ") if (found := text.find(mark, end)) >= 0]
    clause = text[clause_start : min(ends, default=len(text))]
    return _LONG_AGO.search(clause) is not None and _ONGOING.search(clause) is None


def _first_valid(text: str, category: RedFlagCategory, rule: _Compiled) -> str | None:
    position = 0
    while (match := rule.pattern.search(text, position)) is not None:
        position = match.start() + 1
        if _negated(text, match.start()):
            continue
        if category in _RESOLVABLE and _resolved(text, match.end()):
            continue
        if category in _DATABLE and _long_ago(text, match.start(), match.end()):
            continue
        return " ".join(word for word in match.group(0).split() if word not in _BREAKS)
    return None


def find_red_flag(text: str) -> RedFlag | None:
    """Return the most pressing clinical red flag in a patient message, if any.

    Args:
        text: The patient's message (or a burst of messages joined by newlines), as typed.

    Returns:
        The red flag of the first matching category in :class:`RedFlagCategory` order, or
        ``None`` when the message looks routine. Never raises.
    """
    normalized = _normalize(text)
    if not normalized:
        return None
    for category, quick, rules in _TABLE:
        if quick.search(normalized) is None:
            continue
        for rule in rules:
            if rule.unless is not None and rule.unless.search(normalized):
                continue
            if rule.context is not None and rule.context.search(normalized) is None:
                continue
            matched = _first_valid(normalized, category, rule)
            if matched is not None:
                return RedFlag(category=category, matched=matched)
    return None
