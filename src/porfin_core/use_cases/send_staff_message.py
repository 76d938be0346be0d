"""Send a message written by a staff member: text, an uploaded attachment, or one of the
channel's approved templates."""

from __future__ import annotations

from typing import Any

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.channel import Channel, MessageTemplate
from porfin_core.domain.chat import ChatMode, ChatStatus
from porfin_core.domain.media import MAX_CAPTION_LENGTH, MediaKind, StoredMedia
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
from porfin_core.errors import NotFound, ValidationError, WindowClosed
from porfin_core.ports.auth import Principal
from porfin_core.ports.clock import Clock, IdGenerator
from porfin_core.ports.media import MediaStore
from porfin_core.ports.messaging import GatewayDirectory, send_through
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact
from porfin_core.use_cases._visibility import visible
from porfin_core.use_cases.record_send_outcomes import RecordSendOutcomes

MAX_TEXT_LENGTH = 4096
"""WhatsApp's limit for a text message body."""


@attrs.frozen(kw_only=True)
class SendText:
    """A staff member's message for a chat: a text, or an attachment with an optional caption.

    Attributes:
        clinic_id: The staff member's clinic.
        chat_id: The chat to write to.
        author_id: The staff member (user id).
        text: The message (empty when sending an attachment).
        media_id: An uploaded file of the clinic (``UploadMedia``) to send instead of text;
            it becomes an image, audio, video or document message.
        caption: Text shown under the attachment (not for audio, which WhatsApp sends
            without one).
        template: The name of one of the channel's approved templates to send instead
            (allowed when the 24-hour window has closed).
        template_language: The template's language (default pt_BR).
        template_parameters: The values of the template's placeholders, ``{{1}}`` first.
        viewer: The staff member's identity and role; a secretary writes only to chats
            assigned to them or to nobody.
        actor: Who sends and from where, for the audit record (default: the staff user
            ``author_id``).
    """

    clinic_id: str
    chat_id: str
    author_id: str
    text: str = ""
    media_id: str | None = None
    caption: str | None = None
    template: str | None = None
    template_language: str | None = None
    template_parameters: list[str] = attrs.field(factory=list)
    viewer: Principal | None = None
    actor: Actor | None = None


