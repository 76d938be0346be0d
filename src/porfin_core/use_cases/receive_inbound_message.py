"""Receive a message from a channel: the entry point of every patient conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.chat import Chat, ChatMode, ChatStatus
from porfin_core.domain.customer import Customer, Identity, identity_keys
from porfin_core.domain.message import (
    Author,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    MessageKind,
    StatusChange,
)
from porfin_core.errors import NotFound, ValidationError
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ReceiveMessage:
    """A message a provider delivered to one of the clinic's channels.

    Attributes:
        channel_id: The channel (from the webhook URL).
        provider_message_id: The provider's id; a redelivery carries the same one.
        sender: Every identity the provider gave for the patient (wa_id, BSUID, JID, LID).
        sender_name: The patient's profile name, when the provider sent one.
        kind: Message kind (``text``, ``image``... ``unsupported``).
        body: Text or caption.
        media: Media reference, for media kinds.
        extra: Kind-specific data.
        raw: The provider's payload for this message.
        reply_to_provider_id: Provider id of the message being answered.
        sent_at: The provider's timestamp.
        from_clinic_phone: True for a message typed on the clinic's own phone (the
            ``sender`` is then the patient it was written to).
        provider: The provider whose webhook delivered the message; a channel of another
            provider is treated as unknown.
        channel: The channel ``channel_id`` names, when the caller has just read it (a
            webhook route reads it to check the signature): spares reading it again in the
            transaction. A message racing the channel's switch-off may then be stored, as if
            it had arrived a moment earlier.
    """

    channel_id: str
    provider_message_id: str
    sender: list[Identity]
    sender_name: str = ""
    kind: MessageKind = MessageKind.TEXT
    body: str | None = None
    media: MediaRef | None = None
    extra: dict[str, Any] = attrs.field(factory=dict)
    raw: dict[str, Any] | None = None
    reply_to_provider_id: str | None = None
    sent_at: datetime | None = None
    from_clinic_phone: bool = False
    provider: Provider | None = None
    channel: Channel | None = None


@attrs.frozen(kw_only=True)
class Received:
    """Where the message landed. ``duplicate`` is True when it had been received before."""

    clinic_id: str
    customer_id: str
    chat_id: str
    message_id: str
    duplicate: bool


@attrs.define(kw_only=True)
class ReceiveInboundMessage:
    """Store an inbound message exactly once and route it to the right customer and chat.

    Idempotent on (channel, provider message id). The customer is matched by any identity
    they used, 9th-digit variants included, so one person never becomes two customers. The
    chat is created or reopened, the 24-hour window opens, and a message typed on the
    clinic's own phone hands the chat to a person (delivery statuses that reached Porfin before
    such a message are applied to it).

    A bridge (Evolution) also reports Porfin's own sends as messages "from the clinic's
    phone", sometimes before the send's answer: such an echo of a message still waiting for
    its provider id (same kind and text, sent from this chat and not yet answered) gives that
    message its provider id instead of becoming a second message.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock
    ids: IdGenerator

    async def __call__(self, command: ReceiveMessage) -> Received:
        """Receive ``command``.

        Raises:
            NotFound: unknown channel (or a channel of another provider).
            ValidationError: no sender identity, empty provider id, or an inactive channel.
        """
        if not command.provider_message_id.strip():
            raise ValidationError("provider message id is empty", field="provider_message_id")
        if not command.sender:
            raise ValidationError("the sender has no identity", field="sender")
        keys = identity_keys(command.sender)

        known = command.channel
        if known is not None and known.id != command.channel_id:
            raise ValidationError("the channel is not the command's", field="channel")

        async def work(uow: UnitOfWork) -> Received:
            channel = known or await uow.channels.get(command.channel_id)
            if command.provider is not None and channel.provider is not command.provider:
                raise NotFound("channel not found", id=channel.id)
            if not channel.active:
                raise ValidationError("channel is inactive", channel_id=channel.id)
            clinic_id = channel.clinic_id
            existing = await uow.messages.find_by_provider_id(
                clinic_id, channel.id, command.provider_message_id
            )
            if existing is not None:
                known_chat = await uow.chats.get(clinic_id, existing.chat_id)
                return Received(
                    clinic_id=clinic_id,
                    customer_id=known_chat.customer_id,
                    chat_id=existing.chat_id,
                    message_id=existing.id,
                    duplicate=True,
                )
            now = self.clock.now()
            customer = await uow.customers.find_by_identity(clinic_id, keys)
            customer_changed = customer is None
            if customer is None:
                customer = Customer.first_contact(
                    id=self.ids.new_id(),
                    clinic_id=clinic_id,
                    name=command.sender_name,
                    identities=command.sender,
                    at=now,
                )
            else:
                for identity in command.sender:
                    customer_changed |= customer.add_identity(identity)
            chat = await uow.chats.find(clinic_id, customer.id, channel.id)
            if chat is not None and command.from_clinic_phone:
                own = await _own_send_echoed(uow, clinic_id, chat.id, command, self.clock.now())
                if own is not None:
                    return Received(
                        clinic_id=clinic_id,
                        customer_id=chat.customer_id,
                        chat_id=chat.id,
                        message_id=own.id,
                        duplicate=True,
                    )
            if chat is None:
                chat = Chat.start(
                    id=self.ids.new_id(),
                    clinic_id=clinic_id,
                    customer_id=customer.id,
                    channel_id=channel.id,
                    customer_name=customer.name,
                    customer_phone=customer.phone,
                    at=now,
                )
            elif chat.customer_phone is None and customer.phone is not None:
                # A contact known only by a LID/BSUID whose number just appeared: the inbox
                # shows and searches the denormalized phone.
                chat.customer_phone = customer.phone
            message = self._message(command, clinic_id, chat.id, now)
            if message.direction is Direction.OUTBOUND:
                # Statuses of a clinic-phone message may arrive before the message itself.
                for pending in await uow.pending_statuses.take(
                    clinic_id, channel.id, command.provider_message_id
                ):
                    message.apply_status(pending.change)
            resume_after = None
            if (
                message.direction is Direction.INBOUND
                and chat.status is ChatStatus.CLOSED
                and chat.mode is not ChatMode.AI
            ):
                # Rare (a closed chat a person took over): read the clinic's policy.
                hours = (await uow.clinics.get(clinic_id)).ai_resume_after_hours
                resume_after = None if hours is None else timedelta(hours=hours)
            chat.add_message(message, now, resume_after)
            if customer_changed:
                await uow.customers.save(customer)
            await uow.chats.save(chat)
            await uow.messages.save(message)
            uow.record(customer.pull_events() + chat.pull_events() + message.pull_events())
            await uow.commit()
            return Received(
                clinic_id=clinic_id,
                customer_id=customer.id,
                chat_id=chat.id,
                message_id=message.id,
                duplicate=False,
            )

        return await transact(self.uow_factory, work)

    def _message(
        self, command: ReceiveMessage, clinic_id: str, chat_id: str, now: datetime
    ) -> Message:
        at = command.sent_at or now
        if command.from_clinic_phone:
            direction, author, status = Direction.OUTBOUND, Author.CLINIC_PHONE, DeliveryStatus.SENT
        else:
            direction, author, status = Direction.INBOUND, Author.PATIENT, DeliveryStatus.RECEIVED
        message = Message(
            id=self.ids.new_id(),
            clinic_id=clinic_id,
            chat_id=chat_id,
            channel_id=command.channel_id,
            direction=direction,
            author=author,
            kind=command.kind,
            body=command.body,
            media=command.media,
            extra=dict(command.extra),
            raw=command.raw,
            provider_message_id=command.provider_message_id,
            reply_to_provider_id=command.reply_to_provider_id,
            status=status,
            history=[StatusChange(status, at)],
            sent_at=command.sent_at,
            created_at=now,
        )
        message.created()
        return message


