"""What a patient wants, read from one WhatsApp message in Brazilian Portuguese.

The offline engine's understanding: deterministic, table-driven, no model. Each intent has a
table of patterns with scores (how sure a match makes us); the message is folded
(:func:`porfin_core.domain.pt_text.fold`) clause by clause, so ``"Não, quero remarcar"`` and
``"nao quero remarcar"`` stay different, and every pattern that matches votes with its score.

The rules that pick one intent:

* A *substantive* intent (booking, reschedule, cancel, prices, insurance, address/hours,
  payment, wants a person, complaint) beats a greeting or thanks said with it:
  ``"oi, bom dia! queria marcar uma limpeza"`` is booking, with greeting secondary.
* ``affirm``/``deny`` win when the message is only that (``"sim"``, ``"pode ser"``, ``"não,
  obrigado"``, ``"👍"``), or says it decisively (``"pode marcar"``, ``"confirmo"``,
  ``"nenhum desses"``, picking an offered option); a bare ``"sim,"`` leading a request leaves
  the request primary.
* Naming a day or time (``"amanhã às 15h"``) with nothing else is booking.
* Picking option N of a numbered list (``"2"``, ``"a 2"``, ``"opção 3"``, ``"a primeira"``, ``"o
  segundo horário"``) is ``affirm`` with :attr:`IntentReading.option` set.
* A verb negated right before it does not count: ``"não quero cancelar"`` is not cancel.
* Greeting or thanks around a message that says something else not understood (``"Oi, boa
  tarde. Fiz uma limpeza e agora tô com sensibilidade, é normal?"``) is ``other``.
* Nothing recognised: ``other``, with low confidence; the engine hands off when unsure.
"""

from __future__ import annotations

import enum
import re
from typing import Final

import attrs

from porfin_core.domain.procedures import PROCEDURES, find_procedure_folded
from porfin_core.domain.pt_text import fold

__all__ = ["SUBSTANTIVE", "Intent", "IntentReading", "recognize"]


class Intent(enum.StrEnum):
    """What the patient wants from the receptionist in one message."""

    GREETING = "greeting"
    BOOKING = "booking"
    RESCHEDULE = "reschedule"
    CANCEL = "cancel"
    PRICES = "prices"
    INSURANCE = "insurance"
    ADDRESS_HOURS = "address_hours"
    PAYMENT = "payment"
    WANTS_HUMAN = "wants_human"
    COMPLAINT = "complaint"
    AFFIRM = "affirm"
    DENY = "deny"
    THANKS = "thanks"
    OTHER = "other"


@attrs.frozen
class IntentReading:
    """One message understood.

    Attributes:
        intent: What the message is mainly about.
        confidence: How sure the reading is, 0 to 1 (0.9 and above: a clear phrase such as
            ``"quero remarcar"``; below 0.5: a guess the engine should not act on alone).
        procedure: The procedure named, canonical (a key of
            :data:`porfin_core.domain.procedures.PROCEDURES`), or None.
        option: The option picked from a numbered list the receptionist sent (1-based), or
            None.
        secondary: Other intents also present, most confident first.
    """

    intent: Intent
    confidence: float
    procedure: str | None = None
    option: int | None = None
    secondary: tuple[Intent, ...] = ()


SUBSTANTIVE: Final = frozenset(
    {
        Intent.BOOKING,
        Intent.RESCHEDULE,
        Intent.CANCEL,
        Intent.PRICES,
        Intent.INSURANCE,
        Intent.ADDRESS_HOURS,
        Intent.PAYMENT,
        Intent.WANTS_HUMAN,
        Intent.COMPLAINT,
    }
)
"""Intents that ask the receptionist to do or answer something."""

# Ties go to the first: a person asked for beats everything, keeping a booking beats dropping it.
_PRIORITY: Final = (
    Intent.WANTS_HUMAN,
    Intent.COMPLAINT,
    Intent.RESCHEDULE,
    Intent.CANCEL,
    Intent.INSURANCE,
    Intent.PAYMENT,
    Intent.PRICES,
    Intent.ADDRESS_HOURS,
    Intent.BOOKING,
    Intent.DENY,
    Intent.AFFIRM,
    Intent.THANKS,
    Intent.GREETING,
    Intent.OTHER,
)
_RANK: Final = {intent: index for index, intent in enumerate(_PRIORITY)}

_OTHER_CONFIDENCE: Final = 0.4
_SECONDARY_MIN: Final = 0.35
_SUBSTANTIVE_MIN: Final = 0.5
_MAX_CHARS: Final = 2_000
_SMALL_TALK_WORDS: Final = 4

# --- vocabulary ------------------------------------------------------------------------------

_DAYS: Final = (
    r"(?:hoje|hj|amanha|sabados?|domingos?|feriados?|segunda|terca|quarta|quinta|sexta"
    r"|fim\s+de\s+semana|final\s+de\s+semana|a\s+noite|de\s+noite|sab|dom)"
)
_WANT: Final = (
    r"(?:quero|queria|quer|gostaria(?:\s+de)?|precis[oa](?:\s+de)?|precisava(?:\s+de)?"
    r"|precisamos(?:\s+de)?|posso|podia"
    r"|poderia|consigo|da\s+pra|tem\s+como|teria\s+como|vou|vim|to\s+querendo"
    r"|estou\s+querendo|como\s+(?:eu\s+)?(?:faco|faz)\s+(?:pra|para)|gostaria\s+de)"
)
_HUMAN: Final = (
    r"(?:pessoas?|humanos?|humana|atendente|secretaria|recepcionista|recepcao|alguem|gente"
    r"|responsavel|gerente|don[oa]|doutora|doutor|dra|dr|dentista|medic[oa]|funcionari[oa]"
    r"|moca|menina|real|de\s+verdade)"
)

