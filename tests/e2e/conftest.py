"""An app on a real SQLite file with a clock the tests control."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from dependency_injector import providers
from litestar.testing import AsyncTestClient, TestClient

import porfin_adapters.container as composition
from porfin_adapters.container import Container, create_container
from porfin_adapters.security.passwords import Argon2PasswordHasher
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from tests.support import FixedClock

TOKEN = "test-token"
# argon2id with the smallest cost: the same code path, in milliseconds instead of 50 ms.
FAST_HASHER = Argon2PasswordHasher(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


# The clock of these tests stands still, so rate-limit buckets never refill: limits high enough
# for any test's requests (tests/e2e/test_rate_limits.py sets its own).
HIGH_LIMITS = {"rate_limit_per_minute": 1_000_000, "auth_rate_limit_per_minute": 1_000_000}


@pytest.fixture
def container(tmp_path, clock) -> Container:
    # No background downloads of patients' files: their Cloud API channels point at Meta's
    # real Graph API (tests/integration/test_inbound_media.py downloads from a fake one).
    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        inbound_media_downloads=0,
        **HIGH_LIMITS,
    )
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


PASSWORD = "correct horse battery"


ACCOUNTS = {
    "admin@clinica.com.br": "admin",
    "manager@clinica.com.br": "manager",
    "secretary@clinica.com.br": "secretary",
    "gerente@clinica.com.br": "manager",
    "ana@clinica.com.br": "secretary",
    "bia@clinica.com.br": "secretary",
}


@pytest.fixture
async def users(container, clock):
    """Accounts created before the API starts (the test client runs the app on a loop of its
    own, so the app's storage cannot be driven from the test's loop)."""
    seeder = create_container(container.settings())
    seeder.clock.override(providers.Object(clock))
    seeder.password_hasher.override(providers.Object(FAST_HASHER))
    await composition.start(seeder)
    try:
        clinic_id = (await seeder.set_up_installation()()).clinic.id
        created = {}
        for email, role in ACCOUNTS.items():
            created[email] = await seeder.create_staff_user()(
                NewStaffUser(
                    clinic_id=clinic_id,
                    name=f"Ana {role}",
                    email=email,
                    role=role,
                    password=PASSWORD,
                )
            )
        return created
    finally:
        await composition.stop(seeder)


@pytest.fixture
async def api(container, users):
    async with AsyncTestClient(create_app(container)) as client:
        client.users = users
        yield client


async def _login(api, email, password=PASSWORD):
    return await api.post("/api/v1/auth/login", json={"email": email, "password": password})


def _bearer(session):
    return {"Authorization": f"Bearer {session['access_token']}"}


@pytest.fixture
def http(container, users) -> Iterator[TestClient]:
    """A synchronous client of an app with one staff user per role (see ``users``)."""
    with TestClient(create_app(container)) as client:
        yield client


def login(client: TestClient, role: str) -> dict[str, str]:
    """The bearer header of the ``role`` user (``<role>@clinica.com.br``)."""
    answer = client.post(
        "/api/v1/auth/login", json={"email": f"{role}@clinica.com.br", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def ok(answer, status: int = 200):
    """The JSON of ``answer``, which must have ``status``."""
    assert answer.status_code == status, answer.text
    return answer.json()
