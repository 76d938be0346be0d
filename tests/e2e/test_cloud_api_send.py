"""A staff message through a Cloud API channel reaches Meta's Graph API (a local fake): the
request has the documented body, and the message shows Meta's id and ``sent``; Meta's refusal
shows as ``failed`` with the reason."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

import porfin_adapters.container as composition
from porfin_adapters.container import Container, create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.channel import Provider
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_http.app import create_app
from tests.e2e.conftest import FAST_HASHER, HIGH_LIMITS, TOKEN
from tests.e2e.seeding import JPEG, headers_of, seed
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import GraphApiFake

PATIENT = "+5511987654321"
CLOUD = {
    "name": "Recepção",
    "provider": "cloud_api",
    "phone": "+55 11 3333-4444",
    "cloud_api": {
        "phone_number_id": "106540352242922",
        "waba_id": "102290129340398",
        "api_version": "v23.0",
        "access_token": GRAPH_TOKEN,
        "app_secret": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    },
}


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphApiFake]:
    with GraphApiFake.serving() as fake:
        yield fake


@pytest.fixture
def graph(graph_server) -> GraphApiFake:
    graph_server.reset()
    return graph_server


@pytest.fixture
def container(tmp_path, clock, graph) -> Container:
    settings = Settings(
        storage=StorageKind.SQLITE,
        data_dir=tmp_path,
        admin_token=TOKEN,
        whatsapp_graph_url=graph.url,
        **HIGH_LIMITS,
    )
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    container.password_hasher.override(providers.Object(FAST_HASHER))
    return container


@pytest.fixture
async def api(container, clock):
    await seed(container, clock)
    async with AsyncTestClient(create_app(container)) as client:
        yield client


async def _patient_wrote(container, clock, channel_id: str) -> str:
    """The patient's message arrives on the channel (opening the 24-hour window); its chat."""
    receiver = create_container(container.settings())
    receiver.clock.override(providers.Object(clock))
    await composition.start(receiver)
    try:
        received = await receiver.receive_inbound_message()(
            ReceiveMessage(
                channel_id=channel_id,
                provider_message_id="wamid.INBOUND1",
                sender=[Identity.of_phone(PATIENT), Identity(IdentityKind.WA_ID, "5511987654321")],
                sender_name="Maria",
                body="Oi, quero marcar uma consulta",
                provider=Provider.CLOUD_API,
            )
        )
    finally:
        await composition.stop(receiver)
    return received.chat_id


async def _cloud_chat(api, container, clock) -> tuple[dict[str, str], str]:
    admin = await headers_of(api, "admin")
    created = await api.post("/api/v1/channels", json=CLOUD, headers=admin)
    assert created.status_code == 201, created.text
    return admin, await _patient_wrote(container, clock, created.json()["id"])


async def test_a_staff_reply_goes_to_the_graph_api_and_shows_metas_id(api, container, clock, graph):
    admin, chat_id = await _cloud_chat(api, container, clock)

    answer = await api.post(
        f"/api/v1/chats/{chat_id}/messages", json={"text": "Olá, Maria!"}, headers=admin
    )

    assert answer.status_code in (200, 201), answer.text
    message = answer.json()
    assert message["status"] == "sent"
    assert message["provider_message_id"].startswith("wamid.FAKE")
    assert graph.sent() == [
        {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": PATIENT,
            "type": "text",
            "text": {"body": "Olá, Maria!", "preview_url": False},
            # Porfin's id, echoed in the status webhooks (the outbox reconciles by it).
            "biz_opaque_callback_data": message["id"],
        }
    ]
    request = graph.requests[-1]
    assert request.path == "/v23.0/106540352242922/messages"
    assert request.headers["authorization"] == f"Bearer {GRAPH_TOKEN}"


async def test_a_closed_window_at_meta_shows_as_failed_with_the_reason(
    api, container, clock, graph
):
    admin, chat_id = await _cloud_chat(api, container, clock)
    graph.fail_next("131047")

    answer = await api.post(
        f"/api/v1/chats/{chat_id}/messages", json={"text": "Olá?"}, headers=admin
    )

    message = answer.json()
    assert message["status"] == "failed", answer.text
    assert message["error"]["error_code"] == "131047"
    assert "24-hour window is closed" in message["error"]["error_detail"]
    assert graph.sent() == []


async def test_an_attachment_is_uploaded_to_meta_and_sent_by_its_media_id(
    api, container, clock, graph
):
    admin, chat_id = await _cloud_chat(api, container, clock)
    uploaded = await api.post(
        "/api/v1/media", files={"file": ("exame.jpg", JPEG, "image/jpeg")}, headers=admin
    )
    assert uploaded.status_code == 201, uploaded.text

    answer = await api.post(
        f"/api/v1/chats/{chat_id}/messages",
        json={"media_id": uploaded.json()["id"], "caption": "Seu exame"},
        headers=admin,
    )

    assert answer.json()["status"] == "sent", answer.text
    upload = next(r for r in graph.requests if r.path.endswith("/media"))
    assert upload.form == {"messaging_product": "whatsapp", "type": "image/jpeg"}
    assert upload.file[1] == JPEG
    (sent,) = graph.sent()
    assert sent["type"] == "image"
    assert sent["image"]["caption"] == "Seu exame"
    assert graph.files[sent["image"]["id"]].data == JPEG