_CANNOT_GO: Final = (
    r"\bnao\s+(?:vou|vai|irei|to|estou|vamos)?\s*(?:conseguir|poder|dar)\s+"
    r"(?:\w+\s+)?(?:ir|comparecer|chegar|vir|estar|aparecer)\b"
)

# Words that may stand between "queria" and "consulta": "queria marcar uma nova consulta".
_DETERMINER: Final = (
    r"(?:um|uma|uns|umas|outr[oa]|nov[oa]|mais|a|o|de|da|do|marcar|agendar|fazer|ter|ver|com|pra"
    r"|para|minha|meu|sua|seu|ir|no|na|ao|passar|ser)"
)

# Score and pattern per substantive intent. Patterns run on folded clauses joined by ", ".
_TABLE: Final[dict[Intent, tuple[tuple[float, str], ...]]] = {
    Intent.BOOKING: (
        (
            0.9,
            r"\b(?:marcar|agendar|reservar|marca|agenda|agende|agendo|marque|agendamento"
            r"|marcacao|encaixar|encaixe|encaixa|ajendar)\b",
        ),
        (
            0.85,
            r"\b(?:tem|teria|ha|haveria|sobrou|sobra|existe)\s+(?:(?!outr)\w+\s+)?(?:horario|horarios"
            r"|vaga|vagas|hora|agenda|disponibilidade|data|datas|encaixe)\b",
        ),
        (0.85, r"\bhorarios?\s+(?:disponive\w*|livres?|vagos?|abertos?)\b"),
        (0.8, r"\b(?:disponibilidade|vaga|vagas)\b"),
        (0.8, r"\bquais\s+(?:os\s+|as\s+)?(?:horarios|dias|datas)\b"),
        (0.8, r"\b(?:me\s+atender|me\s+atende|me\s+encaix\w*|me\s+ver|me\s+examinar)\b"),
        (
            0.8,
            rf"\b{_WANT}\s+(?:{_DETERMINER}\s+){{0,3}}(?:consulta|avaliacao|atendimento|horario|dentista"
            r"|medic[oa]|doutora?|dra|dr|ser\s+atendid[oa])\b",
        ),
        (
            0.75,
            rf"\b{_WANT}\s+(?:\w+\s+){{0,2}}(?:fazer|colocar|tirar|tratar|arrumar|consertar|ver|olhar"
            r"|passar|ir|obturar|restaurar|clarear|extrair|arrancar|comecar|trocar|refazer"
            r"|iniciar|voltar|retornar)\b",
        ),
        (0.75, r"\bquando\s+(?:tem|voces\s+tem|vcs\s+tem|posso\s+ir|da\s+pra\s+ir|consigo)\b"),
        (0.7, r"\b(?:tenho|estou\s+com|to\s+com|teria)\s+(?:muito\s+)?interesse\b"),
        (
            0.85,
            r"\b(?:manda|mande|envia|envie|passa|passe|mostra|me\s+fala)\s+(?:\w+\s+)?(?:os\s+)?"
            r"(?:horarios|datas|vagas)\b",
        ),
    ),
    Intent.RESCHEDULE: (
        (
            0.95,
            r"\b(?:remarcar|remarca|remarco|remarque|remarcacao|reagendar|reagenda|reagende"
            r"|reagendamento|remarcamos|reagendo)\b",
        ),
        (
            0.9,
            r"\b(?:mudar|muda|mude|mudo|trocar|troca|troque|troco|alterar|altera|altere"
            r"|transferir|transfere|jogar|joga|empurrar)\s+(?:\w+\s+){0,2}(?:horario|data|dia"
            r"|consulta|agendamento|hora|marcacao|atendimento)\b",
        ),
        (
            0.9,
            r"\b(?:mudar|trocar|passar|jogar|deixar|transferir|mover|alterar)\s+(?:\w+\s+){0,2}"
            r"(?:pra|para)\s+(?:outr[oa]|o\s+outro|a\s+outra|semana|segunda|terca|quarta"
            r"|quinta|sexta|sabado|amanha|depois|mais\s+tarde|mais\s+cedo|dia\s+\d|as\s+\d|\d)",
        ),
        (0.9, r"\b(?:adiar|adia|adie|antecipar|antecipa|antecipe|adiantar|adianta)\b"),
        (
            0.85,
            r"^(?=.*\b(?:minha|meu|a|o|essa|esse)\s+(?:consulta|horario|agendamento"
            r"|atendimento|retorno)\b)(?=.*\boutr[oa]\s+(?:dia|horario|data|hora|semana)\b)",
        ),
        (0.75, _CANNOT_GO),
        (0.7, r"\b(?:surgiu|tive|tenho)\s+(?:um\s+)?(?:imprevisto|compromisso|problema)\b"),
        (
            0.8,
            r"^(?=.*\b(?:tinha|estava|tava)\s+(?:\w+\s+)?(?:marcad|agendad)\w*)"
            r"(?=.*\b(?:pode\s+ser|da\s+pra|consigo|outr[oa]|remarc\w*)\b)",
        ),
        (
            0.9,
            rf"^(?=.*{_CANNOT_GO})(?=.*\b(?:outr[oa]\s+(?:dia|data|horario|hora|semana)"
            r"|mais\s+(?:tarde|cedo|pra\s+frente))\b)",
        ),
    ),
    Intent.CANCEL: (
        (
            0.95,
            r"\b(?:cancelar|cancela|cancele|cancelo|cancelamento|cancelada|cancelado|desmarcar"
            r"|desmarca|desmarque|desmarco|desmarcada|desmarcado|desmarcar)\b",
        ),
        (0.85, r"\bnao\s+(?:vou|vai|irei|vamos|iremos)\s+mais\b"),
        (0.8, r"\bnao\s+(?:quero|preciso|precisa)\s+mais\b(?!\s+(?:receber|mensage|falar|que))"),
        (0.85, r"\b(?:desisti|desistir|desisto|desistencia|desistimos)\b"),
        (
            0.9,
            r"\b(?:tira|tirar|tire|retira|retirar|remove|remover|exclui|excluir)\s+(?:o\s+|a\s+)?"
            r"(?:meu|minha)\s+(?:nome|horario|consulta|agendamento|marcacao)\b",
        ),
    ),
    Intent.PRICES: (
        (
            0.9,
            r"\b(?:quanto|qto|qnto|qt|quant|qnt)\s+(?:\w+\s+)?(?:custa|custaria|custam|sai|saiu"
            r"|fica|ficaria|ficou|e|eh|seria|esta|ta|cobra|cobram|cobrariam|vale|da|deu|paga"
            r"|pago|gasto|gastaria|vai\s+(?:ficar|sair|custar|dar))\b",
        ),
        (
            0.9,
            r"\b(?:qual|quais)\s+(?:e\s+|seria\s+|sao\s+)?(?:o\s+|os\s+|a\s+|as\s+)?(?:valor"
            r"|valores|preco|precos|custo|custos|investimento)\b",
        ),
        (0.85, r"\b(?:valor|valores|preco|precos|precinho|custo|orcamento|orcamentos)\b"),
        (0.85, r"\b(?:tabela)\s+(?:de\s+)?(?:precos?|valores)\b"),
        (0.8, r"\b(?:custa|custam|custaria|vlr)\b"),
        (0.8, r"\b(?:gratis|gratuit[oa]|de\s+graca|cobrad[oa]|cobram\s+(?:a|pela|pelo))\b"),
        (0.8, r"\b(?:e|eh|sera|seria)\s+pag[oa]\b"),
        (0.7, r"\b(?:caro|cara|barato|barata|promocao|promocoes)\b"),
        (
            0.6,
            r"\b(?:quanto|qto|qnto)\b(?!\s+(?:tempo|dura|demora|antes|horas?|dias|vezes|minutos"
            r"|sessoes|parcelas))",
        ),
    ),
    Intent.INSURANCE: (
        (
            0.9,
            r"\b(?:convenio|convenios|(?<!estacionamento\s)conveniad\w*|credenciad\w*|carteirinha"
            r"|reembolso|reembolsa"
            r"|reembolsam|reembolsar|coparticipacao|cobertura|cobre|cobrem|plano\s+(?:de\s+saude"
            r"|odontologico|odonto|dental|dentario)|planos\s+(?:de\s+saude|odontologicos))\b",
        ),
        (
            0.9,
            r"\b(?:unimed|amil|bradesco\s+(?:saude|dental|odonto|seguros)|sulamerica"
            r"|sul\s+america|odontoprev|odonto\s+prev|hapvida|hap\s+vida|notredame|notre\s+dame"
            r"|intermedica|porto\s+seguro|golden\s+cross|care\s+plus|careplus|prevent\s+senior"
            r"|cassi|geap|metlife|interodonto|uniodonto|dental\s+uni|odontogroup|bb\s+dental"
            r"|saude\s+caixa|postal\s+saude|ipsemg|iamspe|sus|odonto\s+system|primavida)\b",
        ),
        (0.7, r"\b(?:bradesco|plano|planos)\b(?!\s+de\s+tratamento)"),
        (0.6, r"\b(?:particular|so\s+particular)\b"),
    ),
    Intent.ADDRESS_HOURS: (
        (
            0.9,
            r"\b(?:onde|aonde|adonde)\s+(?:\w+\s+)?(?:fica|ficam|e|eh|esta|estao|sao|atende"
            r"|atendem|localiza\w*)\b",
        ),
        (0.9, r"\bcomo\s+(?:eu\s+)?(?:chego|chegar|faco\s+(?:pra|para)\s+chegar|chega)\b"),
        (0.9, r"\bfica\s+(?:onde|aonde|perto|longe|em\s+qual|em\s+que|na\s+rua)\b"),
        (0.9, r"\b(?:ficam|fica|e|eh|sao|estao)\s+(?:aonde|onde)\b"),
        (0.7, r"\b(?:telefone|fone|numero\s+de\s+contato|contato\s+de\s+voces)\b"),
        (
            0.85,
            r"\b(?:endereco|enderecos|localizacao|mapa|maps|waze|bairro|cep|ponto\s+de\s+referencia)\b",
        ),
        (0.6, r"\b(?:local|onde|aonde|rua|avenida)\b"),
        (0.9, r"\b(?:estacionamento|estacionar|vaga\s+de\s+carro|manobrista)\b"),
        (0.9, r"\bhorario\s+de\s+(?:funcionamento|atendimento|abertura|expediente)\b"),
        (
            0.9,
            r"\b(?:que|q)\s+(?:horas?|hrs?|h)\s+(?:\w+\s+){0,2}(?:abre|abrem|fecha|fecham|funciona"
            r"|funcionam|comeca|comecam|atende|atendem|encerra|encerram|abrir|fechar)\b",
        ),
        (0.9, r"\bate\s+(?:que|q)\s+(?:horas?|hrs?|h)\b"),
        (
            0.9,
            r"(?<!\bme\s)\b(?:atende|atendem|atendimento|trabalha|trabalham|abre|abrem|funciona"
            rf"|funcionam|aberto|aberta|abertos|abre\s+as|abrem\s+as)\s+(?:\w+\s+)?{_DAYS}\b",
        ),
        (
            0.9,
            r"\b(?:quais|que)\s+dias\s+(?:\w+\s+)?(?:atendem|atende|abrem|abre|funcionam"
            r"|funciona|trabalham|trabalha)\b",
        ),
        (
            0.85,
            r"\b(?:esta|estao|ta|vai\s+estar|vao\s+estar|fica|ficam)\s+(?:aberto|aberta"
            r"|abertos|fechado|fechada|fechados)\b",
        ),
        (0.75, r"(?<!\bcomo\s)\b(?:abre|abrem|funciona|funcionam|funcionamento|expediente)\b"),
    ),
    Intent.PAYMENT: (
        (0.95, r"\b(?:formas?|meios?|opcoes?|condicoes?)\s+de\s+pagamento\b"),
        (
            0.9,
            r"\b(?:pix|chave\s+pix|cartao|cartoes|credito|debito|parcel\w*|boleto|boletos"
            r"|paguei|pagamos|comprovante|transferencia|transferi|link\s+de\s+pagamento"
            r"|deposito|depositei|maquininha|nota\s+fiscal|recibo|sem\s+juros|juros|\d{1,2}\s*x"
            r"|(?:em|ate)\s+(?:quantas|qnts|qts)\s+vezes|a\s+vista)\b",
        ),
        (0.85, r"\b(?:pagar|pagamento|pagamentos|pago|dinheiro|sinal|entrada\s+de)\b"),
        (0.8, r"\b(?:paga|pagou|pague|pagando|cobranca|cobrar)\b"),
        (0.75, r"\bchave\b"),
        (0.8, r"\b(?:dividir|divide|divido|dividido|dividida)\b"),
    ),
    Intent.WANTS_HUMAN: (
        (
            0.95,
            r"\b(?:falar|fala|falo|conversar|converso|falasse)\s+(?:\w+\s+){0,3}"
            rf"{_HUMAN}\b",
        ),
        (
            0.95,
            r"\b(?:chama|chame|chamar|transfere|transferir|passa|passe|passar|encaminha"
            r"|encaminhar)\s+(?:\w+\s+){0,2}(?:alguem|atendente|secretaria|pessoa|humano"
            r"|responsavel|doutora|dra|recepcao|recepcionista)\b",
        ),
        (
            0.9,
            r"\b(?:atendente|atendentes|humano|humana|pessoa\s+de\s+verdade|pessoa\s+real"
            r"|gente\s+de\s+verdade|ser\s+humano|atendimento\s+humano)\b",
        ),
        (0.9, r"\balguem\s+(?:\w+\s+)?(?:de\s+verdade|real|humano)\b"),
        (
            0.85,
            r"\b(?:robo|robos|robozinho|bot|chatbot|maquina|inteligencia\s+artificial"
            r"|resposta\s+automatica|mensagem\s+automatica)\b",
        ),
        (0.85, r"\b(?:e|eh|sou|sao|com)\s+(?:uma\s+)?ia\b"),
        (
            0.7,
            r"\b(?:(?:tem\s+)?alguem\s+(?:ai|ae|aqui|online|me\s+atende)|kd\s+(?:voces|vcs|vc)"
            r"|cade\s+(?:voces|vcs|vc|o\s+atendimento))\b",
        ),
        (
            0.8,
            r"\b(?:me\s+liga|me\s+ligue|me\s+ligar|liga\s+pra\s+mim|liga\s+para\s+mim"
            r"|ligar\s+pra\s+voces|ligar\s+pra\s+vcs|pra\s+eu\s+ligar|me\s+retorna|me\s+retornem|retorno"
            r"\s+por\s+telefone|telefone\s+de\s+voces|numero\s+de\s+telefone)\b",
        ),
    ),
    Intent.COMPLAINT: (
        (
            0.9,
            r"\b(?:pessim\w*|horrivel|horriveis|absurd\w*|ridicul\w*|vergonh\w*|descaso"
            r"|desrespeit\w*|falta\s+de\s+(?:respeito|educacao|profissionalismo|consideracao)"
            r"|reclam\w*|procon|processar|advogado|insatisfeit\w*|decepcion\w*|indignad\w*"
            r"|lamentavel|palhacada|sacanagem|porcaria|incompetent\w*|incompetencia"
            r"|mal\s+educad\w*|mal\s+atendid\w*|grosseir\w*|grosseria|enganad\w*|golpe"
            r"|roubad\w*|roubo|cobra(?:ram|d[oa]s?)\s+(?:a\s+mais|errado|duas\s+vezes)"
            r"|nunca\s+mais)\b",
        ),
        (
            0.9,
            r"\besperei\s+(?:\w+\s+){0,2}(?:hora|horas|minutos|min|tempo|muito|demais|\d+)\b"
            r"|\besperei\s+\d",
        ),
        (0.85, r"\b(?:to|estou|fiquei|ficamos|tamo|estamos)\s+esperando\s+(?:ha|faz|a|mais|\d)"),
        (
            0.8,
            r"\besperando\s+(?:\w+\s+){0,4}ate\s+agora\b"
            r"|\b(?:to|estou|fiquei|ficamos|estamos)\s+esperando\s+(?:o\s+|um\s+|uma\s+)?"
            r"(?:retorno|resposta)\b",
        ),
        (
            0.9,
            r"\bninguem\s+(?:me\s+|nos\s+)?(?:atende|atendeu|responde|respondeu|retorna"
            r"|retornou|liga|ligou|resolve|resolveu)\b",
        ),
        (0.85, r"\b(?:demora|demorou|demorando|demoram)\s+(?:demais|muito|horrores)\b"),
        (0.85, r"\bque\s+demora\b|\b(?:dinheiro\s+de\s+volta|estorno|devolucao)\b"),
        (0.9, r"\b(?:meu|o)\s+dinheiro\s+(?:de\s+volta|devolta)\b|\breembolso\s+do\s+meu\b"),
        (0.7, r"\bnao\s+(?:funcionou|resolveu|adiantou|ficou\s+bom)\b"),
        (0.8, r"\bate\s+agora\s+(?:nada|ninguem|nenhum\w*|sem\s+resposta)\b"),
        (0.7, r"\b(?:e|eh)\s+serio\s+isso\b"),
        (0.8, r"\b(?:piada|brincadeira|palhacos?|circo)\b"),
        (
            0.85,
            r"\bnao\s+(?:me\s+)?(?:responderam|atenderam|retornaram|ligaram|resolveram)\b",
        ),
        (0.85, r"\b(?:pior|piores)\s+(?:\w+\s+)?(?:clinica|atendimento|dentista|lugar|servico)"),
        (0.6, r"\b(?:ruim|lixo|merda|pqp|caralho|porra)\b"),
    ),
    Intent.DENY: (
        (
            0.85,
            r"\bnenhum[a]?\s+(?:desses|dessas|deles|delas|dos\s+dois|das\s+duas|horario"
            r"|opcao|serve|da|me\s+serve|funciona|deu)\b|\bnenhum[a]?$",
        ),
        (
            0.8,
            r"\b(?:outro|outros|outra|outras)\s+(?:horario|horarios|opcao|opcoes|data|datas"
            r"|dia|dias)\b",
        ),
        (
            0.8,
            r"\bnao\s+(?:da|serve|posso|consigo|vai\s+dar|rola|fica\s+bom)\s+(?:\w+\s+)?"
            r"(?:nesse|nessa|neste|nesta|esse|essa|nenhum|nenhuma|esses|essas|pra\s+mim|nao)\b",
        ),
        (0.8, r"\bnao\s+(?:obrigad\w*|obg\w*|valeu|precisa)\b"),
        (0.75, r"\bnao\s+(?:posso|consigo|da|vai\s+dar|rola|tenho\s+como)\b"),
        (0.75, r"\b(?:deixa\s+pra\s+la|deixa\s+quieto|vou\s+pensar|depois\s+eu\s+vejo)\b"),
    ),
    Intent.AFFIRM: (
        (
            0.95,
            r"^(?>(?:sim|ok|isso|blz|beleza|entao|perfeito|otimo|certo|pode)\b[\s,]*)*"
            r"pode\s+(?:marcar|agendar|confirmar|reservar|fechar)(?:\s+(?:sim|entao|pra\s+mim"
            r"|por\s+favor|pfv))*$",
        ),
        (
            0.9,
            r"\b(?:confirmo|confirmado|confirmada|confirmadissimo|confirma|confirmar|confirmando"
            r"|confirmei)\b",
        ),
        (0.85, r"\b(?:o|a)\s+d[aeo]s?\s+(?:\d{1,2}(?:h\w*)?|meio\s+dia)\b"),
        (0.85, r"\b(?:vou\s+sim|estarei\s+(?:ai|la|presente)|vou\s+comparecer|to\s+indo)\b"),
    ),
}

