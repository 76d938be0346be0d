"""Patients' files end up in Porfin's media store: a signed Cloud API webhook is answered at
once, its image is downloaded afterwards from a fake Graph API (the documented retrieve-URL
then download calls, with the channel's token), checked against Meta's sha256, kept, and
served by the API to whoever may see the chat. Evolution messages without inline bytes are
fetched the same way through ``getBase64FromMediaMessage`` of a fake Evolution server.

Nothing here sleeps: the tests wait for the dispatcher and the background downloads to be
done (``settle``).
"""

from __future__ import annotations

import base64
import copy
import hashlib
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from porfin_adapters.container import Container, create_container
from porfin_adapters.media_downloads import InboundMediaDownloads
from porfin_adapters.settings import Settings, StorageKind
from porfin_core.domain.events import DomainEvent, MessageMediaUpdated
from porfin_core.use_cases.create_staff_user import NewStaffUser
from porfin_http.app import create_app
from porfin_http.realtime import RealtimePublisher
from tests.e2e.conftest import AUTH, FAST_HASHER, HIGH_LIMITS, PASSWORD, TOKEN, _bearer
from tests.e2e.test_cloud_webhook import add_channel, deliver, number_of, on_app_loop
from tests.fakes.evolution_api import FakeEvolution, Served, serve
from tests.fakes.evolution_api import fixture as evolution_fixture
from tests.fakes.graph_api import TOKEN as GRAPH_TOKEN
from tests.fakes.graph_api import GraphApiFake, fixture
from tests.support import FixedClock

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 16
MEDIA_ID = "1003383421387256"  # the id in inbound_image.json
WEBHOOK_SECRET = "s3gredo-do-webhook-da-clinica-0123"


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def kept_id(data: bytes) -> str:
    return "wa-" + hashlib.sha256(data).hexdigest()[:40]


async def no_wait(seconds: float) -> None:
    """Retries at once: the tests check that they happen, not how long they wait."""


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphApiFake]:
    with GraphApiFake.serving() as fake:
        yield fake


@pytest.fixture
def graph(graph_server) -> GraphApiFake:
    graph_server.reset()
    return graph_server


@pytest.fixture
def evolution() -> Iterator[Served]:
    yield from serve(FakeEvolution())


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


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
    container.inbound_media_downloads.override(
        providers.Singleton(
            InboundMediaDownloads, store=container.store_inbound_media, sleep=no_wait
        )
    )
    return container


@pytest.fixture
async def app(container):
    async with AsyncTestClient(create_app(container)) as client:
        yield client


def settle(app, container) -> None:
    """Wait until the committed events reached their handlers and every download they
    started is done (and the events those downloads committed were delivered)."""

    async def wait() -> None:
        await container.dispatcher().settled()
        await container.inbound_media_downloads().idle()
        await container.dispatcher().settled()

    on_app_loop(app, wait)


def image_webhook(wamid: str = "wamid.image-1", sha256: str | None = None) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("inbound_image.json"))
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message["id"] = wamid
    message["image"]["sha256"] = sha256 or b64_sha(JPEG)
    return payload


async def cloud_channel(app, payload) -> str:
    return await add_channel(app, number_of(payload), access_token=GRAPH_TOKEN)