ECHO_LOOKBACK = 20
"""How many of a chat's latest messages are searched for the send a bridge echoes."""


async def _own_send_echoed(
    uow: UnitOfWork, clinic_id: str, chat_id: str, command: ReceiveMessage, now: datetime
) -> Message | None:
    """The message of Porfin's that ``command`` echoes, given its provider id; or None.

    Commits when it finds one: the message is ``sent``, its delivery leaves the outbox.
    """
    page = await uow.messages.list_for_chat(clinic_id, chat_id, limit=ECHO_LOOKBACK)
    for message in reversed(page.items):  # oldest first: sends go out in order
        if (
            message.direction is not Direction.OUTBOUND
            or message.author is Author.CLINIC_PHONE
            or message.provider_message_id is not None
            or message.status is not DeliveryStatus.PENDING
            or message.kind is not command.kind
            or (message.body or "") != (command.body or "")
        ):
            continue
        delivery = await uow.deliveries.get(clinic_id, message.id)
        if delivery is None:
            continue
        message.accepted(command.provider_message_id, command.sent_at or now)
        for pending in await uow.pending_statuses.take(
            clinic_id, message.channel_id, command.provider_message_id
        ):
            message.apply_status(pending.change)
        await uow.messages.save(message)
        await uow.deliveries.remove(delivery)
        uow.record(message.pull_events())
        await uow.commit()
        return message
    return None
