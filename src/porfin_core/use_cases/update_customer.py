"""Change a customer's profile: name, tags, funnel stage and consents."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs

from porfin_core.domain.audit import Actor, AuditAction, AuditEntry
from porfin_core.domain.customer import (
    ConsentPurpose,
    Customer,
    FunnelStage,
    normalize_name,
    normalize_tags,
)
from porfin_core.errors import ValidationError
from porfin_core.ports.clock import Clock
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory
from porfin_core.use_cases._audit import actor_of
from porfin_core.use_cases._customers import current_customer
from porfin_core.use_cases._transaction import transact


@attrs.frozen(kw_only=True)
class ChangeCustomer:
    """The changes to make; fields left at None change nothing.

    Attributes:
        clinic_id: The caller's clinic.
        customer_id: The customer.
        name: The name as staff confirmed it (trimmed, 1 to 200 characters).
        tags: The complete new list of tags (normalized: lower case, single spaces; at most
            20 distinct tags of up to 40 characters); ``[]`` removes every tag.
        stage: Funnel stage (a :class:`~porfin_core.domain.customer.FunnelStage` value).
        consents: Decisions the patient told the clinic, by purpose (``service``,
            ``reminders``, ``marketing``): True grants, False withdraws. Each change is kept
            with its time, source ``staff`` and who recorded it.
        actor: Who asks and from where, for the audit record and the consents (default:
            Porfin itself).
    """

    clinic_id: str
    customer_id: str
    name: str | None = None
    tags: Sequence[str] | None = None
    stage: str | None = None
    consents: Mapping[str, bool] | None = None
    actor: Actor | None = None


def _stage(value: str) -> FunnelStage:
    try:
        return FunnelStage(value)
    except ValueError:
        allowed = ", ".join(stage.value for stage in FunnelStage)
        raise ValidationError(f"stage must be one of: {allowed}", field="stage") from None


def _purposes(consents: Mapping[str, bool]) -> dict[ConsentPurpose, bool]:
    decisions = {}
    for key, granted in consents.items():
        try:
            decisions[ConsentPurpose(key)] = granted
        except ValueError:
            allowed = ", ".join(purpose.value for purpose in ConsentPurpose)
            raise ValidationError(
                f"consent purpose must be one of: {allowed}", field=f"consents.{key}"
            ) from None
    return decisions


@attrs.define(kw_only=True)
class UpdateCustomer:
    """Apply a staff member's changes to a customer in one transaction.

    A new name is copied to the customer's chats (the inbox shows and searches it). The
    change, its ``customer.updated`` event and its audit record (``customer.update``: what
    changed, the new stage, each consent decision; never names or tags) commit together. A
    request that changes nothing is still recorded: its answer discloses the profile.
    """

    uow_factory: UnitOfWorkFactory
    clock: Clock

    async def __call__(self, command: ChangeCustomer) -> Customer:
        """Apply ``command``; returns the customer as stored.

        Raises:
            NotFound: no such customer in the clinic, or it was merged into another (the
                error's ``merged_into`` names it).
            ValidationError: a bad name (``name``), tag (``tags[i]``), too many tags
                (``tags``), an unknown stage (``stage``) or consent purpose
                (``consents.<purpose>``).
        """
        name = None if command.name is None else normalize_name(command.name)
        tags = None if command.tags is None else normalize_tags(command.tags)
        stage = None if command.stage is None else _stage(command.stage)
        consents = _purposes(command.consents or {})
        actor = actor_of(command.actor)

        async def work(uow: UnitOfWork) -> Customer:
            customer = await current_customer(uow, command.clinic_id, command.customer_id)
            now = self.clock.now()
            changed: list[str] = []
            details: dict[str, str] = {}
            if name is not None and customer.rename(name):
                changed.append("name")
            if tags is not None and customer.retag(tags):
                changed.append("tags")
            if stage is not None and customer.move_to(stage):
                changed.append("stage")
                details["stage"] = stage.value
            for purpose, granted in consents.items():
                if customer.decide_consent(purpose, granted, at=now, by=actor.id):
                    changed.append(f"consents.{purpose.value}")
                    details[f"consents.{purpose.value}"] = "granted" if granted else "withdrawn"
            if changed:
                customer.updated(changed, now, actor.id)
                await uow.customers.save(customer)
                if "name" in changed:
                    await self._rename_chats(uow, customer)
                uow.record(customer.pull_events())
            await uow.audit.append(
                AuditEntry.of(
                    actor,
                    clinic_id=customer.clinic_id,
                    at=now,
                    action=AuditAction.CUSTOMER_UPDATE,
                    resource_type="customer",
                    resource_id=customer.id,
                    details={"changed": ",".join(changed), **details},
                )
            )
            await uow.commit()
            return customer

        return await transact(self.uow_factory, work)

    async def _rename_chats(self, uow: UnitOfWork, customer: Customer) -> None:
        """Copy the customer's new name to their chats, one per channel of the clinic."""
        for channel in await uow.channels.list(customer.clinic_id):
            chat = await uow.chats.find(customer.clinic_id, customer.id, channel.id)
            if chat is not None and chat.customer_name != customer.name:
                chat.customer_name = customer.name
                await uow.chats.save(chat)