async def the_message(app, wamid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for chat in (await app.get("/api/v1/chats", headers=AUTH)).json()["items"]:
        page = await app.get(f"/api/v1/chats/{chat['id']}/messages", headers=AUTH)
        for message in page.json()["items"]:
            if message["provider_message_id"] == wamid:
                return chat, message
    raise AssertionError(f"no message {wamid}")


def media_url(chat: dict[str, Any], message: dict[str, Any]) -> str:
    return f"/api/v1/chats/{chat['id']}/messages/{message['id']}/media"


def retrieves(graph: GraphApiFake, media_id: str) -> int:
    return sum(1 for r in graph.requests if r.path == f"/v23.0/{media_id}")


# -- Cloud API ----------------------------------------------------------------------------


async def test_a_patients_image_is_kept_after_the_webhook_and_served_by_the_api(
    app, container, graph
):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    answer = await deliver(app, channel_id, payload)
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    settle(app, container)

    chat, message = await the_message(app, "wamid.image-1")
    assert message["media"] == {
        "mime_type": "image/jpeg",
        "url": None,
        "filename": None,
        "caption": "Taj Mahal",
        "sha256": hashlib.sha256(JPEG).hexdigest(),
        "size": len(JPEG),
        "media_id": kept_id(JPEG),
    }
    assert "media_error" not in message["extra"]
    # Meta's documented calls: the media id's URL for the channel's number, then the bytes,
    # both with the channel's token.
    retrieve = next(r for r in graph.requests if r.path == f"/v23.0/{MEDIA_ID}")
    download = next(r for r in graph.requests if r.path == f"/download/{MEDIA_ID}")
    assert retrieve.headers["authorization"] == f"Bearer {GRAPH_TOKEN}"
    assert download.headers["authorization"] == f"Bearer {GRAPH_TOKEN}"

    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 200, served.text
    assert served.content == JPEG
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["content-length"] == str(len(JPEG))
    assert served.headers["content-disposition"].startswith("inline;")
    by_id = await app.get(f"/api/v1/media/{kept_id(JPEG)}", headers=AUTH)
    assert by_id.status_code == 200 and by_id.content == JPEG
    audit = await app.get("/api/v1/audit", params={"action": "media.read"}, headers=AUTH)
    [read_by_message, read_by_id] = audit.json()["items"][::-1]
    assert read_by_message["resource_id"] == kept_id(JPEG)
    assert read_by_message["details"]["message_id"] == message["id"]
    assert read_by_id["resource_id"] == kept_id(JPEG)


async def test_realtime_clients_get_the_message_again_once_its_file_is_kept(app, container, graph):
    updates: list[DomainEvent] = []

    async def record(event: DomainEvent) -> None:
        updates.append(event)

    container.dispatcher().subscribe(MessageMediaUpdated, record)
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    payload = image_webhook()
    await deliver(app, await cloud_channel(app, payload), payload)
    settle(app, container)

    [event] = updates
    publisher = RealtimePublisher(container.uow_factory(), container.clock(), lambda *_: None)
    frame = msgspec.to_builtins(on_app_loop(app, publisher.frame, event))
    chat, message = await the_message(app, "wamid.image-1")
    assert frame["type"] == "message.updated"
    assert frame["chat_id"] == chat["id"]
    assert frame["data"]["message"]["media"]["media_id"] == kept_id(JPEG)
    assert frame["data"]["message"] == message  # as the REST API shows it


async def test_a_redelivered_webhook_downloads_the_file_once(app, container, graph):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    first = await deliver(app, channel_id, payload)
    again = await deliver(app, channel_id, payload)
    settle(app, container)
    third = await deliver(app, channel_id, payload)  # after the file was kept
    settle(app, container)

    outcomes = [r.json()["outcomes"][0]["outcome"] for r in (first, again, third)]
    assert outcomes == ["stored", "duplicate", "duplicate"]
    assert graph.downloads(MEDIA_ID) == 1
    assert retrieves(graph, MEDIA_ID) == 1


async def test_a_passing_failure_is_retried(app, container, graph):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    graph.fail_next("500")  # Graph error code 2: transient
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    await deliver(app, channel_id, payload)
    settle(app, container)

    # The first retrieve got the 500 (the fake records only what it answered): kept anyway.
    _, message = await the_message(app, "wamid.image-1")
    assert message["media"]["media_id"] == kept_id(JPEG)
    assert "media_error" not in message["extra"]
    assert retrieves(graph, MEDIA_ID) == 1
    assert graph.downloads(MEDIA_ID) == 1


async def test_bytes_that_do_not_match_metas_sha256_are_refused(app, container, graph):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg", sha256=b64_sha(b"something else"))
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    await deliver(app, channel_id, payload)
    settle(app, container)

    chat, message = await the_message(app, "wamid.image-1")
    assert message["media"]["media_id"] is None
    assert message["extra"]["media_error"] == (
        "the downloaded file does not match the sha256 the provider announced"
    )
    assert graph.downloads(MEDIA_ID) == 1  # a lasting failure: not retried
    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 404
    assert served.json()["reason"] == message["extra"]["media_error"]
    assert graph.downloads(MEDIA_ID) == 1  # nor when someone asks for the file


async def test_a_media_id_meta_no_longer_has_is_recorded_as_gone(app, container, graph):
    graph.expire(MEDIA_ID)
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    await deliver(app, channel_id, payload)
    settle(app, container)

    chat, message = await the_message(app, "wamid.image-1")
    reason = "WhatsApp no longer has this file (media ids in webhooks expire after 7 days)"
    assert message["extra"]["media_error"] == reason
    assert message["media"]["media_id"] is None
    assert graph.downloads(MEDIA_ID) == 0
    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 404
    assert served.headers["content-type"].startswith("application/problem+json")
    assert served.json()["reason"] == reason


async def test_a_file_the_background_gave_up_on_is_fetched_when_opened(app, container, graph):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    graph.fail_next("500", times=5)  # every background attempt fails: Meta is down a while
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)

    await deliver(app, channel_id, payload)
    settle(app, container)
    chat, message = await the_message(app, "wamid.image-1")
    assert message["media"]["media_id"] is None
    assert "media_error" not in message["extra"]  # not lost: still worth fetching

    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 200 and served.content == JPEG
    settle(app, container)
    _, message = await the_message(app, "wamid.image-1")
    assert message["media"]["media_id"] == kept_id(JPEG)


