"""Chats: one conversation per customer per channel, and who answers it."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from porfin_core.domain.events import (
    ChatAssigned,
    ChatClosed,
    ChatModeChanged,
    ChatOpened,
    ChatRead,
    EventRecorder,
)
from porfin_core.domain.message import Author, Direction, Message, MessageKind, preview
from porfin_core.errors import InvalidStateTransition, ValidationError

SERVICE_WINDOW = timedelta(hours=24)
"""WhatsApp's customer-service window: free text is allowed this long after the last inbound."""


class ChatMode(enum.StrEnum):
    """Who answers the patient: the AI, a person, or nobody until ``paused_until``."""

    AI = "ai"
    HUMAN = "human"
    PAUSED = "paused"


class ChatStatus(enum.StrEnum):
    """Open chats are in the inbox; closed ones reopen when the patient writes again."""

    OPEN = "open"
    CLOSED = "closed"


@attrs.define(kw_only=True)
class Chat(EventRecorder):
    """The conversation between a customer and the clinic on one channel.

    Waiting for a person: ``waiting_since`` is set while the patient's message waits for an
    answer that only a person can give. The rule, as a secretary would expect it:

    * a patient message that arrives while a person is in charge (mode ``human``, or an AI
      pause in force) makes the chat wait, since that message (an earlier unanswered one
      keeps the older time); a reaction (an emoji on a message) asks for no answer;
    * handing the chat to a person (a handoff by the AI or staff, staff turning the AI off,
      a pause) while the patient's last message is unanswered (``unanswered_since``) makes
      it wait since that message;
    * it stops waiting when staff or the clinic's phone answers, when the AI answers while
      it is in charge (or Porfin answers the patient's own message automatically, such as a
      reminder's buttons), when the AI is resumed, and when the chat is closed. Reading the
      messages, assigning the chat or a pause running out are not answers: a chat whose
      patient wrote during a pause keeps waiting until someone answers it.

    Attributes:
        id: Stable identifier.
        clinic_id: The clinic.
        customer_id: The customer.
        channel_id: The clinic's WhatsApp number.
        customer_name: Denormalized for lists.
        customer_phone: Denormalized for lists and search.
        mode: AI, human or paused.
        paused_until: End of a pause (mode ``paused`` only).
        handoff_reason: Why the chat was handed to a person (mode ``human``).
        handoff_summary: What the AI tells the secretary about the conversation so far.
        urgent: The handoff is urgent (a clinical red flag): the chat goes first.
        status: Open or closed.
        closed_at: When the chat was last closed (kept when it reopens).
        assignee_id: Staff user in charge, None when unassigned.
        unread_count: Patient messages staff have not read yet.
        last_inbound_at: Time of the patient's last message: opens the 24 h window.
        last_message_at: Time of the last message in either direction (sort key).
        last_message_preview: One line of the last message.
        created_at: When the chat started.
        unanswered_since: Time of the patient's oldest message nobody has answered yet (the
            AI, staff or the clinic's phone; a message from Porfin itself is no answer).
        waiting_since: Since when the patient waits for a person to answer (see above);
            None when nobody must answer. The inbox lists waiting chats oldest first.
    """

    id: str
    clinic_id: str
    customer_id: str
    channel_id: str
    customer_name: str = ""
    customer_phone: str | None = None
    mode: ChatMode = ChatMode.AI
    paused_until: datetime | None = None
    handoff_reason: str | None = None
    handoff_summary: str | None = None
    urgent: bool = False
    status: ChatStatus = ChatStatus.OPEN
    closed_at: datetime | None = None
    assignee_id: str | None = None
    unread_count: int = 0
    last_inbound_at: datetime | None = None
    last_message_at: datetime
    last_message_preview: str = ""
    created_at: datetime
    unanswered_since: datetime | None = None
    waiting_since: datetime | None = None

    @classmethod
    def start(
        cls,
        *,
        id: str,
        clinic_id: str,
        customer_id: str,
        channel_id: str,
        customer_name: str,
        customer_phone: str | None,
        at: datetime,
    ) -> Chat:
        """Open a new chat (AI mode) for a customer on a channel."""
        chat = cls(
            id=id,
            clinic_id=clinic_id,
            customer_id=customer_id,
            channel_id=channel_id,
            customer_name=customer_name,
            customer_phone=customer_phone,
            last_message_at=at,
            created_at=at,
        )
        chat.record(
            ChatOpened(
                clinic_id=clinic_id,
                occurred_at=at,
                chat_id=id,
                customer_id=customer_id,
                reopened=False,
            )
        )
        return chat

    # -- the 24-hour window -------------------------------------------------------------

    def window_expires_at(self) -> datetime | None:
        """End of the customer-service window, None if the patient never wrote."""
        if self.last_inbound_at is None:
            return None
        return self.last_inbound_at + SERVICE_WINDOW

    def window_open(self, now: datetime) -> bool:
        """True while free-form messages may be sent to the patient."""
        expires = self.window_expires_at()
        return expires is not None and now < expires

    # -- who answers ---------------------------------------------------------------------

    def effective_mode(self, now: datetime) -> ChatMode:
        """The mode in force at ``now``: an expired pause means the AI is back."""
        if self.mode is ChatMode.PAUSED and self.paused_until and now >= self.paused_until:
            return ChatMode.AI
        return self.mode

    def person_in_charge(self, now: datetime) -> bool:
        """True when a person must answer at ``now``: mode ``human``, or a pause in force."""
        return self.effective_mode(now) is not ChatMode.AI

    def ai_may_reply(self, now: datetime) -> bool:
        """True when the AI receptionist may answer this chat at ``now``."""
        return self.status is ChatStatus.OPEN and self.effective_mode(now) is ChatMode.AI

    def resumes_ai(self, now: datetime, after: timedelta | None) -> bool:
        """True when a patient writing now gives a closed chat back to the AI under a
        policy of ``after`` (None: only staff give chats back)."""
        return (
            after is not None
            and self.status is ChatStatus.CLOSED
            and self.mode is not ChatMode.AI
            and self.closed_at is not None
            and now - self.closed_at >= after
        )

    def hand_off(
        self,
        reason: str,
        now: datetime,
        by: str | None = None,
        *,
        summary: str | None = None,
        urgent: bool = False,
    ) -> None:
        """Give the chat to a person: the AI stops answering until someone resumes it.
        ``summary`` tells the secretary what happened so far; ``urgent`` puts the chat first
        (kept until the AI resumes)."""
        reason = reason.strip()
        if not reason:
            raise ValidationError("a handoff needs a reason", field="reason")
        self.handoff_summary = (summary or "").strip()[:1000] or self.handoff_summary
        self.urgent = self.urgent or urgent
        self._set_mode(ChatMode.HUMAN, now, reason=reason, by=by)

    def turn_ai_off(self, now: datetime, by: str | None = None) -> None:
        """A staff member takes over the chat."""
        self._set_mode(ChatMode.HUMAN, now, reason="ai_turned_off", by=by)

    def resume_ai(self, now: datetime, by: str | None = None) -> None:
        """Let the AI answer again (the handoff's summary and urgency are cleared)."""
        self.handoff_summary = None
        self.urgent = False
        self._set_mode(ChatMode.AI, now, by=by)

    def pause_ai(self, until: datetime, now: datetime, by: str | None = None) -> None:
        """Silence the AI until ``until``; then it answers again by itself."""
        if until <= now:
            raise ValidationError("a pause must end in the future", field="paused_until")
        self._set_mode(ChatMode.PAUSED, now, until=until, by=by)

    def _set_mode(
        self,
        mode: ChatMode,
        now: datetime,
        *,
        until: datetime | None = None,
        reason: str | None = None,
        by: str | None = None,
    ) -> None:
        if (self.mode, self.paused_until, self.handoff_reason) == (mode, until, reason):
            return
        self.mode, self.paused_until, self.handoff_reason = mode, until, reason
        if mode is ChatMode.AI:
            self.waiting_since = None
        else:
            self._wait_if_unanswered()
        self.record(
            ChatModeChanged(
                clinic_id=self.clinic_id,
                occurred_at=now,
                chat_id=self.id,
                mode=mode.value,
                paused_until=until,
                reason=reason,
                changed_by=by,
            )
        )

    # -- inbox state ------------------------------------------------------------------

    def assign(self, assignee_id: str | None, now: datetime) -> None:
        """Put a staff member in charge (None leaves the chat unassigned)."""
        if assignee_id == self.assignee_id:
            return
        previous, self.assignee_id = self.assignee_id, assignee_id
        self.record(
            ChatAssigned(
                clinic_id=self.clinic_id,
                occurred_at=now,
                chat_id=self.id,
                assignee_id=assignee_id,
                previous_assignee_id=previous,
            )
        )

    def close(self, now: datetime) -> None:
        """Take the chat out of the inbox; it reopens when the patient writes again."""
        if self.status is ChatStatus.CLOSED:
            raise InvalidStateTransition("chat is already closed", chat_id=self.id)
        self.status = ChatStatus.CLOSED
        self.closed_at = now
        self.unread_count = 0
        self.unanswered_since = None
        self.waiting_since = None
        self.record(ChatClosed(clinic_id=self.clinic_id, occurred_at=now, chat_id=self.id))

    def reopen(self, now: datetime) -> None:
        """Bring a closed chat back to the inbox."""
        if self.status is ChatStatus.OPEN:
            raise InvalidStateTransition("chat is already open", chat_id=self.id)
        self.status = ChatStatus.OPEN
        self.record(
            ChatOpened(
                clinic_id=self.clinic_id,
                occurred_at=now,
                chat_id=self.id,
                customer_id=self.customer_id,
                reopened=True,
            )
        )

    def mark_read(self, now: datetime, by: str | None = None) -> None:
        """Staff have seen every patient message (no event when none was unread)."""
        if not self.unread_count:
            return
        self.unread_count = 0
        self.record(
            ChatRead(clinic_id=self.clinic_id, occurred_at=now, chat_id=self.id, read_by=by)
        )

    def add_message(
        self,
        message: Message,
        now: datetime,
        resume_ai_after: timedelta | None = None,
        *,
        answers_patient: bool = False,
    ) -> None:
        """Account for a new message in the timeline.

        A patient message reopens a closed chat, counts as unread and opens the 24 h window.
        A message typed on the clinic's own phone means a person is answering: the AI stops.
        With ``resume_ai_after`` (the clinic's policy), a patient writing in a chat that a
        person took over and closed at least that long ago is answered by the AI again.
        ``answers_patient`` marks a message of Porfin's (author ``system``) that answers the
        patient's own message (a reminder's buttons): it ends the wait as a reply would.
        """
        if message.direction is Direction.INBOUND:
            if self.status is ChatStatus.CLOSED:
                if self.resumes_ai(now, resume_ai_after):
                    self.resume_ai(now, by="policy")
                self.reopen(now)
            self.unread_count += 1
            inbound_at = message.sent_at or now
            if self.last_inbound_at is None or inbound_at > self.last_inbound_at:
                self.last_inbound_at = inbound_at
            if message.kind is not MessageKind.REACTION:
                self._patient_wrote(min(inbound_at, now), now)
        else:
            if self._answers(message, now) or answers_patient:
                self.unanswered_since = None
                self.waiting_since = None
            if message.author is Author.CLINIC_PHONE and self.mode is not ChatMode.HUMAN:
                self._set_mode(ChatMode.HUMAN, now, reason="clinic_phone_reply")
        if now >= self.last_message_at:
            self.last_message_at = now
            self.last_message_preview = preview(message)

    # -- waiting for a person -------------------------------------------------------------

    def _answers(self, message: Message, now: datetime) -> bool:
        """True when an outbound message answers the patient: a person's, or the AI's while
        the AI is in charge (its note when handing off is no answer)."""
        if message.author in (Author.STAFF, Author.CLINIC_PHONE):
            return True
        return message.author is Author.AI and not self.person_in_charge(now)

    def _patient_wrote(self, at: datetime, now: datetime) -> None:
        if self.unanswered_since is None:
            self.unanswered_since = at
        if self.person_in_charge(now):
            self._wait_if_unanswered()

    def _wait_if_unanswered(self) -> None:
        if self.status is ChatStatus.OPEN and self.unanswered_since is not None:
            self.waiting_since = _earliest(self.waiting_since, self.unanswered_since)

    # -- merging duplicate customers ----------------------------------------------------

    def transfer_to(self, customer_id: str, name: str, phone: str | None) -> None:
        """Give the chat to another customer (the one its customer was merged into), with
        the name and phone the inbox shows."""
        self.customer_id = customer_id
        self.customer_name = name
        self.customer_phone = phone

    def absorb(self, other: Chat, now: datetime, by: str | None = None) -> None:
        """Take in the bookkeeping of ``other``, the same person's chat on the same channel
        whose messages were moved into this one (customers were merged).

        Unread messages add up; the 24 h window, the last message and its preview are the
        later ones; ``created_at`` the earlier. The chat reopens when ``other`` was open. This
        chat keeps its mode and assignee, except that a person (or a pause) in charge of
        ``other`` wins over the AI, and ``other``'s assignee takes an unassigned chat. An open
        chat waits (and is unanswered) since the earlier of the two times.

        Raises:
            ValidationError: ``other`` belongs to another clinic or channel, or is this chat.
        """
        if other.id == self.id or (other.clinic_id, other.channel_id) != (
            self.clinic_id,
            self.channel_id,
        ):
            raise ValidationError("only another chat of the same channel can be joined")
        self.unread_count += other.unread_count
        if other.last_inbound_at is not None and (
            self.last_inbound_at is None or other.last_inbound_at > self.last_inbound_at
        ):
            self.last_inbound_at = other.last_inbound_at
        if other.last_message_at > self.last_message_at:
            self.last_message_at = other.last_message_at
            self.last_message_preview = other.last_message_preview
        self.created_at = min(self.created_at, other.created_at)
        if other.status is ChatStatus.OPEN and self.status is ChatStatus.CLOSED:
            self.reopen(now)
        if self.effective_mode(now) is ChatMode.AI and other.effective_mode(now) is not ChatMode.AI:
            self._set_mode(
                other.mode, now, until=other.paused_until, reason=other.handoff_reason, by=by
            )
        if self.assignee_id is None and other.assignee_id is not None:
            self.assign(other.assignee_id, now)
        if self.status is ChatStatus.OPEN:
            self.unanswered_since = _earliest(self.unanswered_since, other.unanswered_since)
            if self.effective_mode(now) is not ChatMode.AI:
                self.waiting_since = _earliest(self.waiting_since, other.waiting_since)
                self._wait_if_unanswered()


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    """The earlier of two optional times (None when both are)."""
    if first is None or second is None:
        return first or second
    return min(first, second)
