"""The offline engine: the embedded default :class:`~porfin_core.ports.chat_model.ChatModel`,
with no key and no network.

It does the receptionist's job deterministically: it reads what the patient wants
(:func:`porfin_core.domain.intents.recognize`) and when (:func:`~porfin_core.domain.when.
parse_when`), calls the same tools a language model would (``find_slots``, then
``book_appointment`` once the patient picks an option, ``reschedule_appointment``,
``cancel_appointment``, ``hand_off``...), answers questions from the clinic's facts and the
knowledge retrieved for the message (never from anything else: a price it cannot find is a
handoff), and hands the chat to a person when it is not sure.

It keeps no state of its own: what it offered before is in the conversation (the previous
turn's tool calls and results come back as messages), so any process can continue a chat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from porfin_core.domain.intents import Intent, IntentReading, recognize
from porfin_core.domain.procedures import find_procedure
from porfin_core.domain.pt_text import fold
from porfin_core.domain.when import TimeWindow, parse_when
from porfin_core.ports.chat_model import (
    Grounding,
    ModelMessage,
    ModelReply,
    ModelRequest,
    TextSink,
    ToolCall,
)

MODEL = "porfin-offline"
CONFIDENT = 0.5

ASK_CANCEL = "Qual consulta você quer cancelar?"
ASK_RESCHEDULE = "Qual consulta você quer remarcar?"
CONFIRM_CANCEL = "Confirma o cancelamento da consulta de"
ASK_SLOT = "Quer que eu veja um horário para você?"
_MATERIALS = frozenset(
    {"resina", "porcelana", "ceramica", "zirconia", "metal", "metalico", "safira", "acrilico"}
)
_HOURS_WORDS = ("hora", "abre", "funciona", "fecha", "sab")
_ADDRESS_WORDS = ("onde", "ender", "local", "fica", "chegar")
_CLOCK = re.compile(r"\b(\d{1,2})(?:h|:|\s*horas?)(\d{2})?\b")
AGAIN = "again"
"""Tag of the same search again, after the patient chose an option that does not exist."""
PICK_SEARCH = "pick"
"""Tag of a search for the very time the patient picked when it was not among the options."""

# What the patient asks that only a professional may answer: a diagnosis, a medicine, a dose,
# what to do about a symptom. Read on folded text.
_CLINICAL = re.compile(
    r"\b(?:remedios?|medicamentos?|medicacao|antibioticos?|anti ?inflamatorios?|analgesicos?"
    r"|pomada|amoxicilina|ibuprofeno|dipirona|paracetamol|nimesulida|novalgina"
    r"|o que (?:pode|sera|seria|eu faco|faco|devo fazer|fazer) (?:ser|isso|pra|para)?"
    r"|(?:e|eh|isso e|isso eh) normal|sera que (?:e|eh|tenho|estou|to)|(?:e|eh) carie"
    r"|tenho (?:uma )?carie|o que eu tenho|diagnostic\w*|posso tomar|devo tomar|tomo (?:o |a )?"
    r"(?:que|qual)|qual (?:remedio|antibiotico)|(?:me )?receita\w*)\b"
)
# Trying to change the assistant's rules or to make it talk about itself.
_META = re.compile(
    r"\b(?:ignor\w* (?:\w+ ){0,3}(?:instruc\w*|regras|comandos|ordens|orientac\w*)"
    r"|prompt|suas instrucoes|finj\w*|fingir|faz de conta|modo desenvolvedor|jailbreak"
    r"|(?:voce|vc|tu) (?:e|eh) (?:um |uma )?(?:robo|bot|ia|inteligencia artificial|humana?)"
    r"|(?:voce|vc) (?:e|eh) de verdade)\b"
)
# Insults: a person takes over, as with any complaint.
_INSULT = re.compile(
    r"\b(?:lixo|inutil|merda|porra|idiota|imbecil|burr[oa]|palhacada"
    r"|nao serve (?:pra|para) nada|nao presta|vsf|pqp|fdp|caralho|bosta)\b"
)
# Messages that are not from a patient (jobs, suppliers): for the team, not for the agenda.
_NOT_A_PATIENT = re.compile(
    r"\b(?:emprego|curriculo|vaga de (?:trabalho|auxiliar|recepcionista|dentista)|trabalhar ai"
    r"|trabalhar com voces|fornecedor|representante comercial|parceria comercial)\b"
)
_DAY_SAID = re.compile(
    r"\b(?:hoje|amanha|depois|segunda|terca|quarta|quinta|sexta|sabado|sab|domingo|dia|dias"
    r"|semana|mes|daqui|proxim\w*|janeiro|fevereiro|marco|abril|maio|junho|julho|agosto"
    r"|setembro|outubro|novembro|dezembro)\b|\d{1,2}/\d{1,2}"
)
_STOPWORD_TEXT = (
    "voce voces vcs qual quais quanto quanta onde como quando aqui para pelo pela pelos "
    "pelas esse essa isso este esta isto tem tenho teria seria sera queria quero gostaria "
    "poderia pode posso consigo fazem faz fazer favor obrigado obrigada minha meu minhas "
    "meus sobre uma umas uns algum alguma alguem tambem ainda entao mais menos muito muita "
    "bom boa dia tarde noite aceita aceitam atende atendem clinica doutor doutora saber "
    "informar tipo"
)
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_TOPIC_STEMS = {
    "address": (
        "ender",
        "onde",
        "local",
        "fica",
        "cheg",
        "hora",
        "abre",
        "abert",
        "funcion",
        "fech",
        "sab",
        "atend",
    ),
    "insurance": ("conven", "plano", "aceit", "carteir", "reemb"),
    "payment": (
        "pag",
        "pix",
        "cart",
        "parcel",
        "dinheir",
        "debit",
        "credit",
        "vista",
        "boleto",
    ),
}


def _call(name: str, n: int | str, **arguments: Any) -> ToolCall:
    clean = {k: v for k, v in arguments.items() if v not in (None, "")}
    return ToolCall(
        id=f"call_{name}_{n}",
        name=name,
        arguments=clean,
        raw_arguments=json.dumps(clean, ensure_ascii=False),
    )


def _result(message: ModelMessage) -> dict[str, Any]:
    try:
        found = json.loads(message.content)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class _Conversation:
    """The request read the way the engine needs it."""

    def __init__(self, request: ModelRequest) -> None:
        messages = [m for m in request.messages if m.role != "system"]
        self.grounding: Grounding | None = request.grounding
        # This turn's tool calls and results: everything after the last patient message.
        last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=-1)
        self.current: list[tuple[ToolCall, dict[str, Any]]] = _exchanges(messages[last_user + 1 :])
        first_user = last_user
        while first_user > 0 and messages[first_user - 1].role == "user":
            first_user -= 1
        self.burst = "\n".join(m.content for m in messages[first_user : last_user + 1])
        earlier = messages[: max(first_user, 0)]
        self.previous = _exchanges(earlier)
        said = [m for m in earlier if m.role == "assistant" and m.content and not m.tool_calls]
        self.last_said = said[-1].content if said else ""
        self.allowed = {t.name for t in request.tools}

    def offered_slots(self) -> tuple[ToolCall, list[dict[str, Any]]] | None:
        """The slots offered in the previous turn (if that was its last tool)."""
        if not self.previous:
            return None
        call, result = self.previous[-1]
        slots = result.get("slots")
        if call.name != "find_slots" or not isinstance(slots, list) or not slots:
            return None
        return call, slots

    def procedure_talked(self) -> str | None:
        """The procedure this conversation is about: of the last search, else of the
        assistant's last words ("Limpeza: R$ 180,00")."""
        for call, result in reversed(self.previous):
            if call.name == "find_slots" and result.get("procedure"):
                return str(result["procedure"])
        return find_procedure(self.last_said) if self.last_said else None

    def previous_result(self) -> dict[str, Any]:
        """The result of the previous turn's last tool."""
        return self.previous[-1][1] if self.previous else {}


