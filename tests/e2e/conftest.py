"""An app on a real SQLite file with a clock the tests control."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers
from litestar.testing import TestClient

from porfin_adapters.container import Container, create_container
from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app
from tests.support import FixedClock

TOKEN = "test-token"
# argon2id with the smallest cost: the same code path, in milliseconds instead of 50 ms.
FAST_HASHER = Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def container(tmp_path, clock) -> Container:
    settings = Settings(storage=StorageKind.SQLITE, data_dir=tmp_path, admin_token=TOKEN)
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    return container


@pytest.fixture
def client(container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def channel_id(client) -> str:
    channels = client.get("/api/v1/channels", headers=AUTH).json()
    return channels[0]["id"]


def simulate(client, channel_id, text="Olá", sender="+5511987654321", message_id="sim-1", **extra):
    body = {"message": {"id": message_id, "from": sender, "text": text, **extra}}
    return client.post(f"/webhooks/simulator/{channel_id}", json=body, headers=AUTH)