# Negated right before: "não quero cancelar", "nem precisa marcar".
_NEGATED: Final = re.compile(
    r"\b(?:nao|nem|n)\s+(?:(?:quero|queria|vou|precisa|preciso|pode|posso|vamos|deve|e\s+pra)"
    r"\s+(?:mais\s+)?)?$"
)
_NEGATABLE: Final = frozenset({Intent.BOOKING, Intent.CANCEL, Intent.RESCHEDULE})

_WHEN_CUE: Final = re.compile(
    r"\b(?:hoje|hj|amanha|depois\s+de\s+amanha|segunda(?!\s+(?:opcao|vez|via))|terca|quarta"
    r"|quinta|sexta|sabado|domingo|semana\s+q(?:ue)?\s+vem|prox(?:ima)?\s+semana|dia\s+\d{1,2}"
    r"|\d{1,2}\s*h(?:\d\d)?|\d{1,2}\s+e\s+meia|as\s+\d{1,2}|(?:de|pela|a)\s+manha"
    r"|(?:a|de)\s+tarde|(?:a|de)\s+noite|meio\s+dia|cedo)\b"
)
_FAREWELL: Final = re.compile(
    r"\bate\s+(?:amanha|logo|mais|breve|la|segunda|terca|quarta|quinta|sexta|sabado|semana)\b"
)
_RAW_WHEN_CUE: Final = re.compile(r"\b\d{1,2}\s*[:/]\s*\d{1,2}\b")
_WHEN_CUE_SCORE: Final = 0.72
_PROCEDURE_NAMES: Final = re.compile(
    "|".join(
        rf"\b{re.escape(synonym)}(?:s|es)?\b"
        for synonyms in PROCEDURES.values()
        for synonym in sorted(synonyms, key=len, reverse=True)
    )
)
_ARTICLES: Final = re.compile(r"\b(?:o|a|os|as|um|uma|uns|umas|de|do|da|pra|para|fazer)\b")
_PROCEDURE_ONLY_SCORE: Final = 0.5

