"""Retrying a unit of work when a concurrent transaction won."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from porfin_core.errors import TransactionConflict
from porfin_core.ports.storage import UnitOfWork, UnitOfWorkFactory

R = TypeVar("R")

MAX_ATTEMPTS = 20


async def transact(uow_factory: UnitOfWorkFactory, work: Callable[[UnitOfWork], Awaitable[R]]) -> R:
    """Run ``work`` in a fresh unit of work, again from the start after a conflict.

    ``work`` reads, decides, writes and commits; it must not have side effects outside the
    unit of work, since it may run more than once.

    Raises:
        TransactionConflict: still conflicting after :data:`MAX_ATTEMPTS` attempts.
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            async with uow_factory() as uow:
                return await work(uow)
        except TransactionConflict:
            if attempt == MAX_ATTEMPTS:
                raise
    raise AssertionError("unreachable")