_ASKS_OWN = re.compile(
    r"\b(?:(?:ja )?tenho (?:alguma )?consulta|minha consulta (?:e|eh|ta|esta|ficou)"
    r"|(?:que horas|quando|que dia|qual dia|qual horario|qual o horario) (?:\w+ ){0,2}"
    r"(?:minha consulta|meu horario|meu atendimento|minha limpeza|minha avaliacao)"
    r"|consulta (?:ta |esta )?marcada pra quando)\b"
)
_YES = re.compile(
    r"\b(?:sim|pode|quero|claro|isso|bora|ok|okay|beleza|blz|por favor|pf|pfv|manda|ve|veja"
    r"|com certeza|uhum|aham|s|yes|gostaria|queria)\b"
)
_NO = re.compile(r"\b(?:nao|n|nem|negativo|agora nao)\b")
_SYMPTOM = re.compile(
    r"\b(?:dor|dores|dorzinha|doendo|doi|doeu|latejando|quebrou|quebrado|quebrada|trincou"
    r"|trincado|lascou|lascado|caiu (?:a|o|um|uma) (?:restauracao|obturacao|coroa|provisorio"
    r"|pedaco|bloco)|sensivel|sensibilidade|sangra\w*|mole|inchad\w*|inchou|ferida|afta"
    r"|machucando|incomodando)\b"
)
_GREETING_WORDS = frozenset(("tudo", "bem", "boa", "tarde", "noite", "ola", "oie"))

_OTHER_TOPICS = (
    Intent.PRICES,
    Intent.INSURANCE,
    Intent.ADDRESS_HOURS,
    Intent.PAYMENT,
    Intent.WANTS_HUMAN,
    Intent.COMPLAINT,
    Intent.CANCEL,
)


def _exchanges(messages: Sequence[ModelMessage]) -> list[tuple[ToolCall, dict[str, Any]]]:
    results = {m.tool_call_id: _result(m) for m in messages if m.role == "tool"}
    return [
        (call, results.get(call.id, {}))
        for m in messages
        if m.role == "assistant"
        for call in m.tool_calls
    ]


