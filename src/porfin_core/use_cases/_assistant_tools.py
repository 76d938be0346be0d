"""The AI receptionist's tools: each runs the core use case staff use, with the same rules
and errors, and answers the model with plain data (never an exception: a refusal is a
result the model reads and explains to the patient).

In a sandbox conversation the tools that change something (book, reschedule, cancel, charge,
funnel, tags) only say what they would do: the sandbox never touches real patients.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import Any

import attrs

from porfin_core.domain.assistant import Assistant
from porfin_core.domain.audit import Actor, ActorKind
from porfin_core.domain.clinic import Clinic
from porfin_core.domain.procedures import PROCEDURES, find_procedure
from porfin_core.domain.pt_text import fold
from porfin_core.domain.scheduling import AppointmentStatus, AppointmentType, Professional
from porfin_core.errors import PorfinError
from porfin_core.ports.chat_model import ToolCall, ToolSpec
from porfin_core.ports.formats import Formats
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWorkFactory
from porfin_core.use_cases.book_with_any_professional import BookingRequest, BookWithAnyProfessional
from porfin_core.use_cases.cancel_appointment import CancelAppointment, Cancellation
from porfin_core.use_cases.create_charge import CreateCharge, NewCharge
from porfin_core.use_cases.find_free_slots import FindFreeSlots, SlotRequest
from porfin_core.use_cases.reschedule_appointment import NewTime, RescheduleAppointment
from porfin_core.use_cases.update_customer import ChangeCustomer, UpdateCustomer

MAX_SLOTS = 5
"""Options offered to the patient at once."""

MIN_OPTIONS = 3
"""Fewer options than this, an hour apart: closer ones are offered too."""

MIN_NOTICE = timedelta(minutes=30)
"""Slots starting sooner than this are not offered (the patient could not make it)."""

SEARCHED_SLOTS = 60
"""Free slots read per search; with a time of day asked, :data:`SEARCHED_SLOTS_BY_TIME`
(the filter by time runs after the search, so the wanted hours must be within reach)."""
SEARCHED_SLOTS_BY_TIME = 200

_DATE = {"type": "string", "description": "Data AAAA-MM-DD."}
_TIME = {"type": "string", "description": "Hora HH:MM."}

SPECS: Mapping[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            name="find_slots",
            description="Procura horários livres para um procedimento, a partir de um dia, "
            "opcionalmente numa faixa de horário e com um profissional.",
            parameters={
                "type": "object",
                "properties": {
                    "procedure": {"type": "string", "description": "Procedimento ou tipo."},
                    "first_day": _DATE,
                    "last_day": _DATE,
                    "after": _TIME,
                    "before": _TIME,
                    "professional": {"type": "string", "description": "Nome do profissional."},
                    "for_appointment_id": {
                        "type": "string",
                        "description": "Ao remarcar: a consulta que será movida.",
                    },
                },
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="book_appointment",
            description="Marca a consulta num horário devolvido por find_slots.",
            parameters={
                "type": "object",
                "properties": {
                    "start": {"type": "string", "description": "Início, ISO 8601."},
                    "professional_id": {"type": "string"},
                    "type_id": {"type": "string"},
                },
                "required": ["start", "professional_id", "type_id"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="reschedule_appointment",
            description="Remarca uma consulta do paciente para outro horário livre.",
            parameters={
                "type": "object",
                "properties": {
                    "appointment_id": {"type": "string"},
                    "start": {"type": "string", "description": "Novo início, ISO 8601."},
                },
                "required": ["appointment_id", "start"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="cancel_appointment",
            description="Cancela uma consulta do paciente.",
            parameters={
                "type": "object",
                "properties": {
                    "appointment_id": {"type": "string"},
                    "reason": {"type": "string"},
                },
                "required": ["appointment_id"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="create_pix_charge",
            description="Envia ao paciente uma cobrança PIX (copia e cola e QR code).",
            parameters={
                "type": "object",
                "properties": {
                    "amount_cents": {"type": "integer", "minimum": 1},
                    "description": {"type": "string"},
                    "appointment_id": {"type": "string"},
                },
                "required": ["amount_cents", "description"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="hand_off",
            description="Passa a conversa para uma pessoa da equipe, com o motivo e um resumo.",
            parameters={
                "type": "object",
                "properties": {
                    "reason": {"type": "string"},
                    "summary": {"type": "string"},
                },
                "required": ["reason"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="set_funnel_stage",
            description="Move o paciente no funil (new_lead, contacted, qualified, scheduled, "
            "attended, paid, returning, lost).",
            parameters={
                "type": "object",
                "properties": {"stage": {"type": "string"}},
                "required": ["stage"],
                "additionalProperties": False,
            },
        ),
        ToolSpec(
            name="add_tag",
            description="Marca o paciente com uma etiqueta (ex.: interesse-clareamento).",
            parameters={
                "type": "object",
                "properties": {"tag": {"type": "string"}},
                "required": ["tag"],
                "additionalProperties": False,
            },
        ),
    )
}


@attrs.frozen(kw_only=True)
class ToolContext:
    """Who the tools act for.

    Attributes:
        clinic: The clinic.
        assistant: The assistant calling them.
        customer_id: The patient (None in a sandbox without one).
        chat_id: The chat (None in a sandbox).
        sandbox: Only say what would be done.
    """

    clinic: Clinic
    assistant: Assistant
    customer_id: str | None
    chat_id: str | None
    sandbox: bool = False

    @property
    def actor(self) -> Actor:
        """The audit log's author: the assistant."""
        return Actor(id=f"ai:{self.assistant.id}", kind=ActorKind.SYSTEM, source="assistant")


