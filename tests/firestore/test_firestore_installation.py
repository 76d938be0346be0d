"""The whole installation on Firestore: container, use cases and the API, on the emulator."""

from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

import porfin_adapters.container as composition
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.customer import Identity
from porfin_core.ports.storage import ChatQuery
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_http.app import create_app

pytestmark = pytest.mark.firestore


def _settings(firestore_emulator, tmp_path) -> Settings:
    return Settings(
        storage=StorageKind.FIRESTORE,
        firestore_project=firestore_emulator.new_project(),
        data_dir=tmp_path,
        admin_token="tok",
    )


async def test_the_container_runs_the_use_cases_on_firestore(firestore_emulator, tmp_path):
    container = composition.create_container(_settings(firestore_emulator, tmp_path))
    await composition.start(container)
    try:
        assert await container.storage().ready()
        installation = await container.set_up_installation()()
        received = await container.receive_inbound_message()(
            ReceiveMessage(
                channel_id=installation.channel.id,
                provider_message_id="wamid.1",
                sender=[Identity.of_phone("551187654321")],
                sender_name="Maria",
                body="Olá",
            )
        )
        page = await container.list_chats()(ChatQuery(clinic_id=installation.clinic.id))
        assert [c.id for c in page.items] == [received.chat_id]
        assert page.items[0].customer_phone == "+5511987654321"
    finally:
        await composition.stop(container)


async def test_the_api_reports_firestore_ready(firestore_emulator, tmp_path):
    container = composition.create_container(_settings(firestore_emulator, tmp_path))
    async with AsyncTestClient(create_app(container)) as client:
        ready = await client.get("/ready")
        assert ready.json() == {"status": "ok", "storage": "firestore"}
        channel = await client.get("/api/v1/channels", headers={"Authorization": "Bearer tok"})
        channel_id = channel.json()[0]["id"]
        body = {"message": {"id": "sim-1", "from": "+5511987654321", "text": "Oi"}}
        posted = await client.post(
            f"/webhooks/simulator/{channel_id}", json=body, headers={"Authorization": "Bearer tok"}
        )
        assert posted.status_code == 200
