"""Merge two customers who turned out to be one person, with their chats."""

from __future__ import annotations

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.chat import Chat
from porfin_core.domain.customer import Customer
from porfin_core.domain.events import DomainEvent
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.scheduling import AppointmentQuery
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class DuplicateCustomer:
    """Which customer is a duplicate of which.

    Attributes:
        clinic_id: The caller's clinic.
        customer_id: The customer that stays (the survivor keeps this id).
        duplicate_id: The customer merged into it.
        actor: Who asks and from where, for the audit record (default: Porfin itself).
    """

    clinic_id: str
    customer_id: str
    duplicate_id: str
    actor: Actor | None = None


@attrs.frozen(kw_only=True)
class Merged:
    """The outcome of a merge.

    Attributes:
        customer: The survivor, as stored after the merge.
        duplicate_id: The customer merged into it.
        changed: What the survivor gained (see :meth:`Customer.absorb`).
        moved_chat_ids: The duplicate's chats now the survivor's, as they were (on channels
            where the survivor had none).
        joined_chat_ids: The survivor's chats that received the messages of the duplicate's
            chat on the same channel.
        removed_chat_ids: The duplicate's chats whose messages were joined; they no longer
            exist.
        messages_moved: How many messages changed chats.
    """

    customer: Customer
    duplicate_id: str
    changed: tuple[str, ...] = ()
    moved_chat_ids: tuple[str, ...] = ()
    joined_chat_ids: tuple[str, ...] = ()
    removed_chat_ids: tuple[str, ...] = ()
    messages_moved: int = 0


@attrs.define
class _Chats:
    """What happened to the chats during one merge."""

    moved: list[str] = attrs.field(factory=list)
    joined: list[str] = attrs.field(factory=list)
    removed: list[str] = attrs.field(factory=list)
    messages: int = 0
    events: list[DomainEvent] = attrs.field(factory=list)


@attrs.define(kw_only=True)
class MergeCustomers:
    """Merge a duplicate customer into the one that stays, in one transaction.

    The survivor keeps its id and gains the duplicate's identities (later messages from any
    of them reach it), tags, more recent consents, missing name or phone and the stage further
    along the funnel (:meth:`Customer.absorb`). The duplicate's chats become the survivor's:
    on a channel where the survivor has no chat, the chat moves as it is; where both have one,
    the duplicate's messages move into the survivor's chat (unread count, last message and
    the 24 h window recomputed, :meth:`Chat.absorb`) and the duplicate's chat is deleted. Their
    appointments and waitlist entries become the survivor's. The
    duplicate stays stored, marked ``merged_into`` the survivor: it is no longer listed, found
    by an identity, read or edited (those answer ``NotFound`` naming ``merged_into``). The
    change, a ``customer.merged`` event and an audit record (``customer.merge``) commit
    together.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: DuplicateCustomer) -> Merged:
        """Merge ``command.duplicate_id`` into ``command.customer_id``.

        Raises:
            ValidationError: the same id twice (field ``duplicate_id``), or more than 20
                tags together (field ``tags``).
            NotFound: either customer is not in the clinic.
            Conflict: either customer was already merged into another.
        """
        if command.customer_id == command.duplicate_id:
            raise ValidationError("a customer cannot be merged into itself", field="duplicate_id")
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> Merged:
            survivor = await uow.customers.get(command.clinic_id, command.customer_id)
            duplicate = await uow.customers.get(command.clinic_id, command.duplicate_id)
            now = self.clock.now()
            changed = survivor.absorb(duplicate)
            chats = await self._merge_chats(uow, survivor, duplicate, actor.id)
            for appointment in await uow.appointments.list(
                AppointmentQuery(clinic_id=survivor.clinic_id, customer_id=duplicate.id)
            ):
                appointment.customer_id = survivor.id
                await uow.appointments.save(appointment)
            for entry in await uow.waitlist.list(survivor.clinic_id, customer_id=duplicate.id):
                entry.customer_id = survivor.id
                await uow.waitlist.save(entry)
            # The duplicate first: saving it releases the identities the survivor takes over.
            await uow.customers.save(duplicate)
            await uow.customers.save(survivor)
            survivor.merged(
                duplicate.id,
                changed=changed,
                chat_ids=[*chats.moved, *chats.joined],
                removed_chat_ids=chats.removed,
                at=now,
                by=actor.id,
            )
            uow.record(chats.events + survivor.pull_events())
            await uow.audit.append(
                AuditEntry.of(
                    actor,
                    clinic_id=survivor.clinic_id,
                    at=now,
                    action=AuditAction.CUSTOMER_MERGE,
                    resource_type="customer",
                    resource_id=survivor.id,
                    details={
                        "duplicate_id": duplicate.id,
                        "changed": ",".join(changed),
                        "chats_moved": str(len(chats.moved)),
                        "chats_joined": str(len(chats.joined)),
                        "messages_moved": str(chats.messages),
                    },
                )
            )
            await uow.commit()
            return Merged(
                customer=survivor,
                duplicate_id=duplicate.id,
                changed=changed,
                moved_chat_ids=tuple(chats.moved),
                joined_chat_ids=tuple(chats.joined),
                removed_chat_ids=tuple(chats.removed),
                messages_moved=chats.messages,
            )

        return await transact(self.uow_factory, work)

    async def _merge_chats(
        self, uow: UnitOfWork, survivor: Customer, duplicate: Customer, by: str
    ) -> _Chats:
        """Give the duplicate's chats to the survivor, one channel at a time, and show the
        survivor's (possibly new) name and phone in every chat of theirs."""
        done = _Chats()
        now = self.clock.now()
        clinic_id = survivor.clinic_id
        for channel in await uow.channels.list(clinic_id):
            ours = await uow.chats.find(clinic_id, survivor.id, channel.id)
            theirs = await uow.chats.find(clinic_id, duplicate.id, channel.id)
            if theirs is not None and ours is None:
                theirs.transfer_to(survivor.id, survivor.name, survivor.phone)
                await uow.chats.save_transferred(theirs, duplicate.id)
                done.moved.append(theirs.id)
                continue
            if ours is None:
                continue
            touched = _show_customer(ours, survivor)
            if theirs is not None:
                done.messages += await uow.messages.move_to_chat(clinic_id, theirs.id, ours.id)
                ours.absorb(theirs, now, by=by)
                await uow.chats.remove(theirs)
                done.joined.append(ours.id)
                done.removed.append(theirs.id)
                touched = True
            if touched:
                await uow.chats.save(ours)
                done.events += ours.pull_events()
        return done


def _show_customer(chat: Chat, customer: Customer) -> bool:
    """Copy the customer's name and phone to the chat (the inbox shows and searches them);
    False when they were already there."""
    if (chat.customer_name, chat.customer_phone) == (customer.name, customer.phone):
        return False
    chat.customer_name, chat.customer_phone = customer.name, customer.phone
    return True