# --- conversational phrases: affirm, deny, thanks, greeting ------------------------------------


def _phrases(*alternatives: str) -> str:
    return "|".join(sorted(alternatives, key=len, reverse=True))


_AFFIRM_STRONG: Final = _phrases(
    r"si+m+",
    "s",
    "ss",
    "isso",
    "isso mesmo",
    "isso ai",
    "exato",
    "exatamente",
    "pode",
    "pode sim",
    r"pode ser(?: sim)?",
    "claro",
    "claro que sim",
    "com certeza",
    "certeza",
    "quero",
    "quero sim",
    "yes",
    r"a+ha+m+",
    r"u+hu+m+",
    "positivo",
    r"fechado",
    "fechou",
    "combinado",
    "bora",
    "vamos",
    "vamos sim",
    "perfeito",
    "otimo",
    "otima",
    "excelente",
    "pode marcar",
    "pode agendar",
    "pode reservar",
    "serve",
    "serve sim",
    "esse mesmo",
    "essa mesmo",
    "esse",
    "essa",
    "esse ai",
    "essa ai",
    "de acordo",
    "manda",
    "vou",
    "quero esse",
    "quero essa",
    "prefiro esse",
    "prefiro essa",
    "muito bom",
    "qualquer um",
    "qualquer uma",
    "tanto faz",
    "qualquer horario",
    "qualquer dia",
    "pode ser qualquer um",
)
_AFFIRM_WEAK: Final = _phrases(
    "ok+",
    "okay",
    "oki",
    "ok ok",
    "blz",
    "beleza",
    "belezinha",
    "certo",
    "certinho",
    "ta bom",
    "ta",
    "ta certo",
    "ta otimo",
    "tudo certo",
    "ta joia",
    "joia",
    "show",
    "show de bola",
    "top",
    "legal",
    "entendi",
    "entendido",
    "ah ta",
    "ata",
    "tranquilo",
    "suave",
    "de boa",
    "ta beleza",
    "tudo bem",
    "tudo bom",
    "ta ok",
    "td certo",
    "td ok",
    "fmz",
    "aguardo",
    "fico no aguardo",
    "no aguardo",
    "firmeza",
)
_DENY: Final = _phrases(
    r"na+o+",
    "n",
    "nn",
    "naum",
    "nao quero",
    "nao precisa",
    "nao obrigado",
    "agora nao",
    "por enquanto nao",
    "ainda nao",
    "acho que nao",
    "melhor nao",
    "negativo",
    "nope",
    "de jeito nenhum",
    "nao posso",
    "nao da",
    "nao consigo",
    "nao serve",
    "nenhum",
    "nenhuma",
    "nao gostei",
    "nao vou querer",
    "prefiro nao",
    "nada nao",
    "nada",
    "nem",
)
_THANKS: Final = _phrases(
    r"(?:muito|mt|mto|muitissimo)?\s*obrigad\w*",
    r"brigad\w*",
    r"obg\w*",
    r"agradec\w*",
    "grato",
    "grata",
    "gratidao",
    r"vale+u+",
    r"vlw+",
    "valew",
    "tmj",
    "thanks",
    "thank you",
    "deus abencoe",
    "deus te abencoe",
)
_GREETING: Final = _phrases(
    r"oi+e*",
    r"ola+",
    "opa",
    "ei",
    "hey",
    "hello",
    "hi",
    r"bo[ma]\s+(?:dia|tarde|noite)",
    "bomdia",
    "boa",
    "bd",
    "e ai",
    "eai",
    "salve",
    "td bem",
    "td bom",
    "tudo joia",
    "tudo tranquilo",
    "como vai",
    "como vai voce",
    "como vc esta",
    "como voce esta",
    "com licenca",
    "alo",
    "tchau",
    "ate mais",
    "ate logo",
    "ate breve",
    "ate amanha",
    "ate la",
    "bom final de semana",
    "bom fim de semana",
    "boa semana",
    "prazer",
)
_FILLER: Final = _phrases(
    "entao",
    "por favor",
    "pf",
    "pfv",
    "pfvr",
    "porfavor",
    "doutora",
    "doutor",
    "dra",
    "dr",
    "moca",
    "querida",
    "amiga",
    "gente",
    "pessoal",
    "aqui",
    "ai",
    "la",
    "mesmo",
    "muito",
    "mto",
    "k+",
    r"(?:ha)+",
    r"(?:rs)+",
    r"(?:he)+",
    "ah+",
    "eh",
    "e",
    "tambem",
    "tb",
    "tbm",
    "viu",
    "ne",
    "hein",
    "bjs",
    "beijos",
    "abraco",
    "abs",
    "igualmente",
    "pra voce tambem",
    "voce tambem",
    "vc tb",
    "de nada",
    "disponha",
    "tudo",
    "sim sim",
)

