"""Attachments through the API: upload, download, limits, and sending one in a chat."""

from __future__ import annotations

import hashlib
from urllib.parse import quote

import pytest
from dependency_injector import providers
from litestar.testing import AsyncTestClient

from porfin_adapters.container import create_container
from porfin_adapters.settings import Settings, StorageKind
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH, TOKEN
from tests.e2e.seeding import JPEG, headers_of, seed

PROBLEM = "application/problem+json"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"0123456789abcdef" * 100_000  # 1.6 MB: over 1 MiB
OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + b"\x00" * 200


@pytest.fixture
async def world(container, clock):
    return await seed(container, clock)


@pytest.fixture
async def api(container, world):
    async with AsyncTestClient(create_app(container)) as client:
        yield client


async def upload(api, data, mime_type, filename="foto.jpg", headers=AUTH):
    return await api.post(
        "/api/v1/media", files={"file": (filename, data, mime_type)}, headers=headers
    )


async def test_an_upload_downloads_as_the_same_bytes(api):
    answer = await upload(api, JPEG, "image/jpeg", "Raio-X panorâmico.jpg")
    assert answer.status_code == 201, answer.text
    media = answer.json()
    assert (media["kind"], media["mime_type"], media["size"]) == ("image", "image/jpeg", len(JPEG))
    assert media["sha256"] == hashlib.sha256(JPEG).hexdigest()
    assert media["filename"] == "Raio-X panorâmico.jpg"
    download = await api.get(f"/api/v1/media/{media['id']}", headers=AUTH)
    assert download.status_code == 200
    assert download.content == JPEG
    assert download.headers["content-type"] == "image/jpeg"
    assert download.headers["content-length"] == str(len(JPEG))
    assert download.headers["content-disposition"] == (
        'inline; filename="Raio-X panor_mico.jpg"; '
        f"filename*=UTF-8''{quote('Raio-X panorâmico.jpg', safe='')}"
    )
    assert download.headers["x-content-type-options"] == "nosniff"
    audit = (await api.get("/api/v1/audit?resource_type=media", headers=AUTH)).json()
    assert [r["action"] for r in audit["items"]] == ["media.read", "media.upload"]


async def test_a_document_larger_than_the_json_limit_is_an_attachment(api):
    answer = await upload(api, PDF, "application/pdf", "orçamento.pdf")
    assert answer.status_code == 201, answer.text
    download = await api.get(f"/api/v1/media/{answer.json()['id']}", headers=AUTH)
    assert download.content == PDF
    assert download.headers["content-disposition"].startswith(
        'attachment; filename="or_amento.pdf"'
    )


async def test_every_role_with_chat_access_uploads_and_downloads(api):
    for role in ("admin", "manager", "secretary"):
        headers = await headers_of(api, role)
        answer = await upload(api, JPEG, "image/jpeg", headers=headers)
        assert answer.status_code == 201, (role, answer.text)
        download = await api.get(f"/api/v1/media/{answer.json()['id']}", headers=headers)
        assert download.content == JPEG


