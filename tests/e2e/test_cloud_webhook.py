"""Cloud API webhooks through the real route: every captured payload is signed like Meta signs
it, accepted and stored as what it is; a bad signature stores nothing."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from porfin_core.domain.channel import Provider
from porfin_core.domain.customer import Identity, IdentityKind
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_http.app import create_app
from tests.e2e.conftest import AUTH
from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("whatsapp_cloud")
APP_SECRET = "test-app-secret-0f9e8d7c6b5a4321"
VERIFY = "verify-me-please-2026"
SIGNATURE = "X-Hub-Signature-256"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def number_of(payload: dict[str, Any]) -> str:
    return payload["entry"][0]["changes"][0]["value"]["metadata"]["phone_number_id"]


@pytest.fixture
async def app(container):
    async with AsyncTestClient(create_app(container)) as client:
        container.app_under_test = client
        yield client


async def add_channel(app, phone_number_id="106540352242922", **overrides) -> str:
    cloud = {
        "phone_number_id": phone_number_id,
        "waba_id": "102290129340398",
        "access_token": "EAAG-test-token-" + "x" * 20,
        "app_secret": APP_SECRET,
        "webhook_verify_token": VERIFY,
        **overrides,
    }
    body = {"name": "Recepção", "provider": "cloud_api", "phone": "+5511987654321"}
    created = await app.post("/api/v1/channels", json={**body, "cloud_api": cloud}, headers=AUTH)
    assert created.status_code == 201, created.text
    return created.json()["id"]


async def deliver(app, channel_id, payload, *, secret=APP_SECRET, raw: bytes | None = None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SIGNATURE] = sign(body, secret)
    return await app.post(f"/webhooks/whatsapp/cloud/{channel_id}", content=body, headers=headers)


async def timeline(app) -> dict[str, tuple[dict, dict]]:
    chats = (await app.get("/api/v1/chats", headers=AUTH)).json()["items"]
    out = {}
    for chat in chats:
        page = (await app.get(f"/api/v1/chats/{chat['id']}/messages", headers=AUTH)).json()
        for message in page["items"]:
            out[message["provider_message_id"]] = (chat, message)
    return out


def on_app_loop(app, function, *args):
    """Run ``function`` on the app's event loop (its storage lives there), wait for it."""
    return app.blocking_portal.call(function, *args)


async def stored(container, app, channel_id, provider_id):
    clinic_id = app.app.state.clinic_id

    async def read():
        async with container.uow_factory()(read_only=True) as uow:
            return await uow.messages.find_by_provider_id(clinic_id, channel_id, provider_id)

    return on_app_loop(app, read)


def message_of(payload):
    return payload["entry"][0]["changes"][0]["value"]["messages"][0]


