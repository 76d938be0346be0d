"""Appointment reminders wired to the event dispatcher and the job worker.

- every appointment event (booked, rescheduled, confirmed, cancelled...) re-plans the
  appointment's reminder jobs (``PlanAppointmentReminders``), after its commit;
- an ``appointment.reminder`` job queues the reminder in the patient's chat
  (``SendAppointmentReminder``);
- a patient's message (a button, a list row or short text) is read as an answer to a
  reminder (``AnswerAppointmentReminder``) or to a waitlist offer (``AnswerWaitlistOffer``);
- a slot offered to a waitlisted patient (``waitlist.slot_offered``) is offered to them in
  their chat (``SendWaitlistOffer``).

Each step is idempotent; the dispatcher and the job worker deliver at least once.
"""

from __future__ import annotations

import attrs

from porfin_adapters.events import EventDispatcher
from porfin_adapters.jobs import JobWorker
from porfin_core.domain.events import (
    AppointmentEvent,
    DomainEvent,
    MessageCreated,
    WaitlistSlotOffered,
)
from porfin_core.domain.jobs import Job
from porfin_core.domain.reminders import read_reply
from porfin_core.errors import JobFailed
from porfin_core.use_cases.answer_appointment_reminder import AnswerAppointmentReminder
from porfin_core.use_cases.answer_waitlist_offer import AnswerWaitlistOffer
from porfin_core.use_cases.plan_appointment_reminders import (
    REMINDER_JOB,
    PlanAppointmentReminders,
)
from porfin_core.use_cases.send_appointment_reminder import SendAppointmentReminder
from porfin_core.use_cases.send_waitlist_offer import SendWaitlistOffer


def _may_answer(event: MessageCreated) -> bool:
    """Whether a patient's message can be an answer (a button, or a brief text such as "1" or
    "confirmo"), judged from the event alone: most messages cost no read."""
    if event.kind == "interactive":
        return True
    if event.kind != "text":
        return event.kind is None  # an event stored before kinds were recorded: look
    text = event.short_text
    if text is None:
        return False
    choice = text.strip().rstrip(".)")
    return choice.isdigit() or read_reply(text) is not None


@attrs.define
class AppointmentReminders:
    """Connects the three reminder use cases to events and jobs (see the module)."""

    plan: PlanAppointmentReminders
    send: SendAppointmentReminder
    answer: AnswerAppointmentReminder
    offer: SendWaitlistOffer
    answer_offer: AnswerWaitlistOffer

    def attach(self, dispatcher: EventDispatcher, worker: JobWorker) -> None:
        """Subscribe to appointment and message events; handle reminder jobs."""
        dispatcher.subscribe(AppointmentEvent, self._replan)
        dispatcher.subscribe(MessageCreated, self._read_answer)
        dispatcher.subscribe(WaitlistSlotOffered, self._offer)
        worker.register(REMINDER_JOB, self._send)

    async def _replan(self, event: DomainEvent) -> None:
        assert isinstance(event, AppointmentEvent)
        await self.plan(event.clinic_id, event.appointment_id)

    async def _read_answer(self, event: DomainEvent) -> None:
        assert isinstance(event, MessageCreated)
        if event.direction != "inbound" or not _may_answer(event):
            return
        if await self.answer(event.clinic_id, event.message_id) is None:
            await self.answer_offer(event.clinic_id, event.message_id)

    async def _offer(self, event: DomainEvent) -> None:
        assert isinstance(event, WaitlistSlotOffered)
        await self.offer(event.clinic_id, event.entry_id)

    async def _send(self, job: Job) -> None:
        appointment_id, rule = job.payload.get("appointment_id"), job.payload.get("rule")
        if not isinstance(appointment_id, str) or not isinstance(rule, str):
            raise JobFailed("a reminder job names no appointment and rule", job_id=job.id)
        await self.send(job.clinic_id, appointment_id, rule)
