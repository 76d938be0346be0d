"""Evolution webhooks through the real route: every captured payload is accepted and stored as
what it is; the channel's secret guards the door."""

from __future__ import annotations

import base64
import hashlib
import time

import jwt
import pytest

from tests.e2e.conftest import AUTH
from tests.fakes.evolution_api import deepcopy, fixture

SECRET = "s3gredo-do-webhook-da-clinica-0123"


@pytest.fixture
def evolution_channel(client) -> str:
    body = {
        "name": "Celular",
        "provider": "evolution",
        "phone": "+59169375664",
        "evolution": {
            "base_url": "https://evolution.clinica.com.br",
            "instance": "tigo1",
            "api_key": "429683C4C977415CAAFCCE10F7D57E11",
            "webhook_secret": SECRET,
        },
    }
    created = client.post("/api/v1/channels", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def post(client, channel_id, payload, headers=None, query=""):
    headers = {"Authorization": f"Bearer {SECRET}"} if headers is None else headers
    return client.post(
        f"/webhooks/whatsapp/evolution/{channel_id}{query}", json=payload, headers=headers
    )


def messages(client):
    chats = client.get("/api/v1/chats", headers=AUTH).json()["items"]
    out = {}
    for chat in chats:
        timeline = client.get(f"/api/v1/chats/{chat['id']}/messages", headers=AUTH).json()
        for message in timeline["items"]:
            out[message["provider_message_id"]] = (chat, message)
    return out


def test_a_12_digit_brazilian_jid_is_the_same_customer_as_the_13_digit_number(
    client, evolution_channel
):
    answer = post(
        client, evolution_channel, fixture("webhook_messages_upsert_text_inbound_br_12digit_jid")
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    chat, message = messages(client)["3F883A0B44FFF34D1BA3"]
    assert message["body"] == "Hola" and message["author"] == "patient"
    assert chat["customer_phone"] == "+5541998908495"
    # Staff know the patient by the 13-digit number: the simulator lands on the same customer.
    customer = client.get(f"/api/v1/customers/{chat['customer_id']}", headers=AUTH).json()
    assert customer["phone"] == "+5541998908495"


def test_duplicates_store_one_message(client, evolution_channel):
    payload = fixture("webhook_messages_upsert_text_inbound_v2_2")
    first = post(client, evolution_channel, payload).json()["outcomes"][0]
    again = post(client, evolution_channel, payload).json()["outcomes"][0]
    assert (first["outcome"], again["outcome"]) == ("stored", "duplicate")
    assert first["message_id"] == again["message_id"]
    assert len(messages(client)) == 1


def test_a_message_typed_on_the_clinic_phone_hands_the_chat_to_a_person(client, evolution_channel):
    post(client, evolution_channel, fixture("webhook_messages_upsert_text_inbound_v2_2"))
    answer = post(
        client, evolution_channel, fixture("webhook_messages_upsert_text_outbound_fromMe")
    )
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    found = messages(client)
    chat, message = found["3EB0B7AA9746D9215C1340"]
    assert message["author"] == "clinic_phone" and message["direction"] == "outbound"
    assert found["3EB03E3CA617ADA52AEA79"][0]["id"] == chat["id"]  # same patient, same chat
    chat_now = client.get(f"/api/v1/chats/{chat['id']}", headers=AUTH).json()
    assert chat_now["mode"] == "human"


def test_inline_image_goes_to_the_media_store(client, evolution_channel):
    # The captured payload's base64 was shortened by hand: not valid media. It is stored as
    # an image without a copy, and the reason is kept.
    captured = fixture("webhook_messages_upsert_image_inbound_base64")
    answer = post(client, evolution_channel, captured)
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    _, message = messages(client)["3EB083096BF5E4096E4137"]
    assert message["kind"] == "image"
    assert message["body"] == "hola - text con multimedia (imagen)"
    assert message["extra"]["media_error"] == "inline media is not valid base64"

    # The same capture with real bytes: kept, checked against fileSha256, served back.
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4
    valid = deepcopy(captured)
    valid["data"]["key"]["id"] = "3EB0IMAGEWITHBYTES"
    valid["data"]["message"]["base64"] = base64.b64encode(jpeg).decode()
    valid["data"]["message"]["imageMessage"]["fileSha256"] = base64.b64encode(
        hashlib.sha256(jpeg).digest()
    ).decode()
    assert post(client, evolution_channel, valid).status_code == 200
    _, stored = messages(client)["3EB0IMAGEWITHBYTES"]
    media_id = stored["media"]["id"] if "id" in (stored["media"] or {}) else None
    media_id = media_id or stored["media"].get("stored_path") or stored["media"].get("media_id")
    assert media_id
    download = client.get(f"/api/v1/media/{media_id}", headers=AUTH)
    assert download.status_code == 200 and download.content == jpeg


def test_connection_updates_are_recorded_on_the_channel(client, evolution_channel, container):
    answer = post(client, evolution_channel, fixture("webhook_connection_update_close_401"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0] == {
        "outcome": "connection",
        "message_id": None,
        "detail": "close",
    }
    qr = {
        "event": "qrcode.updated",
        "instance": "tigo1",
        "date_time": "2025-05-02T03:02:00.000Z",
        "data": {
            "qrcode": {
                "instance": "tigo1",
                "code": "2@abc",
                "pairingCode": "WZYEH1YY",
                "base64": "data:image/png;base64,iVBO",
            }
        },
    }
    assert post(client, evolution_channel, qr).json()["outcomes"][0]["detail"] == "connecting"


def test_statuses_and_echoes_never_make_messages(client, evolution_channel):
    update = {
        "event": "messages.update",
        "instance": "tigo1",
        "data": {
            "keyId": "BAE594145F4C59B4",
            "remoteJid": "553198296801@s.whatsapp.net",
            "fromMe": True,
            "status": "READ",
            "instanceId": "x",
        },
    }
    assert post(client, evolution_channel, update).json()["outcomes"][0]["outcome"] == (
        "pending_status"
    )
    echo = {"event": "send.message", "instance": "tigo1", "data": fixture("send_text_response")}
    assert post(client, evolution_channel, echo).json()["outcomes"][0]["outcome"] == "reconciled"
    theirs = {"event": "messages.update", "data": {"keyId": "X", "fromMe": False, "status": "READ"}}
    assert post(client, evolution_channel, theirs).json()["outcomes"][0]["outcome"] == "ignored"
    assert messages(client) == {}


def test_unknown_kinds_are_stored_as_unsupported_and_groups_ignored(client, evolution_channel):
    poll = deepcopy(fixture("webhook_messages_upsert_text_inbound_v2_2"))
    poll["data"]["key"]["id"] = "POLL1"
    poll["data"]["messageType"] = "pollCreationMessageV3"
    poll["data"]["message"] = {"pollCreationMessageV3": {"name": "Qual dia?"}}
    assert post(client, evolution_channel, poll).status_code == 200
    _, message = messages(client)["POLL1"]
    assert message["kind"] == "unsupported"

    group = deepcopy(fixture("webhook_messages_upsert_text_inbound_v2_2"))
    group["data"]["key"] = {
        "remoteJid": "1203630@g.us",
        "fromMe": False,
        "id": "G1",
        "participant": "69385314111689@lid",
    }
    assert post(client, evolution_channel, group).json()["outcomes"][0]["outcome"] == "ignored"
    for junk in ({"event": "presence.update", "data": {}}, {"nothing": True}, [1, 2]):
        assert post(client, evolution_channel, junk).status_code == 200


def test_a_lid_contact_gets_its_phone_when_one_appears(client, evolution_channel):
    lid_only = deepcopy(fixture("webhook_messages_upsert_text_inbound_v2_2"))
    lid_only["data"]["key"] = {"remoteJid": "69385314111689@lid", "fromMe": False, "id": "L1"}
    post(client, evolution_channel, lid_only)
    chat, _ = messages(client)["L1"]
    assert chat["customer_phone"] is None
    with_phone = deepcopy(lid_only)
    with_phone["data"]["key"] = {
        "remoteJid": "69385314111689@lid",
        "fromMe": False,
        "id": "L2",
        "senderPn": "5511987654321@s.whatsapp.net",
    }
    post(client, evolution_channel, with_phone)
    found = messages(client)
    assert found["L2"][0]["id"] == chat["id"]
    assert found["L2"][0]["customer_phone"] == "+5511987654321"


def test_the_secret_guards_the_webhook(client, evolution_channel, channel_id):
    payload = fixture("webhook_messages_upsert_text_inbound_v2_2")
    assert post(client, evolution_channel, payload, headers={}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert post(client, evolution_channel, payload, headers=wrong).status_code == 401
    # Evolution's own apikey in the body is not a credential.
    assert (
        post(client, evolution_channel, payload, headers={"apikey": payload["apikey"]}).status_code
        == 401
    )
    assert messages(client) == {}
    assert post(client, "no-such-channel", payload).status_code == 404
    assert post(client, channel_id, payload).status_code == 404  # a simulator channel
    assert (
        post(client, evolution_channel, payload, headers={}, query=f"?token={SECRET}").status_code
        == 200
    )
    token = jwt.encode(
        {"app": "evolution", "action": "webhook", "exp": int(time.time()) + 600},
        SECRET,
        algorithm="HS256",
    )
    jwt_headers = {"Authorization": f"Bearer {token}"}
    assert post(client, evolution_channel, payload, headers=jwt_headers).status_code == 200
    assert (
        client.post(
            f"/webhooks/whatsapp/evolution/{evolution_channel}",
            content=b"{not json",
            headers={"Authorization": f"Bearer {SECRET}"},
        ).status_code
        == 422
    )  # Evolution does not retry a 422


def test_an_inactive_channel_answers_200_and_stores_nothing(client, evolution_channel):
    off = client.patch(
        f"/api/v1/channels/{evolution_channel}", json={"active": False}, headers=AUTH
    )
    assert off.status_code == 200, off.text
    answer = post(client, evolution_channel, fixture("webhook_messages_upsert_text_inbound_v2_2"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["detail"] == "channel is inactive"
    assert messages(client) == {}
