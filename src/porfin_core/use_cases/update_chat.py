"""Change who answers a chat, who is in charge of it, and whether it is open."""

from __future__ import annotations

from datetime import datetime

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.errors import Forbidden, ValidationError
from porfin_core.permissions import sees_all_chats
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases._visibility import visible


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
        viewer: The staff member asking; a secretary acts only on chats assigned to them or
            to nobody, and may assign a chat only to themselves.
        actor: Who asks and from where, for the audit record (default: the staff user
            ``actor_id``, else Porfin itself).
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
    viewer: Principal | None = None
    actor: Actor | None = None


def _audit_details(command: ChangeChat) -> dict[str, str]:
    """The changes asked for, as the audit record keeps them."""
    details = {
        "mode": command.mode,
        "paused_until": command.paused_until.isoformat() if command.paused_until else None,
        "reason": command.reason[:200] if command.reason is not None else None,
        "assignee_id": command.assignee_id,
        "unassign": "true" if command.unassign else None,
        "status": command.status,
        "mark_read": "true" if command.mark_read else None,
    }
    return {key: value for key, value in details.items() if value is not None}


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
    with a reason, assigning, closing and reopening. The change and its audit record
    (``chat.update``, with the changes asked for) commit together.
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
        viewer = command.viewer
        if (
            viewer is not None
            and command.assignee_id not in (None, viewer.user_id)
            and not sees_all_chats(viewer.role)
        ):
            raise Forbidden("you may assign chats only to yourself", field="assignee_id")

        async def work(uow: UnitOfWork) -> Chat:
            chat = visible(await uow.chats.get(command.clinic_id, command.chat_id), viewer)
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
                chat.mark_read(now, by=by)
            await uow.chats.save(chat)
            uow.record(chat.pull_events())
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor, command.actor_id),
                    clinic_id=chat.clinic_id,
                    at=now,
                    action=AuditAction.CHAT_UPDATE,
                    resource_type="chat",
                    resource_id=chat.id,
                    details=_audit_details(command),
                )
            )
            await uow.commit()
            return chat

        return await transact(self.uow_factory, work)