# What each inbound fixture must become: kind, body, and a check of the rest.
INBOUND = {
    "inbound_text": ("text", "Does it come in another color?", {}),
    "inbound_text_reply_context": ("text", "replied text", {"reply_to": "wamid.xyzxyz=="}),
    "inbound_text_with_context_product_inquiry": (
        "text",
        "Is this still available?",
        {
            "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA",
            "extra": {
                "context": {
                    "from": "15550783881",
                    "id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGA9wcm9kdWN0X2lucXVpcnkA",
                    "referred_product": {
                        "catalog_id": "194836987003835",
                        "product_retailer_id": "di9ozbzfi4",
                    },
                }
            },
        },
    ),
    "inbound_image": (
        "image",
        "Taj Mahal",
        {
            "media": {
                "mime_type": "image/jpeg",
                "caption": "Taj Mahal",
                "sha256": "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
                "url": None,
            },
            "media_id": "1003383421387256",
        },
    ),
    "inbound_image_with_url": (
        "image",
        "Taj Mahal",
        {
            "media": {
                "mime_type": "image/jpeg",
                "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133...",
            },
            "media_id": "1003383421387256",
        },
    ),
    "inbound_document": (
        "document",
        "my receipt",
        {
            "media": {
                "mime_type": "application/pdf",
                "filename": "receipt.pdf",
                "caption": "my receipt",
                "sha256": "V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=",
            },
            "media_id": "622684793477189",
        },
    ),
    "inbound_audio_voice_note": (
        "audio",
        None,
        {
            "media": {"mime_type": "audio/ogg; codecs=opus", "caption": None},
            "media_id": "1234567890987654321",
            "extra": {"voice": True},
        },
    ),
    "inbound_audio_file": (
        "audio",
        None,
        {
            "media": {"mime_type": "audio/ogg; codecs=opus"},
            "media_id": "1234567890987654321",
            "extra": {"voice": False, "context": {"forwarded": True}},
        },
    ),
    "inbound_video": (
        "video",
        "caption",
        {
            "media": {"mime_type": "video/mp4", "caption": "caption"},
            "media_id": "765756756",
            "extra": {"context": {"forwarded": True}},
        },
    ),
    "inbound_location": (
        "location",
        "Philz Coffee",
        {
            "extra": {
                "location": {
                    "latitude": 37.44221496582,
                    "longitude": -122.16165924072,
                    "name": "Philz Coffee",
                    "address": "101 Forest Ave, Palo Alto, CA 94301",
                    "url": "https://philzcoffee.com/",
                }
            }
        },
    ),
    "inbound_contacts": ("contacts", "Lucía Gómez", {}),
    "inbound_interactive_button_reply": (
        "interactive",
        "Cancel",
        {
            "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA",
            "extra": {
                "interactive": {"type": "button_reply", "id": "cancel-button", "title": "Cancel"}
            },
        },
    ),
    "inbound_interactive_list_reply": (
        "interactive",
        "Priority Mail Express",
        {
            "extra": {
                "interactive": {
                    "type": "list_reply",
                    "id": "priority_express",
                    "title": "Priority Mail Express",
                    "description": "Next Day to 2 Days",
                }
            }
        },
    ),
    "inbound_button_template_quick_reply": (
        "interactive",
        "Unsubscribe",
        {
            "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJFNjk2OTMwNEZCQjhGMzUyQUYA",
            "extra": {
                "interactive": {"type": "button", "payload": "Unsubscribe", "title": "Unsubscribe"}
            },
        },
    ),
    "inbound_reaction": (
        "reaction",
        "👍",
        {
            "reply_to": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA",
            "extra": {
                "reaction": {
                    "emoji": "👍",
                    "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0RTJEOTc2ODVERUY5RDlGNkYA",
                }
            },
        },
    ),
}


def test_the_table_covers_every_inbound_fixture():
    names = {p.stem for p in FIXTURES.glob("inbound_*.json")}
    assert names == set(INBOUND)


@pytest.mark.parametrize("name", sorted(INBOUND))
async def test_every_inbound_fixture_is_stored_as_what_it_is(app, container, name):
    payload = fixture(name)
    channel_id = await add_channel(app, number_of(payload))
    answer = await deliver(app, channel_id, payload)
    assert answer.status_code == 200, answer.text
    assert [o["outcome"] for o in answer.json()["outcomes"]] == ["stored"]
    source = message_of(payload)
    chat, message = (await timeline(app))[source["id"]]
    kind, body, more = INBOUND[name]
    assert (message["kind"], message["body"]) == (kind, body)
    assert (message["direction"], message["author"], message["status"]) == (
        "inbound",
        "patient",
        "received",
    )
    assert message["reply_to_provider_id"] == more.get(
        "reply_to", source.get("context", {}).get("id")
    )
    for key, value in more.get("extra", {}).items():
        assert message["extra"][key] == value, key
    for key, value in more.get("media", {}).items():
        assert message["media"][key] == value, key
    kept = await stored(container, app, channel_id, source["id"])
    if "media_id" in more:
        assert kept.media.provider_media_id == more["media_id"]
        assert kept.media.stored_path is None  # the download is later work
    else:
        assert message["media"] is None
    # The patient: the number Meta gave (international, never read as Brazilian) and name.
    contact = payload["entry"][0]["changes"][0]["value"]["contacts"][0]
    assert chat["customer_phone"] == "+" + source["from"]
    assert chat["customer_name"] == contact["profile"]["name"]
    customer = (await app.get(f"/api/v1/customers/{chat['customer_id']}", headers=AUTH)).json()
    assert {"kind": "wa_id", "value": source["from"]} in customer["identities"]
    if "user_id" in contact:
        assert {"kind": "bsuid", "value": contact["user_id"]} in customer["identities"]


