"""The Cloud API webhook parser: pure, and it never raises whatever JSON it is given."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from porfin_adapters.whatsapp_cloud.webhook import (
    Ignored,
    InboundMessage,
    StatusUpdate,
    handshake_answer,
    parse_webhook,
    sign,
    signature_valid,
)
from porfin_core.domain.customer import Identity, IdentityKind
from tests.support import vendor_fixtures

FIXTURES = vendor_fixtures("whatsapp_cloud")
# Meta's documented example (M-WH-EP) cannot be recomputed without its secret; this pins ours.
KNOWN = "sha256=5e2c0e6cf6bd0b1d8a6b7ed4f9ee9a6ef7ad4c0f9d64e93e30e23f52c4a3a5f5"


def test_the_signature_is_the_hmac_of_the_raw_bytes():
    body = b'{"a": "\\u00e9"}'
    assert signature_valid(body, sign(body, "s"), "s")
    assert signature_valid(body, sign(body, "s").upper().replace("SHA256=", "sha256="), "s")
    assert not signature_valid('{"a": "é"}'.encode(), sign(body, "s"), "s")
    assert not signature_valid(body, sign(body, "s"), "")
    assert not signature_valid(body, None, "s")
    assert not signature_valid(body, KNOWN, "s")


def test_the_handshake_needs_subscribe_and_the_token():
    assert handshake_answer("subscribe", "t", "42", "t") == "42"
    assert handshake_answer("subscribe", "x", "42", "t") is None
    assert handshake_answer("subscribe", "", "42", "") is None
    assert handshake_answer("unsubscribe", "t", "42", "t") is None
    assert handshake_answer("subscribe", "t", None, "t") is None


def test_every_fixture_parses_into_one_event_of_its_kind():
    for path in sorted(FIXTURES.glob("inbound_*.json")) + sorted(FIXTURES.glob("status_*.json")):
        events = parse_webhook(json.loads(path.read_text()), phone_number_id=None)
        expected = InboundMessage if path.stem.startswith("inbound") else StatusUpdate
        assert [type(e) for e in events] == [expected], path.stem


def test_a_wa_id_is_an_international_number():
    payload = json.loads((FIXTURES / "inbound_text.json").read_text())
    (message,) = parse_webhook(payload)
    assert isinstance(message, InboundMessage)
    assert message.sender == [Identity(IdentityKind.WA_ID, "16505551234")]
    assert message.sender_name == "Sheena Nelson"


def test_a_wa_id_that_is_no_phone_is_dropped_not_fatal():
    payload = json.loads((FIXTURES / "inbound_text.json").read_text())
    value = payload["entry"][0]["changes"][0]["value"]
    value["messages"][0]["from"] = "0"
    value["contacts"] = [{"profile": {"name": "X"}, "wa_id": "0", "user_id": "BR.9"}]
    (message,) = parse_webhook(payload)
    assert isinstance(message, InboundMessage)
    assert message.sender == [Identity(IdentityKind.BSUID, "BR.9")]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "entry",
                    "changes",
                    "value",
                    "field",
                    "messages",
                    "statuses",
                    "contacts",
                    "errors",
                    "id",
                    "from",
                    "type",
                    "text",
                    "body",
                    "image",
                    "status",
                    "timestamp",
                    "context",
                    "interactive",
                    "button_reply",
                    "location",
                    "latitude",
                    "reaction",
                    "system",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_parses_without_raising(payload):
    for event in parse_webhook(payload, phone_number_id="1"):
        assert isinstance(event, InboundMessage | StatusUpdate | Ignored)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(p.name for p in FIXTURES.glob("inbound_*.json"))), json_values)
def test_a_fixture_with_any_content_in_place_of_its_kind_never_raises(name, content):
    payload = json.loads((FIXTURES / name).read_text())
    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
    message[message["type"]] = content
    (event,) = parse_webhook(payload)
    assert isinstance(event, InboundMessage)
    assert event.raw is None or event.raw == message
