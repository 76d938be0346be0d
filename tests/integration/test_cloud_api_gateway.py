"""The Cloud API gateway against a fake Graph API on 127.0.0.1: every send kind has the body
of Meta's documented request, errors carry the right retry class, media travels both ways
with its hash checked, and pacing holds its rate."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from porfin_adapters.memory.media import MemoryMediaStore
from porfin_adapters.memory.secrets import MemorySecretStore
from porfin_adapters.whatsapp_cloud.gateway import CloudApiGateway
from porfin_adapters.whatsapp_cloud.graph import GraphClient, classify
from porfin_adapters.whatsapp_cloud.media import CloudApiMedia
from porfin_adapters.whatsapp_cloud.pacing import CloudApiPacer
from porfin_core.domain.channel import Channel, Provider
from porfin_core.domain.media import MediaKind, StoredMedia
from porfin_core.domain.message import (
    Author,
    DeliveryStatus,
    Direction,
    MediaRef,
    Message,
    MessageKind,
)
from porfin_core.errors import GatewayError, PayloadTooLarge
from tests.fakes.graph_api import TOKEN, GraphApiFake, fixture
from tests.support import FixedClock, SequentialIds

PHONE_NUMBER_ID = "106540352242922"
PATIENT = "+5511987654321"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphApiFake]:
    with GraphApiFake.serving() as fake:
        yield fake


@pytest.fixture
def fake(graph_server) -> GraphApiFake:
    graph_server.reset()
    return graph_server


class FakeTime:
    """A monotonic clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
async def world(fake):
    secrets = MemorySecretStore()
    ref = await secrets.put("cloud-token", TOKEN)
    clock = FixedClock()
    channel = Channel(
        id="ch1",
        clinic_id="clinica",
        name="Recepção",
        provider=Provider.CLOUD_API,
        external_ids={"phone_number_id": PHONE_NUMBER_ID, "waba_id": "102290129340398"},
        settings={"api_version": "v23.0"},
        secrets={"access_token": ref},
        created_at=clock.now(),
    )
    graph = GraphClient(secrets, base_url=fake.url)
    store = MemoryMediaStore()
    media = CloudApiMedia(graph, store, clock, SequentialIds("media"))
    time = FakeTime()
    pacer = CloudApiPacer(monotonic=time.monotonic, sleep=time.sleep)
    gateway = CloudApiGateway(graph, media, pacer)
    yield {
        "channel": channel,
        "gateway": gateway,
        "media": media,
        "store": store,
        "graph": graph,
        "time": time,
        "clock": clock,
    }
    await graph.aclose()


def outbound(kind: MessageKind, clock=None, **fields: Any) -> Message:
    at = (clock or FixedClock()).now()
    return Message(
        id="msg1",
        clinic_id="clinica",
        chat_id="chat1",
        channel_id="ch1",
        direction=Direction.OUTBOUND,
        author=Author.STAFF,
        kind=kind,
        status=DeliveryStatus.PENDING,
        created_at=at,
        **fields,
    )


def _template_extra(name: str) -> dict[str, Any]:
    template = fixture(name)["template"]
    return {
        "name": template["name"],
        "language": template["language"]["code"],
        "components": template["components"],
    }


_LIST = fixture("send_interactive_list_request.json")["interactive"]
_BUTTONS = fixture("send_interactive_reply_buttons_request.json")["interactive"]