async def test_contacts_keep_every_card(app):
    payload = fixture("inbound_contacts")
    channel_id = await add_channel(app)
    await deliver(app, channel_id, payload)
    _, message = (await timeline(app))[message_of(payload)["id"]]
    assert message["extra"]["contacts"] == message_of(payload)["contacts"]


STATUSES = {
    "status_sent_with_pricing": ("sent", None),
    "status_sent_v24_minimal": ("sent", None),
    "status_delivered_cbp": ("delivered", None),
    "status_read_cbp": ("read", None),
    "status_failed_131049": ("failed", "131049"),
}


def test_the_table_covers_every_status_fixture():
    assert {p.stem for p in FIXTURES.glob("status_*.json")} == set(STATUSES)


async def clinic_phone_message(container, channel_id, provider_id, recipient="16505551234"):
    """An outbound message with ``provider_id`` (as if typed on the clinic's phone)."""
    command = ReceiveMessage(
        channel_id=channel_id,
        provider=Provider.CLOUD_API,
        provider_message_id=provider_id,
        sender=[Identity(IdentityKind.WA_ID, recipient)],
        body="Sua consulta está confirmada",
        from_clinic_phone=True,
    )
    return on_app_loop(container.app_under_test, container.receive_inbound_message(), command)


@pytest.mark.parametrize("name", sorted(STATUSES))
@pytest.mark.parametrize("order", ["message_first", "status_first"])
async def test_every_status_fixture_is_recorded(app, container, name, order):
    payload = fixture(name)
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    channel_id = await add_channel(app, number_of(payload))
    if order == "message_first":
        await clinic_phone_message(container, channel_id, status["id"], status["recipient_id"])
    answer = await deliver(app, channel_id, payload)
    assert answer.status_code == 200, answer.text
    outcome = answer.json()["outcomes"][0]["outcome"]
    if order == "status_first":
        assert outcome == "pending_status"
        await clinic_phone_message(container, channel_id, status["id"], status["recipient_id"])
    else:
        # A clinic-phone message is ``sent`` already: a later ``sent`` is stale.
        assert outcome == ("stale_status" if status["status"] == "sent" else "status")
    _, message = (await timeline(app))[status["id"]]
    expected, code = STATUSES[name]
    assert message["status"] == expected
    if code is None:
        assert message["error"] is None
    else:
        assert message["error"]["error_code"] == code
        assert message["error"]["error_detail"].startswith("In order to maintain")


async def test_statuses_out_of_order_converge(app, container):
    payload = fixture("status_read_cbp")
    channel_id = await add_channel(app, number_of(payload))
    wamid = "wamid.out-of-order"

    def status(name, at):
        changed = copy.deepcopy(payload)
        entry = changed["entry"][0]["changes"][0]["value"]["statuses"][0]
        entry.update(id=wamid, status=name, timestamp=str(at))
        return changed

    await deliver(app, channel_id, status("read", 1700000300))
    await clinic_phone_message(container, channel_id, wamid)
    for name, at in (("delivered", 1700000200), ("sent", 1700000100), ("read", 1700000300)):
        assert (await deliver(app, channel_id, status(name, at))).status_code == 200
    _, message = (await timeline(app))[wamid]
    assert message["status"] == "read"
    assert [h["status"] for h in message["history"]] == ["sent", "read"]


async def test_a_redelivered_message_is_stored_once(app):
    payload = fixture("inbound_text")
    channel_id = await add_channel(app)
    first = await deliver(app, channel_id, payload)
    again = await deliver(app, channel_id, payload)
    assert first.json()["outcomes"][0]["outcome"] == "stored"
    assert again.json()["outcomes"][0]["outcome"] == "duplicate"
    assert first.json()["outcomes"][0]["message_id"] == again.json()["outcomes"][0]["message_id"]
    assert len(await timeline(app)) == 1


# -- signatures ---------------------------------------------------------------------------


async def test_a_missing_signature_is_refused_and_nothing_is_stored(app):
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, fixture("inbound_text"), secret=None)
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "unauthorized"
    assert await timeline(app) == {}


async def test_a_signature_made_with_another_secret_is_refused(app):
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, fixture("inbound_text"), secret="not-the-app-secret")
    assert answer.status_code == 401
    assert await timeline(app) == {}