def _text(arguments: Mapping[str, Any], name: str) -> str:
    value = arguments.get(name)
    return value.strip() if isinstance(value, str) else ""


def _when(moment: datetime, clinic: Clinic, formats: Formats) -> str:
    return formats.date_time(moment, clinic.timezone)


def _refusal(exc: PorfinError) -> dict[str, Any]:
    return {"ok": False, "error": exc.code, "message": exc.message}


@attrs.define(kw_only=True)
class AssistantTools:
    """Runs the tools (see the module)."""

    uow_factory: UnitOfWorkFactory
    formats: Formats
    find_slots: FindFreeSlots
    book: BookWithAnyProfessional
    reschedule: RescheduleAppointment
    cancel: CancelAppointment
    create_charge: CreateCharge
    update_customer: UpdateCustomer

    def specs(self, assistant: Assistant) -> tuple[ToolSpec, ...]:
        """The specs of the tools ``assistant`` may use."""
        return tuple(SPECS[name] for name in SPECS if assistant.may_use(name))

    async def run(self, call: ToolCall, ctx: ToolContext) -> dict[str, Any]:
        """Run ``call``; the result the model reads (``ok`` False with ``error`` and
        ``message`` when the use case refused, or the tool is unknown or not enabled)."""
        if call.name not in SPECS or not ctx.assistant.may_use(call.name):
            return {"ok": False, "error": "unknown_tool", "message": f"no tool {call.name}"}
        handler = getattr(self, f"_{call.name}")
        try:
            result: dict[str, Any] = await handler(call.arguments, ctx)
        except PorfinError as exc:
            return _refusal(exc)
        except (TypeError, ValueError) as exc:
            return {"ok": False, "error": "bad_arguments", "message": str(exc)}
        return result

    # -- scheduling ---------------------------------------------------------------------------

    async def _catalogue(self, clinic_id: str) -> tuple[list[AppointmentType], list[Professional]]:
        async with self.uow_factory(read_only=True) as uow:
            kinds = [t for t in await uow.appointment_types.list(clinic_id) if t.active]
            people = [p for p in await uow.professionals.list(clinic_id) if p.active]
        return kinds, people

    async def _find_slots(self, arguments: Mapping[str, Any], ctx: ToolContext) -> dict[str, Any]:
        clinic = ctx.clinic
        kinds, people = await self._catalogue(clinic.id)
        asked = _text(arguments, "procedure")
        # A type id works too (the upcoming appointments the model sees carry the type's id).
        kind = next((t for t in kinds if t.id == asked), None) or match_type(kinds, asked)
        if kind is None:
            return {
                "ok": False,
                "error": "unknown_procedure",
                "message": "procedimento não encontrado",
                "procedures": [t.name for t in kinds],
            }
        professional = match_professional(people, _text(arguments, "professional"))
        first = _date(arguments.get("first_day"))
        last = _date(arguments.get("last_day"))
        if first is not None and last is None:
            last = first + timedelta(days=6)
        after, before = _clock(arguments.get("after")), _clock(arguments.get("before"))
        slots = await self.find_slots(
            SlotRequest(
                clinic_id=clinic.id,
                type_id=kind.id,
                first_day=first,
                last_day=last,
                professional_id=None if professional is None else professional.id,
                limit=SEARCHED_SLOTS
                if after is None and before is None
                else SEARCHED_SLOTS_BY_TIME,
            )
        )
        names = {p.id: p.name for p in people}
        zone = clinic.zone
        soon = self.find_slots.clock.now() + MIN_NOTICE
        chosen = [
            s
            for s in slots
            if s.start >= soon
            and (after is None or s.start.astimezone(zone).time() >= after)
            and (before is None or s.start.astimezone(zone).time() < before)
        ]
        chosen = _spread(chosen, MAX_SLOTS)
        return {
            "ok": True,
            "procedure": kind.name,
            "type_id": kind.id,
            "price_cents": kind.price_cents or None,
            "slots": [
                {
                    "option": n,
                    "start": s.start.astimezone(zone).isoformat(),
                    "when": _when(s.start, clinic, self.formats),
                    "professional_id": s.professional_id,
                    "professional": names.get(s.professional_id, ""),
                    "type_id": kind.id,
                }
                for n, s in enumerate(chosen, start=1)
            ],
        }

    async def _book_appointment(
        self, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        start = datetime.fromisoformat(_text(arguments, "start"))
        professional_id = _text(arguments, "professional_id")
        type_id = _text(arguments, "type_id")
        when = _when(start, ctx.clinic, self.formats)
        if ctx.sandbox or ctx.customer_id is None:
            return {"ok": True, "sandbox": True, "when": when, "would_book": type_id}
        appointment = await self.book(
            BookingRequest(
                clinic_id=ctx.clinic.id,
                customer_id=ctx.customer_id,
                type_id=type_id,
                start=start,
                professional_id=professional_id or None,
                source="ai",
                chat_id=ctx.chat_id,
                actor=ctx.actor,
            )
        )
        result: dict[str, Any] = {
            "ok": True,
            "appointment_id": appointment.id,
            "when": _when(appointment.start, ctx.clinic, self.formats),
        }
        deposit = ctx.assistant.deposit_cents
        if deposit:
            result["deposit"] = await self._charge(
                ctx, deposit, f"Sinal da consulta de {result['when']}", appointment.id
            )
        return result

    async def _reschedule_appointment(
        self, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        appointment_id = _text(arguments, "appointment_id")
        start = datetime.fromisoformat(_text(arguments, "start"))
        await self._own(ctx, appointment_id)
        if ctx.sandbox:
            return {"ok": True, "sandbox": True, "when": _when(start, ctx.clinic, self.formats)}
        moved = await self.reschedule(
            NewTime(
                clinic_id=ctx.clinic.id,
                appointment_id=appointment_id,
                start=start,
                actor=ctx.actor,
            )
        )
        return {
            "ok": True,
            "appointment_id": moved.appointment.id,
            "when": _when(moved.appointment.start, ctx.clinic, self.formats),
        }

    async def _cancel_appointment(
        self, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        appointment_id = _text(arguments, "appointment_id")
        await self._own(ctx, appointment_id)
        if ctx.sandbox:
            return {"ok": True, "sandbox": True, "appointment_id": appointment_id}
        done = await self.cancel(
            Cancellation(
                clinic_id=ctx.clinic.id,
                appointment_id=appointment_id,
                reason=_text(arguments, "reason") or "cancelada pelo paciente (WhatsApp)",
                actor=ctx.actor,
            )
        )
        return {"ok": True, "appointment_id": done.appointment.id, "status": "cancelled"}

    async def _own(self, ctx: ToolContext, appointment_id: str) -> None:
        """Refuse an appointment that is not the patient's (the model never acts on
        another patient's)."""
        async with self.uow_factory(read_only=True) as uow:
            appointment = await uow.appointments.get(ctx.clinic.id, appointment_id)
        if ctx.customer_id is not None and appointment.customer_id != ctx.customer_id:
            raise PorfinError("that appointment is not this patient's")

    # -- money and the funnel ------------------------------------------------------------------

    async def _create_pix_charge(
        self, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        amount = arguments.get("amount_cents")
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError("amount_cents must be an integer")
        return await self._charge(
            ctx,
            amount,
            _text(arguments, "description") or "Cobrança",
            _text(arguments, "appointment_id") or None,
        )

    async def _charge(
        self, ctx: ToolContext, amount: int, description: str, appointment_id: str | None
    ) -> dict[str, Any]:
        money = self.formats.money(amount)
        if ctx.sandbox or ctx.customer_id is None:
            return {"ok": True, "sandbox": True, "amount": money}
        try:
            issued = await self.create_charge(
                NewCharge(
                    clinic_id=ctx.clinic.id,
                    customer_id=ctx.customer_id,
                    amount_cents=amount,
                    description=description[:140],
                    appointment_id=appointment_id,
                    chat_id=ctx.chat_id,
                    actor=ctx.actor,
                )
            )
        except PorfinError as exc:
            return _refusal(exc)
        return {
            "ok": True,
            "charge_id": issued.charge.id,
            "amount": money,
            "sent_in_chat": bool(issued.messages),
        }

    async def _set_funnel_stage(
        self, arguments: Mapping[str, Any], ctx: ToolContext
    ) -> dict[str, Any]:
        stage = _text(arguments, "stage")
        if ctx.sandbox or ctx.customer_id is None:
            return {"ok": True, "sandbox": True, "stage": stage}
        await self.update_customer(
            ChangeCustomer(
                clinic_id=ctx.clinic.id, customer_id=ctx.customer_id, stage=stage, actor=ctx.actor
            )
        )
        return {"ok": True, "stage": stage}

    async def _add_tag(self, arguments: Mapping[str, Any], ctx: ToolContext) -> dict[str, Any]:
        tag = _text(arguments, "tag")
        if ctx.sandbox or ctx.customer_id is None:
            return {"ok": True, "sandbox": True, "tag": tag}
        async with self.uow_factory(read_only=True) as uow:
            customer = await uow.customers.get(ctx.clinic.id, ctx.customer_id)
        if tag not in customer.tags:
            await self.update_customer(
                ChangeCustomer(
                    clinic_id=ctx.clinic.id,
                    customer_id=ctx.customer_id,
                    tags=[*customer.tags, tag],
                    actor=ctx.actor,
                )
            )
        return {"ok": True, "tag": tag}

    async def _hand_off(self, arguments: Mapping[str, Any], ctx: ToolContext) -> dict[str, Any]:
        # The pipeline performs the handoff itself (a structured action it must see).
        return {"ok": True, "handed_off": True}

    async def upcoming(self, clinic: Clinic, customer_id: str, now: datetime) -> list[str]:
        """One line per upcoming appointment of the patient (for the model's context)."""
        async with self.uow_factory(read_only=True) as uow:
            found = await uow.appointments.list(
                AppointmentQuery(
                    clinic_id=clinic.id, customer_id=customer_id, starts_from=now, limit=5
                )
            )
            people = {p.id: p.name for p in await uow.professionals.list(clinic.id)}
        return [
            f"{a.id}: {_when(a.start, clinic, self.formats)}"
            f" com {people.get(a.professional_id, '')} (tipo {a.type_id}, {a.status.value})"
            for a in found
            if a.status not in (AppointmentStatus.CANCELLED, AppointmentStatus.NO_SHOW)
        ]


def match_type(kinds: list[AppointmentType], asked: str) -> AppointmentType | None:
    """The appointment type the patient means: by procedure synonym, then by words of the
    name; with nothing asked, an evaluation (or the only type)."""
    if not kinds:
        return None
    folded = {t.id: fold(t.name) for t in kinds}
    procedure = find_procedure(asked) if asked else None
    if procedure is not None:
        words = (procedure, *PROCEDURES.get(procedure, ()))
        for kind in kinds:
            if any(w and w in folded[kind.id] for w in words):
                return kind
    asked_words = [w for w in fold(asked).split() if len(w) > 3]
    for kind in kinds:
        if asked_words and any(w in folded[kind.id] for w in asked_words):
            return kind
    if asked and procedure is not None:
        return None
    for kind in kinds:
        if any(w in folded[kind.id] for w in ("avaliacao", "consulta", "primeira")):
            return kind
    return kinds[0] if len(kinds) == 1 or not asked else None


def match_professional(people: list[Professional], asked: str) -> Professional | None:
    """The professional named (by any word of their name), None when none or unclear."""
    words = [w for w in fold(asked).replace(".", " ").split() if len(w) > 2 and w not in _TITLES]
    if not words:
        return None
    found = [p for p in people if any(w in fold(p.name).split() for w in words)]
    return found[0] if len(found) == 1 else None


_TITLES = {"dra", "dr", "doutora", "doutor", "com", "the"}


def _date(value: Any) -> date | None:
    if not isinstance(value, str) or not value:
        return None
    return date.fromisoformat(value[:10])


def _clock(value: Any) -> time | None:
    if not isinstance(value, str) or not value:
        return None
    hours, _, minutes = value.partition(":")
    return time(int(hours) % 24, int(minutes or 0))


def _spread(slots: list[Any], count: int, gap: timedelta = timedelta(hours=1)) -> list[Any]:
    """Up to ``count`` slots a patient can choose among: at most two a day first (so the
    options reach the next days), then more of those days; on one day at least ``gap``
    apart (8h, 9h, 10h rather than 8h, 8h15, 8h30; one professional per time); only when
    that leaves fewer than :data:`MIN_OPTIONS`, whatever is free."""
    chosen: list[Any] = []

    def apart(slot: Any) -> bool:
        return all(
            abs(slot.start - other.start) >= gap
            for other in chosen
            if other.start.date() == slot.start.date()
        )

    per_day: dict[date, int] = {}
    for slot in slots:
        day = slot.start.date()
        if per_day.get(day, 0) < 2 and apart(slot):
            chosen.append(slot)
            per_day[day] = per_day.get(day, 0) + 1
        if len(chosen) == count:
            break
    for slot in slots:
        if len(chosen) == count:
            break
        if slot not in chosen and slot.start.date() in per_day and apart(slot):
            chosen.append(slot)
    for slot in slots:
        if len(chosen) >= min(count, MIN_OPTIONS):
            break
        if slot not in chosen:
            chosen.append(slot)
    return sorted(chosen, key=lambda s: (s.start, s.professional_id))
