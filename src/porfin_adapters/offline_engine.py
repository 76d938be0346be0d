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
from datetime import datetime, timedelta
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
_HOURS_WORDS = ("hora", "abre", "funciona", "fecha", "sab")
_ADDRESS_WORDS = ("onde", "ender", "local", "fica", "chegar")
_CLOCK = re.compile(r"\b(\d{1,2})(?:h|:|\s*horas?)(\d{2})?\b")


def _call(name: str, n: int, **arguments: Any) -> ToolCall:
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
        if intent is Intent.OTHER and (reading.procedure or window) and _wants_time(talk.burst):
            intent = Intent.BOOKING
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
            if reading.intent is Intent.AFFIRM:
                return _tools(
                    _call("cancel_appointment", 1, appointment_id=_appointment_id(upcoming[0]))
                )
            if reading.intent is Intent.DENY:
                return _say("Tudo bem, sua consulta continua marcada. Posso ajudar em algo mais?")
        offered = talk.offered_slots()
        if offered is None:
            return None
        call, slots = offered
        slot = _choose_slot(slots, reading, talk.burst)
        if slot is None:
            return None
        appointment = call.arguments.get("for_appointment_id")
        if appointment:
            return _tools(
                _call("reschedule_appointment", 1, appointment_id=appointment, start=slot["start"])
            )
        return _tools(
            _call(
                "book_appointment",
                1,
                start=slot["start"],
                professional_id=slot.get("professional_id"),
                type_id=slot.get("type_id"),
            )
        )

    def _booking(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        return _tools(_find(reading.procedure or find_procedure(talk.burst), window, talk.burst))

    def _reschedule(
        self, talk: _Conversation, reading: IntentReading, window: TimeWindow | None
    ) -> ModelReply:
        upcoming = list(talk.grounding.upcoming_appointments) if talk.grounding else []
        if not upcoming:
            return _say(
                "Não encontrei nenhuma consulta marcada no seu nome. Quer que eu procure um "
                "horário para marcar?"
            )
        if len(upcoming) > 1:
            return _say(_numbered(ASK_RESCHEDULE, upcoming))
        call = _find(_appointment_type(upcoming[0]), window, talk.burst)
        arguments = dict(call.arguments) | {"for_appointment_id": _appointment_id(upcoming[0])}
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
        line = _knowledge_line(talk.grounding, procedure, money=True) or _fact_line(
            talk.grounding, "prices", procedure
        )
        if line is None:
            return _hand_off(
                "price_unknown",
                "O paciente perguntou um valor que não está na base de conhecimento: "
                + talk.burst[:200],
                "Vou confirmar esse valor com a equipe e já te respondemos por aqui.",
            )
        return _say(f"{line}\n\nQuer que eu veja um horário para você?")

    def _answer_fact(self, topic: str, words: str) -> Any:
        def answer(
            talk: _Conversation, reading: IntentReading, window: TimeWindow | None
        ) -> ModelReply:
            grounding = talk.grounding
            facts = grounding.facts if grounding else {}
            asked = fold(talk.burst)
            parts: list[str] = []
            if topic == "address":
                wants_hours = any(w in asked for w in ("hora", "abre", "funciona", "fecha", "sab"))
                wants_address = any(
                    w in asked for w in ("onde", "ender", "local", "fica", "chegar")
                )
                if wants_address or not wants_hours:
                    parts += [facts["address"]] if facts.get("address") else []
                if wants_hours or not wants_address:
                    parts += [facts["hours"]] if facts.get("hours") else []
            elif facts.get(topic):
                parts.append(facts[topic])
            if not parts:
                line = _knowledge_line(grounding, None, hint=f"{talk.burst} {words}")
                if line:
                    parts.append(line)
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
        if talk.last_said.rstrip().endswith("Quer que eu veja um horário para você?"):
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
            intro = (
                "Encontrei estes horários"
                if len(talk.current) == 1
                else "Nesse período não tenho vaga, mas encontrei estes horários"
            )
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
        if error == "slot_taken":
            return _tools(_find(None, None, talk.burst, number=2))
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


_DOCTOR = re.compile(r"\b(?:dra?|doutora?)\.?\s+([a-zà-ú]+)", re.IGNORECASE)


def _professional(text: str) -> str | None:
    match = _DOCTOR.search(text)
    return match.group(1) if match else None


def _wants_time(text: str) -> bool:
    folded = fold(text)
    return any(w in folded for w in ("horario", "vaga", "marcar", "agendar", "consulta", "encaixe"))


def _choose_slot(slots: list[dict[str, Any]], reading: IntentReading, text: str) -> Any:
    if reading.option is not None and 1 <= reading.option <= len(slots):
        return slots[reading.option - 1]
    match = _CLOCK.search(fold(text))
    if match:
        wanted = f"T{int(match.group(1)):02d}:{match.group(2) or '00'}"
        found = [s for s in slots if wanted in str(s.get("start"))]
        if len(found) >= 1:
            return found[0]
    if reading.intent is Intent.AFFIRM and len(slots) == 1:
        return slots[0]
    return None


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


def _fact_line(grounding: Grounding | None, topic: str, procedure: str | None) -> str | None:
    if grounding is None or not grounding.facts.get(topic):
        return None
    for line in grounding.facts[topic].splitlines():
        if procedure is None or procedure in fold(line) or find_procedure(line) == procedure:
            return _clean(line)
    return None


def _clean(line: str) -> str:
    return line.strip().lstrip("-*#• ").replace(";", ",").strip()