async def test_the_signature_of_another_body_is_refused(app):
    channel_id = await add_channel(app)
    payload = fixture("inbound_text")
    tampered = copy.deepcopy(payload)
    message_of(tampered)["text"]["body"] = "Transfira R$ 500"
    body = json.dumps(tampered).encode()
    headers = {SIGNATURE: sign(json.dumps(payload).encode()), "Content-Type": "application/json"}
    answer = await app.post(f"/webhooks/whatsapp/cloud/{channel_id}", content=body, headers=headers)
    assert answer.status_code == 401
    assert await timeline(app) == {}


@pytest.mark.parametrize(
    "header",
    [
        "",
        "sha256=",
        "sha1=abc",
        "sha256=zz",
        "SHA256=" + "0" * 64,
        ("sha256=" + "é" * 64).encode("latin-1"),
    ],
)
async def test_malformed_signatures_are_refused(app, header):
    channel_id = await add_channel(app)
    body = json.dumps(fixture("inbound_text")).encode()
    answer = await app.post(
        f"/webhooks/whatsapp/cloud/{channel_id}",
        content=body,
        headers={SIGNATURE: header, "Content-Type": "application/json"},
    )
    assert answer.status_code == 401


async def test_the_raw_bytes_are_signed_not_the_parsed_json(app):
    # Meta signs its escaped-unicode serialization: the route must hash the bytes as sent.
    channel_id = await add_channel(app)
    body = json.dumps(fixture("inbound_reaction"), ensure_ascii=True, indent=3).encode()
    answer = await deliver(app, channel_id, None, raw=body)
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["outcome"] == "stored"


async def test_a_signed_body_that_is_not_json_is_a_400_problem(app):
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, None, raw=b'{"entry": [')
    assert answer.status_code == 400
    assert answer.json()["code"] == "bad_request"


async def test_an_unknown_channel_is_404(app):
    answer = await deliver(app, "nope", fixture("inbound_text"))
    assert answer.status_code == 404


async def test_a_simulator_channel_is_not_a_cloud_channel(app):
    simulator = (await app.get("/api/v1/channels", headers=AUTH)).json()[0]["id"]
    assert (await deliver(app, simulator, fixture("inbound_text"))).status_code == 404


