"""The sending outbox's contract: every storage adapter keeps deliveries alike, and two
senders never claim one delivery."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from porfin_core.domain.message import Author, DeliveryStatus, Direction
from porfin_core.domain.outbound import Delivery
from porfin_core.use_cases.claim_outbound_messages import ClaimOutboundMessages
from tests import builders


def _delivery(at, message_id: str, clinic_id: str = "clinic1", due_in: int = 0) -> Delivery:
    return Delivery(
        message_id=message_id,
        clinic_id=clinic_id,
        channel_id="chan1",
        recipient="+5511987654321",
        due_at=at + timedelta(seconds=due_in),
        created_at=at,
    )


async def _queue(backend, clock, count: int) -> list[str]:
    """``count`` outbound pending messages of clinic1, each with its delivery due now."""
    ids = [f"out{n:04d}" for n in range(count)]
    async with backend.uow_factory() as uow:
        await uow.clinics.save(builders.clinic("clinic1"))
        await uow.channels.save(builders.channel(clock.now()))
        for message_id in ids:
            message = attrs.evolve(
                builders.message(clock.now(), message_id),
                direction=Direction.OUTBOUND,
                author=Author.STAFF,
                status=DeliveryStatus.PENDING,
            )
            await uow.messages.save(message)
            await uow.deliveries.save(_delivery(clock.now(), message_id))
        await uow.commit()
    return ids


async def test_deliveries_round_trip_and_come_due_in_order(backend, clock):
    now = clock.now()
    async with backend.uow_factory() as uow:
        await uow.deliveries.save(_delivery(now, "m3", due_in=30))
        await uow.deliveries.save(_delivery(now, "m1", due_in=-10))
        await uow.deliveries.save(_delivery(now, "m2", "clinic2", due_in=0))
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.deliveries.get("clinic1", "m1") == _delivery(now, "m1", due_in=-10)
        assert await uow.deliveries.get("clinic2", "m1") is None  # another clinic's
        assert await uow.deliveries.get("clinic1", "nope") is None
        due = await uow.deliveries.due(now, 10)
        assert [d.message_id for d in due] == ["m1", "m2"]  # every clinic's, earliest first
        assert [d.message_id for d in await uow.deliveries.due(now, 1)] == ["m1"]
        later = await uow.deliveries.due(now + timedelta(minutes=1), 10)
        assert [d.message_id for d in later] == ["m1", "m2", "m3"]


async def test_a_saved_delivery_moves_and_a_removed_one_is_gone(backend, clock):
    now = clock.now()
    async with backend.uow_factory() as uow:
        await uow.deliveries.save(_delivery(now, "m1"))
        await uow.deliveries.save(_delivery(now, "m2"))
        await uow.commit()
    async with backend.uow_factory() as uow:
        first, second = await uow.deliveries.due(now, 10)
        first.claim(now, timedelta(minutes=2))
        await uow.deliveries.save(first)
        await uow.deliveries.remove(second)
        await uow.commit()
    async with backend.uow_factory(read_only=True) as uow:
        assert await uow.deliveries.due(now, 10) == []
        claimed = await uow.deliveries.get("clinic1", "m1")
        assert claimed is not None and claimed.attempts == 1
        assert claimed.due_at == now + timedelta(minutes=2)
        assert await uow.deliveries.get("clinic1", "m2") is None


async def test_two_senders_never_claim_the_same_delivery(backend, clock):
    ids = await _queue(backend, clock, 30)
    other = backend.uow_factory
    if backend.reopen is not None:  # a second process on the same data
        other, _ = await backend.reopen()
    first = ClaimOutboundMessages(uow_factory=backend.uow_factory, clock=clock)
    second = ClaimOutboundMessages(uow_factory=other, clock=clock)
    claimed = await asyncio.gather(first(10), second(10), first(10), second(10))
    taken = [job.message.id for jobs in claimed for job in jobs]
    assert len(taken) == len(set(taken)) == 30
    assert sorted(taken) == ids
    assert await first(10) == []
    assert all(job.delivery.attempts == 1 for jobs in claimed for job in jobs)