CASES: dict[str, Message] = {
    "send_text_request.json": outbound(MessageKind.TEXT, body="text-message-content"),
    "send_text_reply_with_context_request.json": outbound(
        MessageKind.TEXT, body="<TEXT_MSG_CONTENT>", reply_to_provider_id="<MSGID_OF_PREV_MSG>"
    ),
    "send_image_by_id_request.json": outbound(
        MessageKind.IMAGE,
        media=MediaRef(mime_type="image/jpeg", provider_media_id="<IMAGE_OBJECT_ID>"),
    ),
    "send_image_by_link_request.json": outbound(
        MessageKind.IMAGE, media=MediaRef(mime_type="image/jpeg", url="http(s)://image-url")
    ),
    "send_document_by_id_request.json": outbound(
        MessageKind.DOCUMENT,
        media=MediaRef(
            mime_type="application/pdf",
            provider_media_id="<DOCUMENT_OBJECT_ID>",
            caption="<DOCUMENT_CAPTION_TO_SEND>",
            filename="<DOCUMENT_FILENAME>",
        ),
    ),
    "send_document_by_link_request.json": outbound(
        MessageKind.DOCUMENT,
        media=MediaRef(url="<http(s)://document-url>", caption="<DOCUMENT-CAPTION-TEXT>"),
    ),
    "send_audio_by_id_request.json": outbound(
        MessageKind.AUDIO,
        media=MediaRef(mime_type="audio/mpeg", provider_media_id="<AUDIO_OBJECT_ID>"),
    ),
    "send_video_by_link_request.json": outbound(
        MessageKind.VIDEO,
        media=MediaRef(url="<http(s)://video-url>", caption="<VIDEO_CAPTION_TEXT>"),
    ),
    "send_location_request.json": outbound(
        MessageKind.LOCATION, extra=fixture("send_location_request.json")["location"]
    ),
    "send_template_text_params_request.json": outbound(
        MessageKind.TEMPLATE, extra=_template_extra("send_template_text_params_request.json")
    ),
    "send_template_media_header_request.json": outbound(
        MessageKind.TEMPLATE, extra=_template_extra("send_template_media_header_request.json")
    ),
    "send_template_pt_BR_request.json": outbound(
        MessageKind.TEMPLATE,
        extra={
            "name": "mensagem_teste_vacina",
            "components": fixture("send_template_pt_BR_request.json")["template"]["components"],
        },
    ),
    "send_interactive_reply_buttons_request.json": outbound(
        MessageKind.INTERACTIVE,
        body=_BUTTONS["body"]["text"],
        extra={"type": "button", "buttons": [b["reply"] for b in _BUTTONS["action"]["buttons"]]},
    ),
    "send_interactive_list_request.json": outbound(
        MessageKind.INTERACTIVE,
        body=_LIST["body"]["text"],
        extra={
            "type": "list",
            "header": _LIST["header"]["text"],
            "footer": _LIST["footer"]["text"],
            "button": _LIST["action"]["button"],
            "sections": _LIST["action"]["sections"],
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
async def test_every_send_kind_has_the_documented_request_body(world, fake, name):
    receipt = await world["gateway"].send(world["channel"], PATIENT, CASES[name])

    expected = fixture(name)
    expected["to"] = PATIENT
    # The real pt_BR request omits recipient_type; "individual" is its documented default.
    expected.setdefault("recipient_type", "individual")
    # Porfin's message id rides along and comes back in the status webhooks.
    expected["biz_opaque_callback_data"] = CASES[name].id
    assert fake.sent() == [expected]
    request = fake.requests[-1]
    assert request.path == f"/v23.0/{PHONE_NUMBER_ID}/messages"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert receipt.provider_message_id.startswith("wamid.FAKE")
    assert receipt.recipient_id == PATIENT.lstrip("+")


async def test_voice_notes_reactions_and_bsuids(world, fake):
    gateway, channel = world["gateway"], world["channel"]
    voice = outbound(
        MessageKind.AUDIO, media=MediaRef(mime_type="audio/ogg", provider_media_id="777")
    )
    reaction = outbound(
        MessageKind.REACTION, extra={"message_id": "wamid.IN1", "emoji": "\U0001f44d"}
    )
    await gateway.send(channel, PATIENT, voice)
    await gateway.send(channel, PATIENT, reaction)
    await gateway.send(channel, "US.13491208655302741918", outbound(MessageKind.TEXT, body="oi"))

    voice_body, reaction_body, bsuid_body = fake.sent()
    assert voice_body["audio"] == {"id": "777", "voice": True}
    assert reaction_body["reaction"] == {"message_id": "wamid.IN1", "emoji": "\U0001f44d"}
    assert "to" not in bsuid_body and bsuid_body["recipient"] == "US.13491208655302741918"


@pytest.mark.parametrize(
    ("typing", "name"),
    [
        (False, "mark_as_read_request.json"),
        (True, "mark_as_read_with_typing_indicator_request.json"),
    ],
)
async def test_mark_as_read_with_and_without_typing(world, fake, typing, name):
    expected = fixture(name)
    await world["gateway"].mark_as_read(world["channel"], expected["message_id"], typing=typing)
    assert fake.requests[-1].json == expected


async def test_a_message_the_gateway_cannot_express_fails_for_good(world, fake):
    with pytest.raises(GatewayError) as caught:
        await world["gateway"].send(
            world["channel"], PATIENT, outbound(MessageKind.INTERACTIVE, body="x", extra={})
        )
    assert caught.value.retryable is False
    assert caught.value.fields["provider_code"] == "invalid_message"
    assert fake.requests == []


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "retryable", "code", "reason"),
    [
        ("130429", True, "130429", "throughput"),
        ("131056", True, "131056", "too many messages to this patient"),
        ("4", True, "4", "call limit"),
        ("500", True, "2", "temporarily unavailable"),
        ("502", True, "http_502", "HTTP 502"),
        ("131047", False, "131047", "24-hour window is closed"),
        ("131026", False, "131026", "could not deliver"),
        ("132001", False, "132001", "template does not exist"),
        ("190", False, "190", "access token"),
        ("100", False, "100", "parameters"),
    ],
)
async def test_graph_errors_map_to_a_retry_class_and_a_reason(
    world, fake, failure, retryable, code, reason
):
    fake.fail_next(failure)
    with pytest.raises(GatewayError) as caught:
        await world["gateway"].send(world["channel"], PATIENT, CASES["send_text_request.json"])
    error = caught.value
    assert error.retryable is retryable
    assert error.fields["provider_code"] == code
    assert reason in error.message and error.fields["reason"] == error.message
    assert error.fields["provider"] == "cloud_api"


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        *[(80007, True), (2, True), (131000, True), (131016, True)],
        *[(368, False), (131051, False), (132000, False), (131047, False), (190, False)],
        (100, False),
    ],
)
def test_documented_codes_are_classified_as_the_reference_says(code, retryable):
    body = {"error": {"code": code, "message": "x", "error_data": {"details": "why"}}}
    error = classify(body, 400)
    assert error.retryable is retryable
    assert error.fields["details"] == "why"