_AFFIRM_SURE: Final = r"si+m+|s|ss|isso|claro|perfeito|otimo|combinado|fechado"
_AFFIRM_WEAK_SURE: Final = r"ok+|blz|beleza|certo"
_DENY_SURE: Final = r"na+o+|n|nn|naum|negativo"

_CONVERSATIONAL: Final = (
    (Intent.AFFIRM, _AFFIRM_STRONG, _AFFIRM_SURE, 0.9, 0.6),
    (Intent.AFFIRM, _AFFIRM_WEAK, _AFFIRM_WEAK_SURE, 0.8, 0.55),
    (Intent.DENY, _DENY, _DENY_SURE, 0.92, 0.65),
    (Intent.THANKS, _THANKS, _THANKS, 0.85, 0.65),
    (Intent.GREETING, _GREETING, _GREETING, 0.8, 0.45),
)
"""(intent, phrases, phrases that count even when the clause goes on, score when the message
is only such phrases, score at a clause start)."""

_TOKEN: Final = "|".join(
    f"(?:{phrases})" for phrases in (_AFFIRM_STRONG, _AFFIRM_WEAK, _DENY, _THANKS, _GREETING)
)
# Atomic groups and possessive quantifiers: phrases overlap ("sim sim", "ok ok"), and plain
# backtracking over a long run of them would take exponential time.
_ONLY_CONVERSATION: Final = re.compile(rf"^(?:(?>(?:{_TOKEN}|{_FILLER})\b)[\s,]*+)*+$")
_SMALL_TALK: Final = re.compile(rf"\b(?:{_TOKEN}|{_FILLER})\b")
_POLITE_WORDS: Final = frozenset(
    str.split(
        "pela pelo atencao ajuda paciencia carinho retorno voces vcs voce vc com de da do a o e que"
        " espero sim sao otimos otimas otimo otima maravilhosos maravilhosa excelentes querida"
        " querido todos todas bem bom boa dia dias semana tarde noite pra para"
    )
)
_CLAUSE_START: Final[tuple[tuple[Intent, re.Pattern[str], float, float], ...]] = tuple(
    (
        intent,
        re.compile(
            rf"(?:^|,\s)(?:(?>{_FILLER})\s+)*"
            rf"(?:(?:{phrases})(?=(?:\s+(?>{_FILLER})\b)*+\s*(?:,|$))|(?:{sure})\b)"
        ),
        whole,
        start,
    )
    for intent, phrases, sure, whole, start in _CONVERSATIONAL
)
_ANYWHERE: Final[dict[Intent, re.Pattern[str]]] = {
    Intent.THANKS: re.compile(rf"\b(?:{_THANKS})\b"),
    Intent.GREETING: re.compile(r"\b(?:oi+e*|ola+|bo[ma]\s+(?:dia|tarde|noite)|tudo\s+bem)\b"),
}
_GREETED: Final = re.compile(r"\b(?:oi+e*|ola+|bo[ma]\s+(?:dia|tarde|noite)|opa|e\s+ai|eai)\b")
_HOW_ARE_YOU: Final = re.compile(r"\btudo\s+(?:bem|bom|certo|joia|tranquilo|ok)\b")