def template_extra(template: MessageTemplate, parameters: list[str]) -> dict[str, Any]:
    """A template message's ``extra`` as the gateways read it (the Cloud API's ``name``,
    ``language`` and ``components``; the same shape as a reminder's)."""
    extra: dict[str, Any] = {"name": template.name, "language": template.language}
    if parameters:
        extra["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return extra


def _attachment(media: StoredMedia, caption: str | None) -> tuple[MessageKind, MediaRef]:
    """The message kind and media reference of an uploaded file."""
    ref = MediaRef(
        mime_type=media.mime_type,
        filename=media.filename,
        caption=caption,
        sha256=media.sha256,
        size=media.size,
        stored_path=media.id,
    )
    return MessageKind(media.kind.value), ref


@attrs.define(kw_only=True)
class SendStaffMessage:
    """Commit a staff message with its delivery, hand it to the channel's gateway at once,
    record the outcome.

    Outside the 24-hour customer-service window free text and files are refused
    (``window_closed``): WhatsApp only delivers approved templates then. A template is one
    the admin registered on the channel (``Channel.templates``), named with its language
    and given one value per placeholder; it is stored as a ``template`` message whose body
    is the text the patient reads, and may be sent inside the window too. A staff reply
    means a person is handling the chat: the AI stops answering it, and an unassigned chat
    becomes the author's.

    An attachment is a file uploaded before (``UploadMedia``) and named by ``media_id``; it
    travels to the gateway as the message's ``media`` (``stored_path`` is its id in the
    media store). A channel that is inactive or was removed sends nothing
    (``validation_error``).

    The pending message, its delivery in the sending outbox (claimed by this call) and its
    audit record (``message.send``) commit together, before the gateway is called; the
    gateway's answer is recorded by :class:`RecordSendOutcomes` (no audit record of its own:
    it is the outcome of the audited send, and the message keeps its status history). A
    retryable failure leaves the message ``pending`` and its delivery to the outbound sender,
    which retries with backoff; if this process dies during the call, the sender takes the
    delivery over when its lease ends (see :mod:`porfin_core.domain.outbound`).
    """

    uow_factory: UnitOfWorkFactory
    gateways: GatewayDirectory
    media: MediaStore
    record_outcomes: RecordSendOutcomes
    clock: Clock
    ids: IdGenerator

    async def _media(self, command: SendText) -> tuple[MessageKind, MediaRef, str | None]:
        """The attachment of ``command``: its kind, reference and caption."""
        assert command.media_id is not None
        if command.text.strip():
            raise ValidationError("send a text or an attachment, not both", field="text")
        caption = (command.caption or "").strip() or None
        if caption is not None and len(caption) > MAX_CAPTION_LENGTH:
            raise ValidationError(
                f"caption is longer than {MAX_CAPTION_LENGTH} characters", field="caption"
            )
        try:
            media = await self.media.info(command.clinic_id, command.media_id)
        except NotFound:
            raise ValidationError(
                "no such media in the clinic", field="media_id", id=command.media_id
            ) from None
        if caption is not None and media.kind is MediaKind.AUDIO:
            raise ValidationError("WhatsApp sends audio without a caption", field="caption")
        kind, ref = _attachment(media, caption)
        return kind, ref, caption

    async def __call__(self, command: SendText) -> Message:
        """Send ``command``; returns the message as stored after the gateway answered
        (``sent``; ``failed`` with the provider's error code; or still ``pending`` when the
        failure is retryable and a retry is scheduled).

        Raises:
            NotFound: no such chat in the clinic.
            ValidationError: empty or too long text; a caption without an attachment, too
                long, or for audio; text and an attachment together; an unknown
                ``media_id``; an inactive or removed channel; a template with text or a
                file, one the channel does not have (``template.name``), or not one valid
                value per placeholder (``template.parameters``).
            WindowClosed: the patient has not written in the last 24 hours (text and files).
        """
        kind = MessageKind.TEXT
        media: MediaRef | None = None
        body: str | None = None
        if command.template is not None:
            kind = MessageKind.TEMPLATE
            if command.text.strip() or command.media_id is not None or command.caption:
                raise ValidationError(
                    "send a template alone, without text or a file", field="template"
                )
        elif command.media_id is not None:
            kind, media, body = await self._media(command)
        else:
            if command.caption is not None:
                raise ValidationError("a caption goes with an attachment", field="caption")
            body = command.text.strip()
            if not body:
                raise ValidationError("message text is empty", field="text")
            if len(body) > MAX_TEXT_LENGTH:
                raise ValidationError(
                    f"message text is longer than {MAX_TEXT_LENGTH} characters", field="text"
                )

        async def record(uow: UnitOfWork) -> tuple[Message, str, Channel]:
            chat = visible(await uow.chats.get(command.clinic_id, command.chat_id), command.viewer)
            customer = await uow.customers.get(command.clinic_id, chat.customer_id)
            channel = await uow.channels.get(chat.channel_id)
            if not channel.active:
                raise ValidationError(
                    "the chat's channel is inactive or was removed", channel_id=channel.id
                )
            now = self.clock.now()
            text, extra = body, {}
            if command.template is not None:
                template = channel.template(command.template, command.template_language)
                text = template.render(command.template_parameters)
                extra = template_extra(template, command.template_parameters)
            elif not chat.window_open(now):
                raise WindowClosed(
                    "the patient's 24-hour service window is closed; WhatsApp only delivers an "
                    "approved template message until the patient writes again",
                    chat_id=chat.id,
                    window_expired_at=chat.window_expires_at(),
                )
            message = Message(
                id=self.ids.new_id(),
                clinic_id=chat.clinic_id,
                chat_id=chat.id,
                channel_id=chat.channel_id,
                direction=Direction.OUTBOUND,
                author=Author.STAFF,
                author_id=command.author_id,
                kind=kind,
                body=text,
                media=media,
                extra=extra,
                status=DeliveryStatus.PENDING,
                history=[StatusChange(DeliveryStatus.PENDING, now)],
                created_at=now,
            )
            message.created()
            if chat.status is ChatStatus.CLOSED:
                chat.reopen(now)
            chat.add_message(message, now)
            if chat.mode is not ChatMode.HUMAN:
                chat.turn_ai_off(now, by=command.author_id)
            if chat.assignee_id is None:
                chat.assign(command.author_id, now)
            recipient = customer.phone or customer.identities[0].value
            delivery = Delivery(
                message_id=message.id,
                clinic_id=message.clinic_id,
                channel_id=message.channel_id,
                recipient=recipient,
                due_at=now,
                created_at=now,
            )
            delivery.claim(now)  # sent right after the commit, by this call
            await uow.chats.save(chat)
            await uow.messages.save(message)
            await uow.deliveries.save(delivery)
            uow.record(chat.pull_events() + message.pull_events())
            await uow.audit.append(
                AuditEntry.of(
                    actor_of(command.actor, command.author_id),
                    clinic_id=chat.clinic_id,
                    at=now,
                    action=AuditAction.MESSAGE_SEND,
                    resource_type="message",
                    resource_id=message.id,
                    details={"chat_id": chat.id, "customer_id": chat.customer_id}
                    | ({"media_id": command.media_id} if command.media_id is not None else {})
                    | ({"template": command.template} if command.template is not None else {}),
                )
            )
            await uow.commit()
            return message, recipient, channel

        message, recipient, channel = await transact(self.uow_factory, record)
        outcome = await send_through(self.gateways, channel, recipient, message)
        (stored,) = await self.record_outcomes([outcome])
        return stored