def test_unknown_codes_follow_is_transient_and_the_status():
    assert classify({"error": {"code": 999, "is_transient": True}}, 400).retryable
    assert not classify({"error": {"code": 999}}, 400).retryable
    assert classify({"error": {"code": 999}}, 503).retryable
    assert classify(None, 429).retryable


async def test_an_unreachable_server_is_retryable_and_safe_to_resend(world):
    secrets = MemorySecretStore()
    channel = world["channel"]
    channel.secrets["access_token"] = await secrets.put("t", TOKEN)
    with socket_closed_port() as url:
        graph = GraphClient(secrets, base_url=url)
        with pytest.raises(GatewayError) as caught:
            await graph.call(channel, "POST", "1/messages", operation="send", json={})
        await graph.aclose()
    assert caught.value.retryable and caught.value.fields["delivery_unknown"] is False


async def test_a_lost_answer_is_retryable_but_flagged_as_maybe_delivered(world):
    secrets = MemorySecretStore()
    channel = world["channel"]
    channel.secrets["access_token"] = await secrets.put("t", TOKEN)
    with silent_server() as url:
        graph = GraphClient(secrets, base_url=url, timeout=0.2)
        with pytest.raises(GatewayError) as caught:
            await graph.call(channel, "POST", "1/messages", operation="send", json={})
        await graph.aclose()
    assert caught.value.retryable and caught.value.fields["delivery_unknown"] is True
    assert caught.value.fields["provider_code"] == "timeout"


async def test_a_channel_without_a_token_fails_for_good(world, fake):
    channel = world["channel"]
    del channel.secrets["access_token"]
    with pytest.raises(GatewayError) as caught:
        await world["gateway"].send(channel, PATIENT, CASES["send_text_request.json"])
    assert caught.value.retryable is False and caught.value.fields["provider_code"] == "190"


# -- media ---------------------------------------------------------------------------------


async def _stored_jpeg(store: MemoryMediaStore, clock: FixedClock) -> StoredMedia:
    media = StoredMedia(
        id="up1",
        clinic_id="clinica",
        kind=MediaKind.IMAGE,
        mime_type="image/jpeg",
        size=len(JPEG),
        sha256=hashlib.sha256(JPEG).hexdigest(),
        filename="raio-x.jpg",
        created_at=clock.now(),
    )
    await store.put(media, JPEG)
    return media


async def test_an_attachment_is_uploaded_once_and_sent_by_id(world, fake):
    stored = await _stored_jpeg(world["store"], world["clock"])
    message = outbound(
        MessageKind.IMAGE,
        media=MediaRef(mime_type="image/jpeg", caption="Seu exame", stored_path=stored.id),
    )
    await world["gateway"].send(world["channel"], PATIENT, message)
    await world["gateway"].send(world["channel"], PATIENT, message)

    uploads = [r for r in fake.requests if r.path.endswith("/media")]
    assert len(uploads) == 1
    assert uploads[0].path == f"/v23.0/{PHONE_NUMBER_ID}/media"
    assert uploads[0].form == {"messaging_product": "whatsapp", "type": "image/jpeg"}
    assert uploads[0].file == ("raio-x.jpg", JPEG, "image/jpeg")
    media_id = fake.requests[-1].json["image"]["id"]
    assert fake.sent()[0]["image"] == {"id": media_id, "caption": "Seu exame"}
    assert fake.files[media_id].data == JPEG