_EMOJIS: Final[tuple[tuple[Intent, re.Pattern[str], float], ...]] = (
    (Intent.AFFIRM, re.compile("[\U0001f44d\U0001f44c\u2705\u2714\U0001f91d\U0001f197]"), 0.9),
    (Intent.THANKS, re.compile("[\U0001f64f\U0001f970\u2764\U0001f49c\U0001f499]"), 0.8),
    (Intent.DENY, re.compile("[\U0001f44e\u274c\u2716]"), 0.85),
    (Intent.COMPLAINT, re.compile("[\U0001f621\U0001f92c\U0001f620\U0001f624]"), 0.6),
    (Intent.GREETING, re.compile("[\U0001f44b]"), 0.7),
)

# --- options ---------------------------------------------------------------------------------

_ORDINALS: Final = {
    "primeiro": 1,
    "primeira": 1,
    "1o": 1,
    "1a": 1,
    "segundo": 2,
    "segunda": 2,
    "2o": 2,
    "2a": 2,
    "terceiro": 3,
    "terceira": 3,
    "3o": 3,
    "3a": 3,
    "quarto": 4,
    "quarta": 4,
    "4o": 4,
    "4a": 4,
    "quinto": 5,
    "quinta": 5,
    "5o": 5,
    "5a": 5,
}
_ORDINAL: Final = "|".join(sorted(_ORDINALS, key=len, reverse=True))
_OPTION_WORDS: Final = r"(?:opcao|opc|op|alternativa|numero|horario|vaga|data|sugestao)"
_OPTION_PATTERNS: Final = (
    re.compile(r"\b(?:opcao|opc|op|alternativa|numero|n)\s*(?:de\s+numero\s+)?(?P<n>\d{1,2})\b"),
    re.compile(
        r"\b(?:a|o)\s+(?:de\s+numero\s+)?(?P<n>\d{1,2})\b(?!\s*(?:h\b|hs\b|hrs?\b|horas?\b"
        r"|dias?\b|de\b|x\b|pessoas?\b|reais\b|e\s+meia|anos?\b|meses\b|min))"
    ),
    re.compile(rf"\b(?P<o>{_ORDINAL})\s+{_OPTION_WORDS}\b"),
    re.compile(
        rf"\b(?:a|o|com\s+a|com\s+o)\s+(?P<o>{_ORDINAL})\b"
        rf"(?=\s*(?:$|,|{_OPTION_WORDS}|mesmo|mesma|ai|por\s+favor|pfv|pode|entao|dessas"
        r"|desses|da\s+lista|que\s+voce|que\s+vc|q\s+vc|ta|fica|serve|obrigad))"
    ),
)
_BARE_NUMBER: Final = re.compile(
    rf"^(?:(?>(?:{_TOKEN}|{_FILLER}|prefiro|escolho|fico\s+com|vou\s+de|seria|quero\s+o"
    r"|quero\s+a)\b)[\s,]*+)*+(?P<n>\d{1,2})(?:[\s,]++(?>" + _FILLER + "|" + _THANKS + r")\b)*+$"
)
_MAX_OPTION: Final = 12