async def test_another_clinics_file_is_not_found(api, world):
    answer = await api.get(f"/api/v1/media/{world.other_media_id}", headers=AUTH)
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert answer.headers["content-type"].startswith(PROBLEM)
    for bad in ("nope", "..%2F..%2Fporfin.db", "%2E%2E"):
        assert (await api.get(f"/api/v1/media/{bad}", headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    ("data", "mime_type", "status", "code"),
    [
        (b"GIF89a....", "image/gif", 415, "unsupported_media_type"),
        (b"<html><script>alert(1)</script>", "text/html", 415, "unsupported_media_type"),
        (b"<svg/>", "image/svg+xml", 415, "unsupported_media_type"),
        (PDF[:2000], "image/jpeg", 422, "validation_error"),
        (b"MZ\x90\x00\x03", "application/pdf", 422, "validation_error"),
        (b"", "application/pdf", 422, "validation_error"),
    ],
)
async def test_files_whatsapp_would_not_deliver_are_problems(api, data, mime_type, status, code):
    answer = await upload(api, data, mime_type)
    assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    assert answer.json()["errors"][0]["field"] == "file"


async def test_a_body_without_a_file_is_a_bad_request(api):
    answer = await api.post("/api/v1/media", json={"file": "x"}, headers=AUTH)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith(PROBLEM)


async def test_uploads_over_the_installations_limit_are_413(tmp_path, clock):
    settings = Settings(
        storage=StorageKind.SQLITE, data_dir=tmp_path, admin_token=TOKEN, max_upload_bytes=200_000
    )
    container = create_container(settings)
    container.clock.override(providers.Object(clock))
    async with AsyncTestClient(create_app(container)) as api:
        # A body over the route's limit is cut short by the server...
        huge = await upload(api, b"%PDF-" + b"x" * 400_000, "application/pdf", "big.pdf")
        assert (huge.status_code, huge.json()["code"]) == (413, "payload_too_large")
        assert huge.headers["content-type"].startswith(PROBLEM)
        # ...and a file just over the limit, whose body fits the multipart allowance, by the
        # use case, which says what the limit is.
        over = await upload(api, b"%PDF-" + b"x" * 200_000, "application/pdf", "big.pdf")
        assert (over.status_code, over.json()["code"]) == (413, "payload_too_large")
        assert over.json()["max_bytes"] == 200_000
        fits = await upload(api, b"%PDF-" + b"x" * 150_000, "application/pdf", "ok.pdf")
        assert fits.status_code == 201
    assert not any(p.suffix == ".bin" and "big" in p.name for p in tmp_path.rglob("*"))


async def test_an_image_over_whatsapps_limit_is_413(api):
    big = JPEG + b"\x00" * 5_000_000
    answer = await upload(api, big, "image/jpeg")
    assert (answer.status_code, answer.json()["code"]) == (413, "payload_too_large")
    assert answer.json()["max_bytes"] == 5_000_000


async def patient_chat(api) -> str:
    channel_id = (await api.get("/api/v1/channels", headers=AUTH)).json()[0]["id"]
    body = {"message": {"id": "sim-1", "from": "+5511987654321", "text": "Manda o orçamento?"}}
    posted = await api.post(f"/webhooks/simulator/{channel_id}", json=body, headers=AUTH)
    return posted.json()["chat_id"]


async def test_staff_send_an_attachment_and_the_timeline_shows_it(api):
    chat_id = await patient_chat(api)
    media = (await upload(api, PDF, "application/pdf", "orçamento.pdf")).json()
    sent = await api.post(
        f"/api/v1/chats/{chat_id}/messages",
        json={"media_id": media["id"], "caption": "Segue o orçamento"},
        headers=AUTH,
    )
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert (message["kind"], message["body"], message["status"]) == (
        "document",
        "Segue o orçamento",
        "sent",
    )
    assert message["media"] == {
        "mime_type": "application/pdf",
        "url": None,
        "filename": "orçamento.pdf",
        "caption": "Segue o orçamento",
        "sha256": media["sha256"],
        "size": len(PDF),
        "media_id": media["id"],
    }
    timeline = (await api.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH)).json()
    assert timeline["items"][0] == message
    chat = (await api.get(f"/api/v1/chats/{chat_id}", headers=AUTH)).json()
    assert chat["last_message_preview"] == "Segue o orçamento"
    download = await api.get(f"/api/v1/media/{message['media']['media_id']}", headers=AUTH)
    assert download.content == PDF


async def test_a_voice_note_goes_without_caption(api):
    chat_id = await patient_chat(api)
    media = (await upload(api, OGG_OPUS, "audio/ogg; codecs=opus", "nota.ogg")).json()
    assert (media["kind"], media["mime_type"]) == ("audio", "audio/ogg")
    url = f"/api/v1/chats/{chat_id}/messages"
    sent = await api.post(url, json={"media_id": media["id"]}, headers=AUTH)
    assert (sent.status_code, sent.json()["kind"], sent.json()["body"]) == (201, "audio", None)
    captioned = await api.post(url, json={"media_id": media["id"], "caption": "Ouça"}, headers=AUTH)
    assert (captioned.status_code, captioned.json()["errors"][0]["field"]) == (422, "caption")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "text"),
        ({"media_id": "nope"}, 422, "media_id"),
        ({"media_id": "OTHER"}, 422, "media_id"),
        ({"media_id": "MINE", "text": "e texto"}, 422, "text"),
        ({"text": "Oi", "caption": "sem anexo"}, 422, "caption"),
        ({"media_id": "MINE", "caption": "x" * 1025}, 400, None),
        ({"media_id": ""}, 400, None),
    ],
)
async def test_bad_attachments_are_problems_and_nothing_is_stored(api, world, body, status, field):
    chat_id = await patient_chat(api)
    mine = (await upload(api, JPEG, "image/jpeg")).json()["id"]
    ids = {"MINE": mine, "OTHER": world.other_media_id}
    if "media_id" in body:
        body = {**body, "media_id": ids.get(body["media_id"], body["media_id"])}
    answer = await api.post(f"/api/v1/chats/{chat_id}/messages", json=body, headers=AUTH)
    assert answer.status_code == status, answer.text
    if field is not None:
        assert answer.json()["errors"][0]["field"] == field
    timeline = (await api.get(f"/api/v1/chats/{chat_id}/messages", headers=AUTH)).json()
    assert len(timeline["items"]) == 1