async def test_a_patients_file_is_downloaded_checked_and_stored(world, fake):
    fake.add_file("2621233374848975", JPEG, "image/jpeg")
    stored = await world["media"].fetch(world["channel"], "2621233374848975")
    assert (stored.kind, stored.mime_type, stored.size) == (
        MediaKind.IMAGE,
        "image/jpeg",
        len(JPEG),
    )
    assert stored.sha256 == hashlib.sha256(JPEG).hexdigest()
    assert await world["store"].read("clinica", stored.id) == JPEG
    retrieve, download = fake.requests
    assert retrieve.path == "/v23.0/2621233374848975"
    assert download.headers["authorization"] == f"Bearer {TOKEN}"


async def test_a_hex_sha256_is_accepted_too(world, fake):
    fake.add_file("1", JPEG, "image/jpeg", sha256=hashlib.sha256(JPEG).hexdigest())
    stored = await world["media"].fetch(world["channel"], "1", filename="../../etc/exame.jpg")
    assert stored.filename == "exame.jpg"


async def test_a_damaged_download_is_refused(world, fake):
    wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    fake.add_file("2", JPEG, "image/jpeg", sha256=wrong)
    with pytest.raises(GatewayError) as caught:
        await world["media"].fetch(world["channel"], "2")
    assert caught.value.fields["provider_code"] == "sha256_mismatch"
    assert caught.value.retryable is True


async def test_oversize_media_is_refused_before_downloading(world, fake):
    fake.add_file("3", JPEG, "image/jpeg", file_size=5_000_001)
    with pytest.raises(PayloadTooLarge) as caught:
        await world["media"].fetch(world["channel"], "3")
    assert caught.value.fields["max_bytes"] == 5_000_000
    assert not any(r.path.startswith("/download/") for r in fake.requests)


async def test_oversize_media_is_refused_while_downloading(world, fake):
    sticker = b"RIFF" + b"\x00" * 600_000
    fake.add_file("4", sticker, "image/webp", file_size=1000)  # Meta under-announced it
    with pytest.raises(PayloadTooLarge):
        await world["media"].fetch(world["channel"], "4")


# -- pacing --------------------------------------------------------------------------------


def _max_in_any_window(times: list[float], width: float) -> int:
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= width - 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [80, 1000])
async def test_the_number_rate_holds_exactly(rate):
    time = FakeTime()
    pacer = CloudApiPacer(rate, monotonic=time.monotonic, sleep=time.sleep)
    start = time.now
    times = []
    for i in range(rate * 3):
        await pacer.wait_turn("pn1", f"+55119{i:08d}")
        times.append(time.now - start)
    assert _max_in_any_window(times, 1.0) == rate
    assert times[-1] == pytest.approx((rate * 3 - 1) / rate)


async def test_concurrent_senders_get_consecutive_slots():
    time = FakeTime()
    woke: list[float] = []

    async def sleep(seconds: float) -> None:
        woke.append(time.now + seconds)  # every task asked at the same instant

    pacer = CloudApiPacer(80, monotonic=time.monotonic, sleep=sleep)
    await asyncio.gather(*(pacer.wait_turn("pn1", f"+{i}") for i in range(160)))
    assert sorted(woke) == pytest.approx([time.now + k / 80 for k in range(1, 160)])


async def test_one_patient_gets_a_burst_then_one_message_every_six_seconds():
    time = FakeTime()
    pacer = CloudApiPacer(monotonic=time.monotonic, sleep=time.sleep)
    start = time.now
    times = []
    for _ in range(9):
        await pacer.wait_turn("pn1", PATIENT)
        times.append(round(time.now - start, 6))
    # Six at once (12.5 ms apart: the number's own 80 msg/s), then one every 6 s.
    assert times == pytest.approx([0, 0.0125, 0.025, 0.0375, 0.05, 0.0625, 6, 12, 18])
    # Another patient of the same number is not held up.
    before = time.now
    await pacer.wait_turn("pn1", "+5521998765432")
    assert time.now - before == pytest.approx(0.0125)  # only the number's own spacing


async def test_a_channel_may_set_its_own_rate(world, fake):
    world["channel"].settings["messages_per_second"] = "10"
    for i in range(3):
        await world["gateway"].send(
            world["channel"], f"+55119876543{i:02d}", CASES["send_text_request.json"]
        )
    assert world["time"].sleeps == pytest.approx([0.1, 0.1])


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback URL that accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@contextmanager
def socket_closed_port() -> Iterator[str]:
    """A loopback URL nobody listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    yield f"http://127.0.0.1:{port}"