class OfflineEngine:
    """The deterministic receptionist (see the module)."""

    async def complete(self, request: ModelRequest, on_text: TextSink | None = None) -> ModelReply:
        talk = _Conversation(request)
        reply = self._decide(talk)
        if on_text is not None and reply.text:
            await on_text(reply.text)
        return reply

    # -- deciding ---------------------------------------------------------------------------

    def _decide(self, talk: _Conversation) -> ModelReply:
        if talk.current:
            return self._after_tools(talk)
        grounding = talk.grounding
        reading = recognize(talk.burst)
        now = grounding.now if grounding else datetime.now().astimezone()
        window = parse_when(talk.burst, now)
        picked = self._picked(talk, reading, window)
        if picked is not None:
            return picked
        intent = reading.intent
        if intent in (Intent.GREETING, Intent.THANKS, Intent.AFFIRM) and reading.secondary:
            intent = reading.secondary[0]
        special = self._special(talk, reading, intent)
        if special is not None:
            return special
        if (
            intent in (Intent.OTHER, Intent.AFFIRM)
            and talk.last_said.rstrip().endswith(ASK_SLOT)
            and _YES.search(fold(talk.burst))
            and not _NO.search(fold(talk.burst))
        ):
            # "pode ver sim": a yes to our offer of a time, however it is worded.
            return self._affirm(talk, reading, window)
        if intent is Intent.OTHER and (reading.procedure or window) and _wants_time(talk.burst):
            intent = Intent.BOOKING
        if intent in (Intent.OTHER, Intent.GREETING, Intent.BOOKING) and _ASKS_OWN.search(
            fold(talk.burst)
        ):
            return self._own_appointments(talk)
        if intent in (Intent.OTHER, Intent.GREETING) and _SYMPTOM.search(fold(talk.burst)):
            # A complaint about a tooth, not a red flag: the dentist should see it.
            return _say(
                f"Sinto muito! Isso precisa ser visto pelo dentista, numa avaliação. {ASK_SLOT}"
            )
        if intent in (Intent.OTHER, Intent.GREETING) and "?" in talk.burst:
            offered = self._do_you_do(talk, reading)
            if offered is not None:
                return offered
        handler = {
            Intent.BOOKING: self._booking,
            Intent.RESCHEDULE: self._reschedule,
            Intent.CANCEL: self._cancel,
            Intent.PRICES: self._prices,
            Intent.INSURANCE: self._answer_fact("insurance", "convenio plano"),
            Intent.ADDRESS_HOURS: self._answer_fact("address", "endereco horario"),
            Intent.PAYMENT: self._answer_fact("payment", "pagamento pix cartao parcela"),
            Intent.WANTS_HUMAN: self._wants_human,
            Intent.COMPLAINT: self._complaint,
            Intent.GREETING: self._greeting,
            Intent.THANKS: self._thanks,
            Intent.AFFIRM: self._affirm,
            Intent.DENY: self._deny,
        }.get(intent)
        if handler is None or (reading.confidence < CONFIDENT and intent is not Intent.GREETING):
            return self._knowledge_or_hand_off(talk, reading)
        answer: ModelReply = handler(talk, reading, window)
        return answer

    def _special(
        self, talk: _Conversation, reading: IntentReading, intent: Intent
    ) -> ModelReply | None:
        """What comes before the receptionist's topics: insults, messages that are not from
        patients, clinical questions and attempts to change the rules."""
        folded = fold(talk.burst)
        if _INSULT.search(folded):
            return self._complaint(talk, reading, None)
        if intent in (Intent.WANTS_HUMAN, Intent.COMPLAINT):
            return None
        if _NOT_A_PATIENT.search(folded):
            return _hand_off(
                "not_a_patient",
                "Mensagem que não é de paciente (emprego, fornecedor...): " + talk.burst[:300],
                "Obrigado pelo contato! Vou passar sua mensagem para a equipe responsável.",
            )
        if _CLINICAL.search(folded):
            text = (
                "Não consigo avaliar sintomas nem indicar remédios por aqui: isso precisa ser "
                "visto pelo dentista, numa avaliação."
            )
            if re.search(r"\b(?:dor|doendo|doi|doer|dolorid\w*)\b", folded):
                text += " Se a dor estiver forte, me avise que chamo alguém da equipe agora."
            return _say(f"{text} {ASK_SLOT}")
        if _META.search(folded):
            grounding = talk.grounding
            me = grounding.assistant_name if grounding else "a assistente"
            clinic = grounding.clinic_name if grounding else "clínica"
            text = (
                f"Sou {me}, a assistente virtual da {clinic}. Posso marcar, remarcar ou "
                "cancelar consultas e informar preços, convênios, endereço e horários, "
                "sempre conforme as regras da clínica."
            )
            if "desconto" in folded:
                text += " Descontos e condições de pagamento são só os que a clínica oferece."
            return _say(text + " Como posso ajudar?")
        return None

    def _own_appointments(self, talk: _Conversation) -> ModelReply:
        upcoming = list(talk.grounding.upcoming_appointments) if talk.grounding else []
        if not upcoming:
            return _say(
                "Não encontrei nenhuma consulta marcada no seu nome. Quer que eu procure um "
                "horário para marcar?"
            )
        lines = "\n".join(f"• {_appointment_when(line)}" for line in upcoming)
        one = len(upcoming) == 1
        return _say(
            ("Sua consulta está marcada para:" if one else "Suas consultas marcadas:")
            + f"\n{lines}\n\nSe precisar remarcar ou cancelar, é só me avisar."
        )

    def _do_you_do(self, talk: _Conversation, reading: IntentReading) -> ModelReply | None:
        """A question about the clinic ("vocês atendem criança?", "fazem clareamento?"): what
        the knowledge says about it, with the prices of a procedure named."""
        folded = fold(talk.burst)
        procedure = reading.procedure or find_procedure(talk.burst)
        if procedure is not None and re.search(
            r"\b(?:fazem|faz|tem|atendem|atende|trabalham)\b", folded
        ):
            lines = _price_lines(talk.grounding, procedure, talk.burst)
            if lines:
                listed = "\n".join(f"• {line}" for line in lines)
                return _say(f"Fazemos sim! Os valores da nossa tabela:\n{listed}\n\n{ASK_SLOT}")
        words = [w for w in _content_words(folded) if w not in _GREETING_WORDS]
        found = _best_sentences(talk.grounding, words, require=words, most=2) if words else []
        if found:
            return _say("\n".join(found) + "\n\nPosso ajudar em algo mais?")
        return None

    def _picked(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply | None:
        """The patient answers what the assistant asked last: an option of the slots offered,
        which appointment, or a confirmation."""
        grounding = talk.grounding
        upcoming = list(grounding.upcoming_appointments) if grounding else []
        asked_which = talk.last_said.startswith((ASK_CANCEL, ASK_RESCHEDULE))
        if asked_which and reading.option and 1 <= reading.option <= len(upcoming):
            line = upcoming[reading.option - 1]
            if talk.last_said.startswith(ASK_CANCEL):
                return _tools(_call("cancel_appointment", 1, appointment_id=_appointment_id(line)))
            return _tools(
                _call(
                    "find_slots",
                    1,
                    procedure=_appointment_type(line),
                    for_appointment_id=_appointment_id(line),
                )
            )
        if talk.last_said.startswith(CONFIRM_CANCEL) and upcoming:
            if reading.intent in (Intent.AFFIRM, Intent.CANCEL):
                return _tools(
                    _call("cancel_appointment", 1, appointment_id=_appointment_id(upcoming[0]))
                )
            if reading.intent is Intent.DENY:
                return _say("Tudo bem, sua consulta continua marcada. Posso ajudar em algo mais?")
        offered = talk.offered_slots()
        if offered is None:
            return None
        call, slots = offered
        slot = _choose_slot(slots, reading, talk.burst, window)
        if slot is None:
            if reading.option is not None and reading.option > len(slots) and window is None:
                # Search again: the options stay in this turn, for the next answer.
                return _tools(_call("find_slots", AGAIN, **call.arguments))
            if window is None or reading.intent in _OTHER_TOPICS:
                return None
            # A time or a day that is not among the options: look for it, same procedure.
            return _tools(_search_again(call, talk.previous_result(), slots, window))
        return _tools(_book_or_move(call, slot, 1))

    def _booking(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        procedure = reading.procedure or find_procedure(talk.burst) or talk.procedure_talked()
        return _tools(_find(procedure, window, talk.burst))

    def _reschedule(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        upcoming = list(talk.grounding.upcoming_appointments) if talk.grounding else []
        if not upcoming and (window is not None or reading.procedure):
            # Nothing to move, but a day or a procedure said: a new booking.
            return self._booking(talk, reading, window)
        if not upcoming:
            return _say(
                "Não encontrei nenhuma consulta marcada no seu nome. Quer que eu procure um "
                "horário para marcar?"
            )
        if len(upcoming) > 1:
            return _say(_numbered(ASK_RESCHEDULE, upcoming))
        call = _find(_appointment_type(upcoming[0]), window, talk.burst)
        arguments = dict(call.arguments) | {"for_appointment_id": _appointment_id(upcoming[0])}
        if talk.grounding is not None:
            arguments |= _away_from(arguments, _appointment_day(upcoming[0], talk.grounding.now))
        return _tools(_call("find_slots", 1, **arguments))

    def _cancel(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        upcoming = list(talk.grounding.upcoming_appointments) if talk.grounding else []
        if not upcoming:
            return _say("Não encontrei nenhuma consulta marcada no seu nome para cancelar.")
        if len(upcoming) > 1:
            return _say(_numbered(ASK_CANCEL, upcoming))
        return _say(
            f"{CONFIRM_CANCEL} {_appointment_when(upcoming[0])}? Se preferir, posso remarcar "
            "para outro dia."
        )

    def _prices(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        procedure = reading.procedure or find_procedure(talk.burst)
        if procedure is None:
            talked = talk.procedure_talked()
            procedure = find_procedure(talked) if talked else None
        lines = _price_lines(talk.grounding, procedure, talk.burst) if procedure else []
        if not lines:
            line = _knowledge_line(talk.grounding, procedure, money=True) or _fact_line(
                talk.grounding, "prices", procedure
            )
            lines = [line] if line else []
        # A material the patient named ("de resina") must be in the price quoted: a porcelain
        # price is not the answer to a question about resin.
        asked = set(fold(talk.burst).split())
        wanted = asked & _MATERIALS
        lines = [line for line in lines if wanted <= set(fold(line).split())]
        if not lines:
            return _hand_off(
                "price_unknown",
                "O paciente perguntou um valor que não está na base de conhecimento: "
                + talk.burst[:200],
                "Vou confirmar esse valor com a equipe e já te respondemos por aqui.",
            )
        if len(lines) == 1:
            return _say(f"{lines[0]}\n\n{ASK_SLOT}")
        listed = "\n".join(f"• {line}" for line in lines)
        return _say(f"Os valores da nossa tabela:\n{listed}\n\n{ASK_SLOT}")

    def _answer_fact(self, topic: str, words: str) -> Any:
        def answer(
            talk: _Conversation, reading: IntentReading, window: TimeWindow | None
        ) -> ModelReply:
            grounding = talk.grounding
            facts = grounding.facts if grounding else {}
            asked = fold(talk.burst)
            stems = _TOPIC_STEMS.get(topic, ())
            parts: list[str] = []
            wants_hours = any(w in asked for w in _HOURS_WORDS)
            wants_address = any(w in asked for w in _ADDRESS_WORDS)
            if topic == "address":
                if wants_address or not wants_hours:
                    parts += [facts["address"]] if facts.get("address") else []
                if wants_hours or not wants_address:
                    parts += [facts["hours"]] if facts.get("hours") else []
            elif facts.get(topic):
                parts.append(facts[topic])
            # What the question asks beyond the topic ("estacionamento", "domingo", "unimed")
            # and the facts do not say: the knowledge base may.
            said = fold(" ".join(parts))
            extra = [w for w in _content_words(asked) if w not in said and not w.startswith(stems)]
            if extra:
                found = _best_sentences(grounding, extra, require=extra)
                if parts and topic != "address":
                    # The facts list what is accepted: knowledge restating it may be stale.
                    found = [f for f in found if not _hits(set(stems), fold(f).split())]
                if found and topic == "address" and not (wants_address or wants_hours):
                    parts = found
                else:
                    parts += [f for f in found if fold(f) not in said]
            if not parts:
                parts = _best_sentences(grounding, _content_words(asked), stems, require=stems)
            if not parts:
                return _hand_off(
                    f"{topic}_unknown",
                    "Pergunta sem resposta na base de conhecimento: " + talk.burst[:200],
                    "Vou confirmar essa informação com a equipe e já te respondemos por aqui.",
                )
            return _say("\n".join(parts) + "\n\nPosso ajudar em algo mais?")

        return answer

    def _wants_human(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        return _hand_off(
            "patient_asked_for_a_person",
            "O paciente pediu para falar com uma pessoa.",
            "Claro! Vou chamar uma pessoa da nossa equipe para falar com você. Ela responde "
            "por aqui em instantes.",
        )

    def _complaint(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        return _hand_off(
            "complaint",
            "Reclamação do paciente: " + talk.burst[:300],
            "Sinto muito por isso. Vou passar agora para a nossa equipe, que vai cuidar do "
            "seu caso pessoalmente.",
        )

    def _greeting(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        grounding = talk.grounding
        name = f", {grounding.customer_name}" if grounding and grounding.customer_name else ""
        me = grounding.assistant_name if grounding else "a recepção"
        clinic = grounding.clinic_name if grounding else "clínica"
        return _say(
            f"Olá{name}! Aqui é {me}, da {clinic}. Posso marcar, remarcar ou cancelar "
            "consultas e tirar dúvidas sobre a clínica. Como posso ajudar?"
        )

    def _thanks(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        return _say("Por nada! Se precisar de algo mais, é só chamar.")

    def _affirm(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        if talk.last_said.rstrip().endswith(ASK_SLOT):
            return _tools(_find(find_procedure(talk.last_said), None, talk.burst))
        return _say("Certo! Posso ajudar em algo mais?")

    def _deny(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        if talk.offered_slots() is not None:
            return _say("Sem problema! Me diga um dia ou período que fica melhor e eu procuro.")
        return _say("Tudo bem! Se precisar de algo, é só chamar.")

    def _knowledge_or_hand_off(self, talk: _Conversation, reading: IntentReading) -> ModelReply:
        line = _knowledge_line(talk.grounding, reading.procedure, hint=talk.burst)
        if line is not None and talk.grounding and talk.grounding.knowledge[0].score >= 2.0:
            return _say(f"{line}\n\nPosso ajudar em algo mais?")
        return _hand_off(
            "unsure",
            "A IA não entendeu com segurança: " + talk.burst[:300],
            "Vou chamar uma pessoa da nossa equipe para te ajudar com isso. Ela responde por "
            "aqui em instantes.",
        )

    # -- after the tools ran ------------------------------------------------------------------

    def _after_tools(self, talk: _Conversation) -> ModelReply:
        call, result = talk.current[-1]
        name = talk.grounding.customer_name if talk.grounding else None
        if not result.get("ok"):
            return self._refused(talk, call, result)
        if call.name == "find_slots":
            slots = result.get("slots") or []
            if call.id.endswith(PICK_SEARCH) and len({str(s.get("start")) for s in slots}) == 1:
                return _tools(_book_or_move(call, slots[0], 2))
            if not slots:
                if (
                    call.arguments.get("after")
                    or call.arguments.get("before")
                    or (len(talk.current) == 1 and call.arguments.get("first_day"))
                ):
                    wider = {
                        k: v
                        for k, v in call.arguments.items()
                        if k in ("procedure", "professional", "for_appointment_id")
                    }
                    if len(talk.current) == 1:
                        return _tools(_call("find_slots", 2, **wider))
                return _say(
                    "Não encontrei horário livre nos próximos dias. Vou pedir para a equipe "
                    "ver um encaixe para você."
                )
            first_call, first_result = talk.current[0]
            if call.id.endswith(AGAIN):
                intro = f"Tenho estas {len(slots)} opções"
            elif len(talk.current) == 1:
                intro = "Encontrei estes horários"
            elif first_call.name == "find_slots" and not first_result.get("ok"):
                intro = (
                    "Não encontrei esse atendimento com "
                    f"{str(first_call.arguments.get('professional', '')).title()}, mas "
                    "encontrei estes horários"
                    if first_call.arguments.get("professional")
                    else "Encontrei estes horários"
                )
            elif first_call.name != "find_slots":
                intro = "Esse horário acabou de ser ocupado. Encontrei estes outros"
            else:
                intro = "Nesse período não tenho vaga, mas encontrei estes horários"
            options = "\n".join(
                f"{s['option']}) {s['when']}"
                + (f" com {s['professional']}" if s.get("professional") else "")
                for s in slots
            )
            return _say(
                f"{intro} para {result.get('procedure', 'a consulta')}:\n{options}\n"
                "Qual prefere? É só responder com o número."
            )
        if call.name == "book_appointment":
            greeting = f"Pronto, {name}!" if name else "Pronto!"
            text = f"{greeting} Sua consulta ficou marcada para {result.get('when')}."
            deposit = result.get("deposit")
            if isinstance(deposit, Mapping) and deposit.get("ok") and deposit.get("amount"):
                text += (
                    f" Para garantir o horário, enviei aqui o PIX do sinal de {deposit['amount']}."
                )
            return _say(text + " Se precisar remarcar, é só me avisar.")
        if call.name == "reschedule_appointment":
            return _say(f"Feito! Sua consulta foi remarcada para {result.get('when')}.")
        if call.name == "cancel_appointment":
            return _say("Sua consulta foi cancelada. Quando quiser marcar de novo, é só me chamar.")
        if call.name == "create_pix_charge":
            return _say(f"Enviei aqui o PIX de {result.get('amount')}.")
        return _say("Certo! Posso ajudar em algo mais?")

    def _refused(self, talk: _Conversation, call: ToolCall, result: dict[str, Any]) -> ModelReply:
        error = str(result.get("error"))
        if call.name == "find_slots" and error == "unknown_procedure":
            known = ", ".join(str(p) for p in result.get("procedures") or [])
            return _say(
                f"Para qual procedimento seria? Atendemos: {known}."
                if known
                else "Para qual procedimento seria?"
            )
        if (
            call.name == "find_slots"
            and call.arguments.get("professional")
            and len(talk.current) == 1
        ):
            # The professional named does not do it (or is unknown): anyone who does.
            wider = {k: v for k, v in call.arguments.items() if k != "professional"}
            return _tools(_call("find_slots", 2, **wider))
        if error == "slot_taken":
            offered = talk.offered_slots()
            again = dict(offered[0].arguments) if offered else {}
            return _tools(_call("find_slots", 2, **again))
        return _hand_off(
            f"tool_refused:{call.name}",
            f"A IA tentou {call.name} e recebeu: {result.get('message')}",
            "Não consegui concluir isso por aqui. Vou chamar uma pessoa da equipe para te ajudar.",
        )


# -- helpers -----------------------------------------------------------------------------------


def _say(text: str) -> ModelReply:
    return ModelReply(text=text, model=MODEL)


def _tools(*calls: ToolCall) -> ModelReply:
    return ModelReply(tool_calls=calls, model=MODEL, finish_reason="tool_calls")


def _hand_off(reason: str, summary: str, text: str) -> ModelReply:
    return ModelReply(
        text=text,
        tool_calls=(_call("hand_off", 1, reason=reason, summary=summary),),
        model=MODEL,
        finish_reason="tool_calls",
    )


def _find(procedure: str | None, window: TimeWindow | None, text: str, number: int = 1) -> ToolCall:
    arguments: dict[str, Any] = {"procedure": procedure or ""}
    if window is not None:
        last = window.end - timedelta(microseconds=1)
        arguments["first_day"] = window.start.date().isoformat()
        arguments["last_day"] = last.date().isoformat()
        if window.hours is not None:
            start, end = window.hours
            arguments["after"] = f"{start // 60:02d}:{start % 60:02d}"
            if window.exact_time:
                end = start + 1
            arguments["before"] = f"{min(end, 1439) // 60:02d}:{min(end, 1439) % 60:02d}"
    professional = _professional(text)
    if professional:
        arguments["professional"] = professional
    return _call("find_slots", number, **arguments)


def _search_again(
    call: ToolCall, result: Mapping[str, Any], slots: list[dict[str, Any]], window: TimeWindow
) -> ToolCall:
    """A new search for what the patient answered to the options: the same procedure,
    professional and appointment to move, at the time they said (on the days offered, when
    they named no day) or in the new period they said."""
    kept = {
        k: v
        for k, v in call.arguments.items()
        if k in ("procedure", "professional", "for_appointment_id")
    }
    if result.get("type_id"):
        kept["procedure"] = result["type_id"]
    if window.exact_time and window.hours is not None and not _DAY_SAID.search(window.text):
        days = sorted(str(s.get("start", ""))[:10] for s in slots)
        minute = window.hours[0]
        return _call(
            "find_slots",
            PICK_SEARCH,
            **kept,
            first_day=days[0],
            last_day=days[-1],
            after=_hhmm(minute),
            before=_hhmm(minute + 1),
        )
    found = _find(None, window, "")
    arguments = {k: v for k, v in found.arguments.items() if k != "procedure"}
    return _call("find_slots", 1, **(kept | arguments))


def _hhmm(minute: int) -> str:
    minute = min(minute, 1439)
    return f"{minute // 60:02d}:{minute % 60:02d}"


_DOCTOR = re.compile(r"\b(?:dra?|doutora?)\.?\s+([a-zà-ú]+)", re.IGNORECASE)


def _professional(text: str) -> str | None:
    match = _DOCTOR.search(text)
    return match.group(1) if match else None


def _wants_time(text: str) -> bool:
    folded = fold(text)
    return any(w in folded for w in ("horario", "vaga", "marcar", "agendar", "consulta", "encaixe"))


_ANY_OPTION = re.compile(
    r"\b(?:qualquer (?:um|uma|horario|hora|dia|opcao)|tanto faz|o que (?:tiver|for) (?:antes"
    r"|primeiro)|o mais cedo|o primeiro que tiver|o mais rapido)\b"
)
_BARE_HOUR = re.compile(r"\b(?:as|das|pras|pra as|o de|a de)\s+(\d{1,2})(\s+e\s+meia)?\b")
_LAST_OPTION = re.compile(r"\b(?:o|a|opcao) ultim[oa]\b|\bultim[oa] (?:opcao|horario)\b")


def _choose_slot(
    slots: list[dict[str, Any]],
    reading: IntentReading,
    text: str,
    window: TimeWindow | None = None,
) -> Any:
    """The offered slot the patient picks: by number, by its time ("o das 10", "pode ser
    as 15h"), "qualquer um", "o último", or a yes to the one time offered; None when the
    answer picks none of them."""
    if reading.option is not None and 1 <= reading.option <= len(slots):
        return slots[reading.option - 1]
    folded = fold(text)
    match = _CLOCK.search(folded)
    wanted = None
    if match:
        wanted = f"T{int(match.group(1)):02d}:{match.group(2) or '00'}"
    elif window is not None and window.exact_time and window.hours is not None:
        wanted = f"T{_hhmm(window.hours[0])}"
    elif bare := _BARE_HOUR.search(folded):
        hour = int(bare.group(1))
        hour += 12 if 1 <= hour <= 7 else 0  # "o das 3" is 15h: clinics do not open at 3 am
        wanted = f"T{hour:02d}:{'30' if bare.group(2) else '00'}"
    if wanted is not None:
        found = [s for s in slots if wanted in str(s.get("start"))]
        day_said = window is not None and _DAY_SAID.search(window.text)
        if day_said and window is not None:
            found = [
                s for s in found if str(s.get("start"))[:10] == window.start.date().isoformat()
            ]
        if found:
            return found[0]
        return None
    if _ANY_OPTION.search(folded):
        return slots[0]
    if _LAST_OPTION.search(folded):
        return slots[-1]
    starts = {str(s.get("start")) for s in slots}
    if reading.intent in (Intent.AFFIRM, Intent.BOOKING) and len(starts) == 1:
        return slots[0]  # one time offered (with one professional or several): "pode sim"
    return None


def _book_or_move(search: ToolCall, slot: Mapping[str, Any], n: int) -> ToolCall:
    """Book ``slot`` (found by ``search``), or move the appointment the search was for."""
    appointment = search.arguments.get("for_appointment_id")
    if appointment:
        return _call("reschedule_appointment", n, appointment_id=appointment, start=slot["start"])
    return _call(
        "book_appointment",
        n,
        start=slot["start"],
        professional_id=slot.get("professional_id"),
        type_id=slot.get("type_id"),
    )


def _option_line(slot: Mapping[str, Any]) -> str:
    who = f" com {slot['professional']}" if slot.get("professional") else ""
    return f"{slot['option']}) {slot['when']}{who}"


def _appointment_id(line: str) -> str:
    return line.split(":", 1)[0].strip()


def _appointment_when(line: str) -> str:
    return line.split(":", 1)[1].split(" (tipo ", 1)[0].strip()


def _appointment_type(line: str) -> str | None:
    found = re.search(r"\(tipo ([^,]+),", line)
    return found.group(1) if found else None


_MONTHS = (
    "janeiro",
    "fevereiro",
    "marco",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
)
_DAY_OF_MONTH = re.compile(r"\b(\d{1,2}) de (" + "|".join(_MONTHS) + r")\b")


def _appointment_day(line: str, now: datetime) -> date | None:
    """The local date of an upcoming appointment (its line says "7 de dezembro")."""
    found = _DAY_OF_MONTH.search(fold(_appointment_when(line)))
    if found is None:
        return None
    month = _MONTHS.index(found.group(2)) + 1
    for year in (now.year, now.year + 1):
        try:
            day = date(year, month, int(found.group(1)))
        except ValueError:
            return None
        if day >= now.date():
            return day
    return None


def _away_from(arguments: Mapping[str, Any], day: date | None) -> dict[str, Any]:
    """Moving an appointment, the patient names the day it is on now and the day they want
    ("não posso segunda, passa pra sexta"): a searched span that starts or ends on the
    appointment's own day loses that day."""
    first, last = arguments.get("first_day"), arguments.get("last_day")
    if day is None or not first or not last or first == last:
        return {}
    if first == day.isoformat():
        return {"first_day": (day + timedelta(days=1)).isoformat()}
    if last == day.isoformat():
        return {"last_day": (day - timedelta(days=1)).isoformat()}
    return {}


def _numbered(question: str, upcoming: list[str]) -> str:
    lines = "\n".join(f"{n}) {_appointment_when(line)}" for n, line in enumerate(upcoming, 1))
    return f"{question}\n{lines}\nÉ só responder com o número."


def _knowledge_line(
    grounding: Grounding | None,
    procedure: str | None,
    *,
    money: bool = False,
    hint: str = "",
) -> str | None:
    """The best line of the retrieved knowledge for the question (with a price when
    ``money``)."""
    if grounding is None:
        return None
    wanted = [procedure] if procedure else []
    wanted += [w for w in fold(hint).split() if len(w) > 3]
    for chunk in grounding.knowledge:
        lines = [chunk.snippet] if chunk.snippet else []
        lines += [line.strip() for line in chunk.text.splitlines() if line.strip()]
        for line in lines:
            folded = fold(line)
            if money and "r$" not in line.lower() and "reais" not in folded:
                continue
            about = procedure is None or procedure in folded or find_procedure(line) == procedure
            if about and (not wanted or any(w in folded for w in wanted)):
                return _clean(line)
    return None


MAX_PRICE_LINES = 5
_SENTENCE = re.compile(
    r"(?<![A-Z][a-z]\.)(?<!\b[A-Z][a-z][a-z]\.)(?<=[.!?])\s+(?=[A-ZÀ-Ú0-9])"
)  # not after "Dr." or "Dra."


_PRICE_WORDS = frozenset(
    (
        "valor",
        "valores",
        "preco",
        "precos",
        "custa",
        "custo",
        "custam",
        "quanto",
        "quanta",
        "cobram",
        "cobra",
        "reais",
        "tabela",
        "orcamento",
    )
)


def _price_lines(grounding: Grounding | None, procedure: str, asked: str = "") -> list[str]:
    """The price lines of the retrieved knowledge about ``procedure`` (a table row each; a
    procedure often has several: "canal" of an incisor, a premolar, a molar); when the
    question names more ("canal de molar", "consulta pra criança"), the rows that say the
    most of it."""
    if grounding is None:
        return []
    words = {w[:5] for w in _content_words(fold(asked)) if w not in _PRICE_WORDS}
    rows: list[tuple[int, str]] = []
    prose: list[str] = []
    for chunk in grounding.knowledge:
        for line in chunk.text.splitlines():
            folded = fold(line)
            if "r$" not in line.lower() and "reais" not in folded:
                continue
            about = procedure in folded or find_procedure(line) == procedure
            hits = _hits(words, folded.split())
            if not about and hits < 2:
                continue  # another procedure, unless it says two things the patient said
            tidy = _tidy_row(line)
            if len(tidy) > 120:
                if about and tidy not in prose:
                    prose.append(tidy)
            elif tidy not in [r for _, r in rows]:
                rows.append((hits + about, tidy))
    if not rows:
        return prose[:1]
    best = max(score for score, _ in rows)
    return [row for score, row in rows if score == best][:MAX_PRICE_LINES]


def _tidy_row(line: str) -> str:
    """A table row as a patient reads it: ``"Procedimento: Limpeza; Valor: R$ 180,00"`` ->
    ``"Limpeza: R$ 180,00"``."""
    cells = [c.strip() for c in line.strip().lstrip("-*#• ").split(";") if c.strip()]
    labelled = [re.match(r"^[A-Za-zÀ-ú ]{2,20}:\s*(.+)$", c) for c in cells]
    if len(cells) > 1 and all(labelled):
        values = [m.group(1) for m in labelled if m]
        return f"{values[0]}: {', '.join(values[1:])}"
    return _clean(line)


def _content_words(folded: str) -> list[str]:
    return [w for w in folded.split() if len(w) > 3 and w not in _STOPWORDS and not w.isdigit()]


def _best_sentences(
    grounding: Grounding | None,
    asked: Sequence[str],
    topic: Sequence[str] = (),
    *,
    require: Sequence[str],
    most: int = 2,
) -> list[str]:
    """The sentences of the retrieved knowledge that hold one of ``require`` and share the
    most of the words ``asked`` (then of the ``topic``'s words), compared by their first
    five letters; at most ``most``, in the order of the documents."""
    if grounding is None or not (asked or topic):
        return []
    asked_stems = {w[:5] for w in asked}
    topic_stems = {w[:5] for w in topic}
    needed = {w[:5] for w in require}
    scored: list[tuple[int, int, int, str]] = []
    order = 0
    for chunk in grounding.knowledge:
        for line in chunk.text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            for sentence in _SENTENCE.split(line.strip()):
                order += 1
                if not sentence or sentence.rstrip().endswith("?"):
                    continue
                words = fold(sentence).split()
                if not _hits(needed, words):
                    continue
                scored.append(
                    (-_hits(asked_stems, words), -_hits(topic_stems, words), order, sentence)
                )
    chosen: list[tuple[int, str]] = []
    for _, _, place, sentence in sorted(scored):
        text = _clean(sentence)
        if text not in [t for _, t in chosen]:
            chosen.append((place, text))
        if len(chosen) == most:
            break
    return [text for _, text in sorted(chosen)]


def _hits(stems: set[str], words: Sequence[str]) -> int:
    return sum(1 for stem in stems if any(w.startswith(stem) for w in words))


def _fact_line(grounding: Grounding | None, topic: str, procedure: str | None) -> str | None:
    if grounding is None or not grounding.facts.get(topic):
        return None
    for line in grounding.facts[topic].splitlines():
        if procedure is None or procedure in fold(line) or find_procedure(line) == procedure:
            return _clean(line)
    return None


def _clean(line: str) -> str:
    return line.strip().lstrip("-*#• ").replace(";", ",").strip()