async def test_an_inactive_channel_answers_200_and_records_nothing(app):
    channel_id = await add_channel(app)
    patched = await app.patch(
        f"/api/v1/channels/{channel_id}", json={"active": False}, headers=AUTH
    )
    assert patched.status_code == 200, patched.text
    answer = await deliver(app, channel_id, fixture("inbound_text"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"] == [
        {"outcome": "ignored", "message_id": None, "detail": "channel is inactive"}
    ]
    # ... but only with a valid signature.
    assert (await deliver(app, channel_id, fixture("inbound_text"), secret="x")).status_code == 401
    assert await timeline(app) == {}


async def test_a_removed_channel_answers_200_and_records_nothing(app):
    channel_id = await add_channel(app)
    assert (await app.delete(f"/api/v1/channels/{channel_id}", headers=AUTH)).status_code == 204
    answer = await deliver(app, channel_id, fixture("inbound_text"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["outcome"] == "ignored"
    assert await timeline(app) == {}


async def test_the_routes_need_no_bearer_token(app):
    channel_id = await add_channel(app)
    body = json.dumps(fixture("inbound_text")).encode()
    answer = await app.post(
        f"/webhooks/whatsapp/cloud/{channel_id}",
        content=body,
        headers={SIGNATURE: sign(body), "Authorization": "Bearer wrong"},
    )
    assert answer.status_code == 200


# -- handshake ----------------------------------------------------------------------------


def hub(mode="subscribe", token=VERIFY, challenge="1158201444"):
    return {"hub.mode": mode, "hub.verify_token": token, "hub.challenge": challenge}


async def test_the_handshake_echoes_the_challenge(app):
    channel_id = await add_channel(app)
    answer = await app.get(f"/webhooks/whatsapp/cloud/{channel_id}", params=hub())
    assert answer.status_code == 200
    assert answer.text == "1158201444"
    assert answer.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        hub(token="wrong"),
        hub(mode="unsubscribe"),
        {"hub.mode": "subscribe", "hub.challenge": "1"},
        {"hub.mode": "subscribe", "hub.verify_token": VERIFY},
        {},
    ],
)
async def test_a_wrong_handshake_is_403(app, params):
    channel_id = await add_channel(app)
    answer = await app.get(f"/webhooks/whatsapp/cloud/{channel_id}", params=params)
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


async def test_no_handshake_without_a_verify_token(app):
    channel_id = await add_channel(app, webhook_verify_token=None)
    answer = await app.get(f"/webhooks/whatsapp/cloud/{channel_id}", params=hub(token=""))
    assert answer.status_code == 403


async def test_the_handshake_of_an_unknown_channel_is_404(app):
    assert (await app.get("/webhooks/whatsapp/cloud/nope", params=hub())).status_code == 404


# -- what the fixtures do not show ---------------------------------------------------------


def with_message(message: dict[str, Any], *, contacts: Any = None) -> dict[str, Any]:
    payload = fixture("inbound_text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"] = [message]
    if contacts is not None:
        value["contacts"] = contacts
    return payload


async def test_a_click_to_whatsapp_ad_keeps_its_referral(app):
    referral = {
        "source_url": "https://fb.me/abc",
        "source_id": "120212345",
        "source_type": "ad",
        "headline": "Clareamento dental",
        "body": "Agende sua avaliação",
        "media_type": "image",
        "image_url": "https://example.com/ad.jpg",
        "ctwa_clid": "ARAkx-clid",
    }
    message = {
        "from": "16505551234",
        "id": "wamid.ctwa",
        "timestamp": "1750000000",
        "type": "text",
        "text": {"body": "Quero saber o preço"},
        "referral": referral,
    }
    channel_id = await add_channel(app)
    assert (await deliver(app, channel_id, with_message(message))).status_code == 200
    _, stored_message = (await timeline(app))["wamid.ctwa"]
    assert stored_message["body"] == "Quero saber o preço"
    assert stored_message["extra"]["referral"] == referral


async def test_an_unsupported_message_keeps_its_errors_and_raw_payload(app, container):
    message = {
        "from": "16505551234",
        "id": "wamid.unsupported",
        "timestamp": "1750000000",
        "type": "unsupported",
        "errors": [
            {
                "code": 131051,
                "title": "Message type unknown",
                "message": "Message type unknown",
                "error_data": {"details": "Message type is currently not supported."},
            }
        ],
    }
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, with_message(message))
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    _, shown = (await timeline(app))["wamid.unsupported"]
    assert shown["kind"] == "unsupported"
    assert shown["extra"]["errors"] == [
        {
            "code": 131051,
            "title": "Message type unknown",
            "details": "Message type is currently not supported.",
        }
    ]
    assert (await stored(container, app, channel_id, "wamid.unsupported")).raw == message


async def test_a_kind_porfin_does_not_model_is_unsupported_with_its_payload(app, container):
    message = {
        "from": "16505551234",
        "id": "wamid.order",
        "timestamp": "1750000000",
        "type": "order",
        "order": {"catalog_id": "1", "product_items": [{"product_retailer_id": "x"}]},
    }
    channel_id = await add_channel(app)
    await deliver(app, channel_id, with_message(message))
    kept = await stored(container, app, channel_id, "wamid.order")
    assert (kept.kind, kept.extra["type"], kept.raw) == ("unsupported", "order", message)


@pytest.mark.parametrize(
    "content",
    [
        {"type": "text", "text": {"body": 42}},
        {"type": "text", "text": "plain"},
        {"type": "image", "image": ["1003383421387256"]},
        {"type": "location", "location": {"latitude": "north", "longitude": 1}},
        {"type": "interactive", "interactive": {"type": "button_reply", "button_reply": None}},
        {"type": "contacts", "contacts": {"name": "x"}},
        {"type": "reaction", "reaction": {"emoji": "👍"}},
        {"type": 7},
    ],
)
async def test_fields_of_unexpected_types_are_stored_as_unsupported(app, container, content):
    message = {"from": "16505551234", "id": "wamid.odd", "timestamp": "x", **content}
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, with_message(message))
    assert answer.status_code == 200, answer.text
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    kept = await stored(container, app, channel_id, "wamid.odd")
    assert kept.kind == "unsupported"
    assert kept.raw == message


