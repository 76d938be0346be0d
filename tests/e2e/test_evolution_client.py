"""The Evolution client and gateway against a fake Evolution server: bodies exactly as the
documented requests, answers parsed, errors classified."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from porfin_adapters.evolution.client import EvolutionClient
from porfin_adapters.evolution.gateway import EvolutionGateway, evolution_number, numbered_menu
from porfin_adapters.memory.media import MemoryMediaStore
from porfin_adapters.memory.secrets import MemorySecretStore
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
from porfin_core.errors import GatewayError
from tests.fakes.evolution_api import FakeEvolution, fixture, serve

NOW = datetime(2025, 5, 2, 12, 0, tzinfo=UTC)
NUMBER = "5511999999999"


@pytest.fixture
def evolution():
    yield from serve(FakeEvolution())


@pytest.fixture
async def client(evolution):
    async with EvolutionClient(evolution.url, evolution.fake.api_key, timeout=2) as c:
        yield c


def last_body(evolution):
    return evolution.fake.requests[-1].body


async def test_send_text_matches_the_documented_request(client, evolution):
    sent = await client.send_text(
        "clinica", NUMBER, "Olá, essa é uma mensagem de texto!", delay=1000, link_preview=True
    )
    assert last_body(evolution) == fixture("send_text_request")
    request = evolution.fake.requests[-1]
    assert request.path == "/message/sendText/clinica"
    assert request.headers["apikey"] == evolution.fake.api_key
    answer = fixture("send_text_response")
    assert sent.id == answer["key"]["id"]
    assert sent.remote_jid == answer["key"]["remoteJid"]
    assert sent.status == "PENDING"


async def test_every_send_matches_its_documented_request(client, evolution):
    media = await client.send_media(
        "clinica",
        NUMBER,
        mediatype="image",
        media="https://example.com/image.jpg",
        caption="Legenda da imagem",
        file_name="imagem.jpg",
    )
    assert last_body(evolution) == fixture("send_media_image_request")
    assert media.id == fixture("send_media_image_response")["key"]["id"]

    audio = await client.send_whatsapp_audio("clinica", NUMBER, "https://example.com/audio.mp3")
    assert last_body(evolution) == fixture("send_whatsapp_audio_request")
    assert audio.id == fixture("send_whatsapp_audio_response")["key"]["id"]

    location = await client.send_location(
        "clinica",
        NUMBER,
        latitude=-23.550520,
        longitude=-46.633308,
        name="Nome do Local",
        address="Endereço completo",
    )
    assert last_body(evolution) == fixture("send_location_request")
    assert location.id == fixture("send_location_response")["key"]["id"]

    await client.send_reaction(
        "clinica",
        remote_jid="5511999999999@s.whatsapp.net",
        message_id="MESSAGE_ID",
        from_me=False,
        reaction="👍",
    )
    assert last_body(evolution) == fixture("send_reaction_request")

    listed = fixture("send_list_request")
    await client.send_list(
        "clinica",
        NUMBER,
        title=listed["title"],
        description=listed["description"],
        button_text=listed["buttonText"],
        footer_text=listed["footerText"],
        sections=listed["sections"],
    )
    assert last_body(evolution) == listed

    buttons = fixture("send_buttons_request")
    await client.send_buttons(
        "clinica",
        NUMBER,
        title=buttons["title"],
        description=buttons["description"],
        footer=buttons["footer"],
        buttons=buttons["buttons"],
    )
    assert last_body(evolution) == buttons

    await client.mark_as_read("clinica", remote_jid="5511999999999@s.whatsapp.net", message_id="X")
    assert last_body(evolution) == {
        "readMessages": [{"remoteJid": "5511999999999@s.whatsapp.net", "fromMe": False, "id": "X"}]
    }
    numbers = await client.whatsapp_numbers("clinica", ["5531998296801"])
    assert numbers[0].exists and numbers[0].jid == "553198296801@s.whatsapp.net"


async def test_instance_lifecycle(client, evolution):
    created = await client.create_instance("nova", token="t0k3n", webhook={"url": "https://x"})
    assert created["instance"]["instanceName"] == "nova"
    assert last_body(evolution) == {
        "instanceName": "nova",
        "integration": "WHATSAPP-BAILEYS",
        "token": "t0k3n",
        "qrcode": True,
        "webhook": {"url": "https://x"},
    }
    qr = await client.connect("nova", number="5511987654321")
    assert evolution.fake.requests[-1].query == "number=5511987654321"
    assert qr.pairing_code == fixture("instance_connect_response")["pairingCode"]
    assert qr.code == fixture("instance_connect_response")["code"]
    assert qr.base64 and qr.base64.startswith("data:image/png;base64,")
    assert await client.connection_state("nova") == "connecting"
    evolution.fake.instances["nova"] = "open"
    assert await client.connection_state("nova") == "open"
    assert (await client.connect("nova")).state == "open"
    await client.restart("nova")
    assert evolution.fake.requests[-1].method == "POST"
    await client.logout("nova")
    assert evolution.fake.requests[-1].method == "DELETE"
    assert evolution.fake.instances["nova"] == "close"
    hook = await client.set_webhook(
        "nova", "https://porfin/webhooks", headers={"authorization": "Bearer s"}, events=["A"]
    )
    assert hook == fixture("webhook_set_response")
    assert last_body(evolution)["webhook"]["headers"] == {"authorization": "Bearer s"}


async def test_errors_are_classified_with_a_clear_reason(client, evolution):
    with pytest.raises(GatewayError) as unknown:
        await client.send_text("invalid-instance", NUMBER, "oi")
    assert not unknown.value.retryable
    assert 'The "invalid-instance" instance does not exist' in unknown.value.message
    assert "404" in unknown.value.message

    with pytest.raises(GatewayError) as taken:
        await client.create_instance("clinica")
    assert not taken.value.retryable and "already in use" in taken.value.message

    evolution.fake.fail_next("sendText", 500)
    with pytest.raises(GatewayError) as broken:
        await client.send_text("clinica", NUMBER, "oi")
    assert broken.value.retryable

    evolution.fake.fail_next("sendText", 201, delay=3)
    with pytest.raises(GatewayError) as slow:
        await client.send_text("clinica", NUMBER, "oi")
    assert slow.value.retryable and "in time" in slow.value.message

    not_on_whatsapp = {
        "status": 400,
        "error": "Bad Request",
        "response": {
            "message": [{"jid": "5511999999999@s.whatsapp.net", "exists": False, "number": NUMBER}]
        },
    }
    evolution.fake.fail_next("sendText", 400, not_on_whatsapp)
    with pytest.raises(GatewayError) as absent:
        await client.send_text("clinica", NUMBER, "oi")
    assert not absent.value.retryable and "is not on WhatsApp" in absent.value.message

    async with EvolutionClient(evolution.url, "wrong") as wrong:
        with pytest.raises(GatewayError) as refused:
            await wrong.send_text("clinica", NUMBER, "oi")
    assert not refused.value.retryable and "API key was refused" in refused.value.message

    async with EvolutionClient("http://127.0.0.1:9", "k", timeout=1) as nowhere:
        with pytest.raises(GatewayError) as down:
            await nowhere.connection_state("clinica")
    assert down.value.retryable


# -- the gateway ------------------------------------------------------------------------


def outbound(kind=MessageKind.TEXT, body="Olá", media=None, **extra) -> Message:
    return Message(
        id="m1",
        clinic_id="c1",
        chat_id="chat1",
        channel_id="ch1",
        direction=Direction.OUTBOUND,
        author=Author.STAFF,
        kind=kind,
        body=body,
        media=media,
        extra=extra,
        status=DeliveryStatus.PENDING,
        created_at=NOW,
    )


@pytest.fixture
async def gateway(evolution):
    secrets = MemorySecretStore()
    media = MemoryMediaStore()
    ref = await secrets.put("evo-key", evolution.fake.api_key)
    channel = Channel(
        id="ch1",
        clinic_id="c1",
        name="Celular",
        provider=Provider.EVOLUTION,
        external_ids={"instance": "clinica"},
        settings={"base_url": evolution.url},
        secrets={"api_key": ref},
        created_at=NOW,
    )
    return EvolutionGateway(secrets, media, timeout=2), channel, media


async def test_the_gateway_sends_a_phone_as_digits_and_reports_the_jid_used(gateway, evolution):
    gw, channel, _ = gateway
    receipt = await gw.send(channel, "+5531998296801", outbound())
    assert evolution.fake.sent()[-1].body == {"number": "5531998296801", "text": "Olá"}
    assert receipt.provider_message_id == fixture("send_text_response")["key"]["id"]
    # Evolution picked WhatsApp's 12-digit form of the old mobile.
    assert receipt.recipient_id == "553198296801@s.whatsapp.net"


async def test_the_gateway_maps_every_kind(gateway, evolution):
    gw, channel, media = gateway
    jpeg = b"\xff\xd8\xff" + b"0" * 20
    await media.put(
        StoredMedia(
            id="f1",
            clinic_id="c1",
            kind=MediaKind.IMAGE,
            mime_type="image/jpeg",
            size=len(jpeg),
            sha256="x",
            created_at=NOW,
        ),
        jpeg,
    )
    image = MediaRef(mime_type="image/jpeg", caption="Receita", filename="r.jpg", stored_path="f1")
    await gw.send(channel, "+5511999999999", outbound(MessageKind.IMAGE, None, image))
    assert evolution.fake.sent()[-1].body == {
        "number": NUMBER,
        "mediatype": "image",
        "mimetype": "image/jpeg",
        "media": base64.b64encode(jpeg).decode(),
        "caption": "Receita",
        "fileName": "r.jpg",
    }
    voice = MediaRef(mime_type="audio/ogg", url="https://example.com/audio.mp3")
    await gw.send(channel, "+5511999999999", outbound(MessageKind.AUDIO, None, voice))
    assert evolution.fake.sent()[-1].path == "/message/sendWhatsAppAudio/clinica"
    assert evolution.fake.sent()[-1].body == fixture("send_whatsapp_audio_request")

    place = {
        "latitude": -23.550520,
        "longitude": -46.633308,
        "name": "Nome do Local",
        "address": "Endereço completo",
    }
    await gw.send(channel, "+5511999999999", outbound(MessageKind.LOCATION, None, location=place))
    assert evolution.fake.sent()[-1].body == fixture("send_location_request")

    menu = outbound(
        MessageKind.INTERACTIVE,
        "Escolha um horário",
        buttons=[{"id": "a", "title": "Manhã"}, {"id": "b", "title": "Tarde"}],
    )
    await gw.send(channel, "+5511999999999", menu)
    sent = evolution.fake.sent()[-1]
    assert sent.path == "/message/sendText/clinica"
    assert "1. Manhã\n2. Tarde" in sent.body["text"]

    await gw.send(channel, "554198908495@s.whatsapp.net:3", outbound())
    with pytest.raises(GatewayError) as template:
        await gw.send(channel, "+5511999999999", outbound(MessageKind.TEMPLATE))
    assert not template.value.retryable


def test_numbered_menu_of_a_list():
    menu = outbound(
        MessageKind.INTERACTIVE,
        "Selecione uma opção",
        header="Menu Principal",
        footer="Clínica",
        sections=fixture("send_list_request")["sections"],
    )
    assert numbered_menu(menu) == (
        "*Menu Principal*\nSelecione uma opção\n\n1. Opção 1 — Descrição da opção 1\n"
        "2. Opção 2 — Descrição da opção 2\n\nResponda com o número da opção.\n_Clínica_"
    )


def test_evolution_numbers():
    assert evolution_number("+55 11 98765-4321") == "5511987654321"
    assert evolution_number("573183038190:24@s.whatsapp.net") == "573183038190@s.whatsapp.net"
    assert evolution_number("69385314111689@lid") == "69385314111689@lid"
