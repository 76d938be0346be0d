"""Change who answers a chat, who is in charge of it, and whether it is open."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ChangeChat:
    """The changes to make; fields left at their default change nothing.

    Attributes:
        clinic_id: The caller's clinic.
        chat_id: The chat.
        actor_id: Who asks (staff user id), recorded on mode changes.
        mode: ``ai`` (resume the AI), ``human`` (a person answers; with ``reason`` it is a
            handoff) or ``paused`` (AI silent until ``paused_until``).
        paused_until: End of the pause; required with ``paused``.
        reason: Why the chat goes to a person.
        assignee_id: Staff member to put in charge.
        unassign: Leave the chat with nobody in charge.
        status: ``open`` or ``closed``.
        mark_read: Staff have read every patient message.
    """

    clinic_id: str
    chat_id: str
    actor_id: str | None = None
    mode: str | None = None
    paused_until: datetime | None = None
    reason: str | None = None
    assignee_id: str | None = None
    unassign: bool = False
    status: str | None = None
    mark_read: bool = False


def _parse(enum_type: type[ChatMode] | type[ChatStatus], value: str, field: str) -> str:
    try:
        return enum_type(value).value
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValidationError(f"{field} must be one of: {allowed}", field=field) from None


@attrs.define(kw_only=True)
class UpdateChat:
    """Apply a staff member's changes to a chat in one transaction.

    Covers switching the AI on or off, pausing it until a time, handing the chat to a person
    with a reason, assigning, closing and reopening.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeChat) -> Chat:
        """Apply ``command``; returns the chat as stored.

        Raises:
            NotFound: no such chat in the clinic.
            ValidationError: unknown mode/status, a pause without an end in the future,
                a reason without mode ``human``, an empty ``assignee_id``, or
                ``assignee_id`` together with ``unassign``.
            InvalidStateTransition: closing a closed chat or reopening an open one.
        """
        mode = ChatMode(_parse(ChatMode, command.mode, "mode")) if command.mode else None
        status = (
            ChatStatus(_parse(ChatStatus, command.status, "status")) if command.status else None
        )
        if mode is ChatMode.PAUSED and command.paused_until is None:
            raise ValidationError("pausing the AI needs paused_until", field="paused_until")
        if mode is not ChatMode.PAUSED and command.paused_until is not None:
            raise ValidationError("paused_until only goes with mode 'paused'", field="paused_until")
        if command.paused_until is not None and command.paused_until.tzinfo is None:
            raise ValidationError("paused_until needs a time zone", field="paused_until")
        if command.reason is not None and mode is not ChatMode.HUMAN:
            raise ValidationError("a reason only goes with mode 'human'", field="reason")
        if command.assignee_id is not None and not command.assignee_id.strip():
            raise ValidationError("assignee_id is empty", field="assignee_id")
        if command.assignee_id is not None and command.unassign:
            raise ValidationError("assign or unassign, not both", field="assignee_id")

        async def work(uow: UnitOfWork) -> Chat:
            chat = await uow.chats.get(command.clinic_id, command.chat_id)
            now = self.clock.now()
            by = command.actor_id
            if mode is ChatMode.AI:
                chat.resume_ai(now, by=by)
            elif mode is ChatMode.HUMAN and command.reason:
                chat.hand_off(command.reason, now, by=by)
            elif mode is ChatMode.HUMAN:
                chat.turn_ai_off(now, by=by)
            elif mode is ChatMode.PAUSED and command.paused_until is not None:
                chat.pause_ai(command.paused_until, now, by=by)
            if command.assignee_id is not None or command.unassign:
                chat.assign(command.assignee_id, now)
            if status is ChatStatus.CLOSED:
                chat.close(now)
            elif status is ChatStatus.OPEN:
                chat.reopen(now)
            if command.mark_read:
                chat.mark_read()
            await uow.chats.save(chat)
            uow.record(chat.pull_events())
            await uow.commit()
            return chat

        return await transact(self.uow_factory, work)