async def test_a_system_message_attaches_the_new_number(app):
    message = {
        "from": "16505551234",
        "id": "wamid.system",
        "timestamp": "1750000000",
        "type": "system",
        "system": {
            "body": "Sheena changed from 16505551234 to 16505559999",
            "new_wa_id": "16505559999",
            "type": "user_changed_number",
        },
    }
    channel_id = await add_channel(app)
    await deliver(app, channel_id, with_message(message))
    chat, shown = (await timeline(app))["wamid.system"]
    assert shown["kind"] == "unsupported" and shown["extra"]["type"] == "system"
    assert shown["body"].startswith("Sheena changed")
    customer = (await app.get(f"/api/v1/customers/{chat['customer_id']}", headers=AUTH)).json()
    assert {"kind": "wa_id", "value": "16505559999"} in customer["identities"]
    # The next message from the new number lands on the same customer.
    text = {"from": "16505559999", "id": "wamid.new", "timestamp": "1750000001", "type": "text"}
    text["text"] = {"body": "oi"}
    contacts = [{"profile": {"name": "Sheena"}, "wa_id": "16505559999"}]
    await deliver(app, channel_id, with_message(text, contacts=contacts))
    assert (await timeline(app))["wamid.new"][0]["customer_id"] == chat["customer_id"]


async def test_a_username_user_without_a_phone_is_known_by_bsuid(app):
    message = {
        "from_user_id": "BR.1234567890",
        "id": "wamid.bsuid",
        "timestamp": "1750000000",
        "type": "text",
        "text": {"body": "Olá, sou usuária sem número"},
    }
    contacts = [{"profile": {"name": "Bia"}, "user_id": "BR.1234567890"}]
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, with_message(message, contacts=contacts))
    assert answer.json()["outcomes"][0]["outcome"] == "stored"
    chat, _ = (await timeline(app))["wamid.bsuid"]
    assert chat["customer_phone"] is None and chat["customer_name"] == "Bia"
    customer = (await app.get(f"/api/v1/customers/{chat['customer_id']}", headers=AUTH)).json()
    assert customer["identities"] == [{"kind": "bsuid", "value": "BR.1234567890"}]


async def test_a_message_without_any_identity_is_ignored_not_a_5xx(app, caplog):
    message = {"id": "wamid.nobody", "timestamp": "1", "type": "text", "text": {"body": "?"}}
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, with_message(message, contacts=[]))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["outcome"] == "ignored"
    assert "wamid.nobody" in caplog.text  # the raw payload is in the log, not lost


async def test_value_level_errors_and_other_fields_are_acknowledged(app, caplog):
    payload = fixture("inbound_text")
    value = payload["entry"][0]["changes"][0]["value"]
    del value["messages"], value["contacts"]
    value["errors"] = [
        {
            "code": 130429,
            "title": "Rate limit hit",
            "message": "(#130429) Rate limit hit",
            "error_data": {"details": "Cloud API message throughput has been reached."},
        }
    ]
    payload["entry"].append({"id": "1", "changes": [{"field": "account_update", "value": {}}]})
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, payload)
    assert answer.status_code == 200
    outcomes = answer.json()["outcomes"]
    assert [o["outcome"] for o in outcomes] == ["ignored", "ignored"]
    assert "130429" in outcomes[0]["detail"]
    assert "throughput" in caplog.text


async def test_a_change_for_another_number_is_not_stored_on_this_channel(app):
    channel_id = await add_channel(app, phone_number_id="999")
    answer = await deliver(app, channel_id, fixture("inbound_text"))
    assert answer.status_code == 200
    assert answer.json()["outcomes"][0]["outcome"] == "ignored"
    assert await timeline(app) == {}


@pytest.mark.parametrize(
    "payload", [[], "x", 1, None, {"object": "x"}, {"entry": [1, {"changes": 2}]}]
)
async def test_well_formed_json_of_any_shape_is_acknowledged(app, payload):
    channel_id = await add_channel(app)
    answer = await deliver(app, channel_id, payload)
    assert answer.status_code == 200
    assert {o["outcome"] for o in answer.json()["outcomes"]} == {"ignored"}