async def test_a_secretary_downloads_only_files_of_chats_she_may_see(app, container, graph):
    graph.add_file(MEDIA_ID, JPEG, "image/jpeg")
    payload = image_webhook()
    channel_id = await cloud_channel(app, payload)
    await deliver(app, channel_id, payload)
    settle(app, container)
    chat, message = await the_message(app, "wamid.image-1")
    clinic_id = app.app.state.clinic_id
    users = {}
    for email in ("ana@clinica.com.br", "bia@clinica.com.br"):
        user = on_app_loop(
            app,
            container.create_staff_user(),
            NewStaffUser(
                clinic_id=clinic_id, name=email, email=email, role="secretary", password=PASSWORD
            ),
        )
        session = await app.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        users[email] = (user.id, _bearer(session.json()))
    ana, bia = users["ana@clinica.com.br"], users["bia@clinica.com.br"]

    # Unassigned: every secretary may see the chat, and its files.
    assert (await app.get(media_url(chat, message), headers=ana[1])).status_code == 200
    assigned = await app.patch(
        f"/api/v1/chats/{chat['id']}", json={"assignee_id": bia[0]}, headers=AUTH
    )
    assert assigned.status_code == 200, assigned.text
    denied = await app.get(media_url(chat, message), headers=ana[1])
    assert denied.status_code == 404 and denied.json()["code"] == "not_found"
    assert (await app.get(media_url(chat, message), headers=bia[1])).content == JPEG


async def test_a_text_message_has_no_file(app, container, graph):
    payload = fixture("inbound_text.json")
    channel_id = await cloud_channel(app, payload)
    await deliver(app, channel_id, payload)
    settle(app, container)
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    chat, message = await the_message(app, wamid)
    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 404
    assert served.json()["detail"] == "the message has no file"
    assert graph.requests == []


# -- Evolution ----------------------------------------------------------------------------


async def evolution_channel(app, served: Served) -> str:
    body = {
        "name": "Celular",
        "provider": "evolution",
        "phone": "+59169375664",
        "evolution": {
            "base_url": served.url,
            "instance": "clinica",
            "api_key": served.fake.api_key,
            "webhook_secret": WEBHOOK_SECRET,
        },
    }
    created = await app.post("/api/v1/channels", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def evolution_image(key_id: str, data: bytes) -> dict[str, Any]:
    """The captured image upsert as sent with ``webhook.base64`` off: no inline bytes."""
    payload = copy.deepcopy(evolution_fixture("webhook_messages_upsert_image_inbound_base64"))
    payload["data"]["key"]["id"] = key_id
    payload["data"]["message"].pop("base64")
    image = payload["data"]["message"]["imageMessage"]
    image["fileSha256"] = b64_sha(data)
    image["fileLength"] = str(len(data))
    return payload


async def post_evolution(app, channel_id: str, payload: dict[str, Any]):
    return await app.post(
        f"/webhooks/whatsapp/evolution/{channel_id}",
        json=payload,
        headers={"Authorization": f"Bearer {WEBHOOK_SECRET}"},
    )


async def test_an_evolution_image_without_inline_bytes_is_fetched_from_the_server(
    app, container, evolution
):
    evolution.fake.media["3EB0NOINLINEBYTES"] = (JPEG, "image/jpeg", None)
    channel_id = await evolution_channel(app, evolution)

    answer = await post_evolution(app, channel_id, evolution_image("3EB0NOINLINEBYTES", JPEG))
    assert answer.status_code == 200, answer.text
    settle(app, container)

    chat, message = await the_message(app, "3EB0NOINLINEBYTES")
    assert message["media"]["media_id"] == kept_id(JPEG)
    assert message["media"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
    [asked] = [r for r in evolution.fake.requests if "getBase64FromMediaMessage" in r.path]
    assert asked.path == "/chat/getBase64FromMediaMessage/clinica"
    assert asked.body == {"message": {"key": {"id": "3EB0NOINLINEBYTES"}}, "convertToMp4": False}
    assert asked.headers["apikey"] == evolution.fake.api_key
    served = await app.get(media_url(chat, message), headers=AUTH)
    assert served.status_code == 200 and served.content == JPEG


async def test_evolution_bytes_that_do_not_match_the_webhooks_hash_are_refused(
    app, container, evolution
):
    evolution.fake.media["3EB0DAMAGED"] = (b"\xff\xd8\xff damaged", "image/jpeg", None)
    channel_id = await evolution_channel(app, evolution)
    await post_evolution(app, channel_id, evolution_image("3EB0DAMAGED", JPEG))
    settle(app, container)
    _, message = await the_message(app, "3EB0DAMAGED")
    assert message["media"]["media_id"] is None
    assert "sha256" in message["extra"]["media_error"]


async def test_a_message_evolution_cannot_find_is_recorded_as_unavailable(
    app, container, evolution
):
    channel_id = await evolution_channel(app, evolution)
    await post_evolution(app, channel_id, evolution_image("3EB0UNKNOWN", JPEG))
    settle(app, container)
    _, message = await the_message(app, "3EB0UNKNOWN")
    assert message["media"]["media_id"] is None
    assert "Message not found" in message["extra"]["media_error"]