def _option(folded: str) -> int | None:
    bare = _BARE_NUMBER.match(folded)
    if bare:
        number = int(bare["n"])
        return number if 1 <= number <= _MAX_OPTION else None
    for pattern in _OPTION_PATTERNS:
        match = pattern.search(folded)
        if match is None:
            continue
        groups = match.groupdict()
        number = int(groups["n"]) if groups.get("n") else _ORDINALS[groups["o"]]
        if 1 <= number <= _MAX_OPTION:
            return number
    return None


# --- reading ---------------------------------------------------------------------------------

_COMPILED: Final[tuple[tuple[Intent, float, re.Pattern[str]], ...]] = tuple(
    (intent, score, re.compile(pattern))
    for intent, rules in _TABLE.items()
    for score, pattern in rules
)
_CLAUSE_BREAK: Final = re.compile(r"[,.;:!?\n()\[\]]+|\s-\s|\s+e\s+(?=nao\b)")


def _fold_clauses(text: str) -> str:
    clauses = (fold(part) for part in _CLAUSE_BREAK.split(text[:_MAX_CHARS]))
    return ", ".join(clause for clause in clauses if clause)


def _vote(scores: dict[Intent, float], intent: Intent, score: float) -> None:
    if score > scores.get(intent, 0.0):
        scores[intent] = score


