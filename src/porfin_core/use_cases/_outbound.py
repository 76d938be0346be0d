"""Queuing a message Porfin writes itself (a reminder, a confirmation) in a chat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from porfin_core.domain.chat import Chat
from porfin_core.domain.customer import Customer
from porfin_core.domain.message import (
    Author,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    MessageKind,
    StatusChange,
)
from porfin_core.domain.outbound import Delivery
from porfin_core.errors import NotFound
from porfin_core.ports.clock import IdGenerator
from porfin_core.ports.storage import UnitOfWork


def recipient_of(customer: Customer) -> str:
    """Where a message to ``customer`` goes: their phone, else their first provider id."""
    return customer.phone or customer.identities[0].value


async def queue_message(
    uow: UnitOfWork,
    *,
    chat: Chat,
    customer: Customer,
    kind: MessageKind,
    body: str,
    extra: dict[str, Any],
    now: datetime,
    ids: IdGenerator,
    author: Author = Author.SYSTEM,
    media: MediaRef | None = None,
    answers_patient: bool = False,
) -> Message:
    """Add an outbound message to ``chat`` and its delivery to the sending outbox, in ``uow``
    (the caller commits). The outbound sender sends it after the commit; unlike a staff
    reply it leaves the chat's mode and assignee alone. ``media`` names the file of an
    image, document... message (a file of the media store: ``stored_path``).
    ``answers_patient``: an automatic answer to the patient's own message (the chat stops
    waiting for a person, see :class:`~porfin_core.domain.chat.Chat`)."""
    message = Message(
        id=ids.new_id(),
        clinic_id=chat.clinic_id,
        chat_id=chat.id,
        channel_id=chat.channel_id,
        direction=Direction.OUTBOUND,
        author=author,
        kind=kind,
        body=body,
        media=media,
        extra=extra,
        status=DeliveryStatus.PENDING,
        history=[StatusChange(DeliveryStatus.PENDING, now)],
        created_at=now,
    )
    message.created()
    chat.add_message(message, now, answers_patient=answers_patient)
    await uow.chats.save(chat)
    await uow.messages.save(message)
    await uow.deliveries.save(
        Delivery(
            message_id=message.id,
            clinic_id=message.clinic_id,
            channel_id=message.channel_id,
            recipient=recipient_of(customer),
            due_at=now,
            created_at=now,
        )
    )
    uow.record(chat.pull_events() + message.pull_events())
    return message


async def patient_chat(
    uow: UnitOfWork, clinic_id: str, customer_id: str, chat_id: str | None
) -> Chat | None:
    """The chat to write to a patient in: ``chat_id`` when it is theirs and its channel is
    active, else their most recent chat on an active channel; None when they have none."""
    channels = {c.id: c for c in await uow.channels.list(clinic_id) if c.active}
    if chat_id is not None:
        try:
            chat = await uow.chats.get(clinic_id, chat_id)
        except NotFound:  # a removed chat: fall back to the others
            chat = None
        if chat is not None and chat.customer_id == customer_id and chat.channel_id in channels:
            return chat
    found = [await uow.chats.find(clinic_id, customer_id, channel_id) for channel_id in channels]
    chats = [chat for chat in found if chat is not None]
    return max(chats, key=lambda chat: chat.last_message_at, default=None)
