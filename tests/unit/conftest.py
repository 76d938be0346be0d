"""Fixtures for unit tests: a fixed clock, predictable ids and an in-memory container.

The container is not started: no dispatcher consumes the outbox, so tests read the events a
use case committed straight from it (see ``committed_events``).
"""

from __future__ import annotations

import pytest
from dependency_injector import providers

from porfin_adapters.container import Container
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.events import DomainEvent
from porfin_core.use_cases.set_up_installation import Installation
from tests.support import FixedClock, SequentialIds


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def ids() -> SequentialIds:
    return SequentialIds()


@pytest.fixture
def container(tmp_path, clock, ids) -> Container:
    built = Container(settings=Settings(storage=StorageKind.MEMORY, data_dir=tmp_path))
    built.clock.override(providers.Object(clock))
    built.ids.override(providers.Object(ids))
    return built


@pytest.fixture
async def installation(container) -> Installation:
    return await container.set_up_installation()()


async def committed_events(container: Container) -> list[DomainEvent]:
    """Every event committed since the last call (taken out of the outbox)."""
    outbox = container.storage().outbox
    stored = await outbox.pending(1000)
    await outbox.mark_dispatched([s.id for s in stored])
    return [s.event for s in stored]