def _substantive_votes(folded: str, scores: dict[Intent, float]) -> None:
    for intent, score, pattern in _COMPILED:
        if score <= scores.get(intent, 0.0):
            continue
        for match in pattern.finditer(folded):
            if intent in _NEGATABLE and _NEGATED.search(folded, 0, match.start()):
                continue
            _vote(scores, intent, score)
            break


def _conversational_votes(folded: str, raw: str, scores: dict[Intent, float]) -> None:
    only = bool(folded) and _ONLY_CONVERSATION.match(folded) is not None
    greeted = _GREETED.search(folded) is not None or ("?" in raw and not only)
    for intent, pattern, whole, start in _CLAUSE_START:
        match = pattern.search(folded)
        if match is None:
            continue
        if intent is Intent.AFFIRM and greeted and "tudo" in match[0]:
            continue
        _vote(scores, intent, whole if only else start)
    for intent, pattern in _ANYWHERE.items():
        if pattern.search(folded):
            _vote(scores, intent, 0.45)
    if _HOW_ARE_YOU.search(folded) and (greeted or "?" in raw):
        _vote(scores, Intent.GREETING, 0.8 if only else 0.5)
        if only and "?" in raw:
            scores.pop(Intent.AFFIRM, None)
    for intent, pattern, score in _EMOJIS:
        if pattern.search(raw):
            _vote(scores, intent, score if only or not folded else score - 0.3)


def _choose(scores: dict[Intent, float]) -> tuple[Intent, float, tuple[Intent, ...]]:
    if not scores:
        return Intent.OTHER, _OTHER_CONFIDENCE, ()
    ordered = sorted(scores.items(), key=lambda item: (-item[1], _RANK[item[0]]))
    substantive = [item for item in ordered if item[0] in SUBSTANTIVE]
    candidates = ordered
    if substantive and substantive[0][1] >= _SUBSTANTIVE_MIN:
        candidates = [item for item in ordered if item[0] not in (Intent.GREETING, Intent.THANKS)]
    intent, confidence = candidates[0]
    secondary = tuple(
        other for other, score in ordered if other is not intent and score >= _SECONDARY_MIN
    )
    return intent, round(confidence, 2), secondary


def _unexplained_words(folded: str) -> int:
    """How many words of the message are not small talk."""
    rest = _SMALL_TALK.sub(" ", folded)
    return sum(word not in _POLITE_WORDS for word in rest.replace(",", " ").split())


def _only_names_procedure(folded: str) -> bool:
    """``"limpeza"``, ``"oi, um clareamento"``: a procedure alone is a wish to book it."""
    rest = _PROCEDURE_NAMES.sub(" ", folded)
    rest = _ARTICLES.sub(" ", rest)
    return _ONLY_CONVERSATION.match(" ".join(rest.split()).strip(", ")) is not None


def recognize(text: str) -> IntentReading:
    """Read what a patient wants from one message, as written.

    See the module documentation for the rules. Deterministic and pure; well under a
    millisecond per message.

    Args:
        text: A patient message (accents, capitals, abbreviations, emojis allowed).

    Returns:
        The reading: main intent and confidence, procedure named, option picked, and the
        other intents present.
    """
    raw = text[:_MAX_CHARS]
    folded = _fold_clauses(raw)
    scores: dict[Intent, float] = {}
    _substantive_votes(folded, scores)
    _conversational_votes(folded, raw, scores)
    procedure = find_procedure_folded(folded)
    option = _option(folded)
    if option is not None:
        _vote(scores, Intent.AFFIRM, 0.9)
    named_when = _WHEN_CUE.search(_FAREWELL.sub(" ", folded)) or _RAW_WHEN_CUE.search(raw)
    if named_when and not any(intent in SUBSTANTIVE for intent in scores):
        _vote(scores, Intent.BOOKING, _WHEN_CUE_SCORE)
    if procedure is not None and _only_names_procedure(folded):
        _vote(scores, Intent.BOOKING, _PROCEDURE_ONLY_SCORE)
    intent, confidence, secondary = _choose(scores)
    if (
        intent in (Intent.GREETING, Intent.THANKS)
        and _unexplained_words(folded) > _SMALL_TALK_WORDS
    ):
        # "Oi, boa tarde. Fiz uma limpeza e agora tô com sensibilidade, é normal?": the greeting
        # is not what the message is about, and nothing else was understood.
        intent, confidence, secondary = Intent.OTHER, _OTHER_CONFIDENCE, (intent, *secondary)
    return IntentReading(intent, confidence, procedure, option, secondary)
