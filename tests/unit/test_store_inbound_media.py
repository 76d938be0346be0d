"""Keeping a patient's file: downloaded from the provider (a fake source here), checked,
kept under an id derived from its hash, and the message pointed at it; lasting failures are
recorded on the message, passing ones raise and change nothing."""

from __future__ import annotations

import base64
import hashlib
from collections import deque

import attrs
import pytest
from dependency_injector import providers

from porfin_core.domain.channel import Channel
from porfin_core.domain.customer import Identity
from porfin_core.domain.events import MessageCreated, MessageMediaUpdated
from porfin_core.domain.message import MediaRef, Message, MessageKind
from porfin_core.errors import GatewayError, NotFound, PayloadTooLarge
from porfin_core.ports.media import FetchedMedia
from porfin_core.use_cases.get_message_media import MessageMediaQuery
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.store_inbound_media import MediaOutcome, StoreMedia
from tests.unit.conftest import committed_events

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0" * 500 + b"\n%%EOF\n"


def b64_sha(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class FakeSource:
    """An InboundMediaSource that serves files by provider media id, or raises what it is
    told to, and remembers what it was asked."""

    def __init__(self) -> None:
        self.files: dict[str, FetchedMedia] = {}
        self.errors: deque[Exception] = deque()
        self.asked: list[str] = []

    async def fetch(self, channel: Channel, message: Message) -> FetchedMedia:
        assert message.media is not None
        self.asked.append(message.id)
        if self.errors:
            raise self.errors.popleft()
        return self.files[message.media.provider_media_id or ""]


@pytest.fixture
def source(container) -> FakeSource:
    fake = FakeSource()
    container.inbound_media_sources.override(providers.Object(fake))
    return fake


async def received_image(
    container,
    installation,
    *,
    media_id: str = "1003383421387256",
    sha256: str | None = None,
    pid: str = "wamid.image",
    kind: MessageKind = MessageKind.IMAGE,
    mime_type: str = "image/jpeg",
) -> Message:
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id=pid,
            sender=[Identity.of_phone("+5511987654321")],
            sender_name="Maria",
            kind=kind,
            body="meu exame",
            media=MediaRef(
                provider_media_id=media_id,
                mime_type=mime_type,
                sha256=sha256,
                caption="meu exame",
            ),
        )
    )
    await committed_events(container)  # forget the message's own events
    return await message_of(container, received.clinic_id, received.message_id)


async def message_of(container, clinic_id: str, message_id: str) -> Message:
    async with container.uow_factory()(read_only=True) as uow:
        return await uow.messages.get(clinic_id, message_id)


async def store(container, message: Message):
    return await container.store_inbound_media()(
        StoreMedia(clinic_id=message.clinic_id, message_id=message.id)
    )


async def test_the_file_is_kept_under_its_hash_and_the_message_points_at_it(
    container, installation, source
):
    source.files["1003383421387256"] = FetchedMedia(
        data=JPEG, mime_type="image/jpeg", sha256=b64_sha(JPEG)
    )
    message = await received_image(container, installation, sha256=b64_sha(JPEG))

    result = await store(container, message)

    digest = hashlib.sha256(JPEG).hexdigest()
    assert result.outcome is MediaOutcome.STORED
    assert result.media_id == f"wa-{digest[:40]}"
    kept = await message_of(container, message.clinic_id, message.id)
    assert kept.media == attrs.evolve(
        message.media, stored_path=result.media_id, size=len(JPEG), sha256=digest
    )
    assert "media_error" not in kept.extra
    assert await container.media_store().read(message.clinic_id, result.media_id) == JPEG
    info = await container.media_store().info(message.clinic_id, result.media_id)
    assert (info.kind.value, info.mime_type, info.size) == ("image", "image/jpeg", len(JPEG))
    assert await committed_events(container) == [
        MessageMediaUpdated(
            clinic_id=message.clinic_id,
            occurred_at=info.created_at,
            chat_id=message.chat_id,
            message_id=message.id,
            media_id=result.media_id,
        )
    ]


async def test_a_kept_file_is_not_downloaded_again(container, installation, source):
    source.files["1003383421387256"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    message = await received_image(container, installation)
    first = await store(container, message)
    await committed_events(container)

    again = await store(container, message)

    assert again.outcome is MediaOutcome.ALREADY_STORED
    assert again.media_id == first.media_id
    assert source.asked == [message.id]
    assert await committed_events(container) == []


async def test_the_same_bytes_in_two_messages_are_one_file(container, installation, source):
    source.files["a"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    source.files["b"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    first = await received_image(container, installation, media_id="a", pid="wamid.a")
    second = await received_image(container, installation, media_id="b", pid="wamid.b")

    results = [await store(container, first), await store(container, second)]

    assert [r.outcome for r in results] == [MediaOutcome.STORED, MediaOutcome.STORED]
    assert results[0].media_id == results[1].media_id


async def test_the_type_and_name_the_provider_gave_are_kept(container, installation, source):
    source.files["doc"] = FetchedMedia(
        data=PDF, mime_type="application/pdf", filename="../../exames/Hemograma.pdf"
    )
    message = await received_image(
        container,
        installation,
        media_id="doc",
        kind=MessageKind.DOCUMENT,
        mime_type="application/octet-stream",
    )

    result = await store(container, message)

    info = await container.media_store().info(message.clinic_id, result.media_id)
    assert (info.kind.value, info.mime_type, info.filename) == (
        "document",
        "application/pdf",
        "Hemograma.pdf",
    )
    kept = await message_of(container, message.clinic_id, message.id)
    assert kept.media is not None and kept.media.mime_type == "application/pdf"


@pytest.mark.parametrize(
    ("announced", "webhook"),
    [
        (b64_sha(b"other bytes"), None),  # the hash sent with the download
        (None, b64_sha(b"other bytes")),  # the webhook's, when the download had none
        (None, hashlib.sha256(b"other bytes").hexdigest()),  # hex as well
    ],
)
async def test_a_file_that_does_not_match_its_hash_is_refused_for_good(
    container, installation, source, announced, webhook
):
    source.files["1003383421387256"] = FetchedMedia(
        data=JPEG, mime_type="image/jpeg", sha256=announced
    )
    message = await received_image(container, installation, sha256=webhook)

    result = await store(container, message)

    assert result.outcome is MediaOutcome.FAILED
    assert "sha256" in result.reason
    kept = await message_of(container, message.clinic_id, message.id)
    assert kept.media is not None and kept.media.stored_path is None
    assert kept.extra["media_error"] == result.reason
    assert [type(e) for e in await committed_events(container)] == [MessageMediaUpdated]


async def test_the_announced_hash_wins_over_the_webhooks(container, installation, source):
    """The webhook's hash is only a fallback: Meta's answer for the download names these
    exact bytes."""
    source.files["1003383421387256"] = FetchedMedia(
        data=JPEG, mime_type="image/jpeg", sha256=hashlib.sha256(JPEG).hexdigest()
    )
    message = await received_image(container, installation, sha256=b64_sha(b"stale"))
    assert (await store(container, message)).outcome is MediaOutcome.STORED


async def test_a_file_too_large_for_whatsapp_is_refused(container, installation, source):
    big = b"\xff\xd8\xff" + b"\x00" * 5_000_000
    source.files["1003383421387256"] = FetchedMedia(data=big, mime_type="image/jpeg")
    message = await received_image(container, installation)

    result = await store(container, message)

    assert result.outcome is MediaOutcome.FAILED
    assert "at most 5000000" in result.reason
    kept = await message_of(container, message.clinic_id, message.id)
    assert kept.extra["media_error"] == result.reason


@pytest.mark.parametrize(
    "error",
    [
        GatewayError(
            "gone",
            retryable=False,
            provider="cloud_api",
            reason="WhatsApp no longer has this file (media ids in webhooks expire after 7 days)",
        ),
        PayloadTooLarge("image/jpeg files may have at most 5000000 bytes", max_bytes=5_000_000),
    ],
)
async def test_a_lasting_provider_failure_is_recorded_and_not_raised(
    container, installation, source, error
):
    source.errors.append(error)
    message = await received_image(container, installation)

    result = await store(container, message)

    assert result.outcome is MediaOutcome.FAILED
    kept = await message_of(container, message.clinic_id, message.id)
    assert kept.extra["media_error"] == error.fields.get("reason", error.message)


async def test_a_passing_provider_failure_raises_and_changes_nothing(
    container, installation, source
):
    source.errors.append(GatewayError("WhatsApp answered HTTP 500", retryable=True))
    source.files["1003383421387256"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    message = await received_image(container, installation)

    with pytest.raises(GatewayError):
        await store(container, message)

    assert await message_of(container, message.clinic_id, message.id) == message
    assert await committed_events(container) == []
    assert (await store(container, message)).outcome is MediaOutcome.STORED  # later: it works


async def test_a_later_success_clears_an_earlier_error(container, installation, source):
    source.errors.append(GatewayError("refused", retryable=False, reason="refused"))
    source.files["1003383421387256"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    message = await received_image(container, installation)
    assert (await store(container, message)).outcome is MediaOutcome.FAILED

    assert (await store(container, message)).outcome is MediaOutcome.STORED
    kept = await message_of(container, message.clinic_id, message.id)
    assert "media_error" not in kept.extra


async def test_a_text_message_has_nothing_to_keep(container, installation, source):
    received = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.text",
            sender=[Identity.of_phone("+5511987654321")],
            body="Olá",
        )
    )
    events = await committed_events(container)
    created = [e for e in events if isinstance(e, MessageCreated)]
    assert [e.kind for e in created] == ["text"]

    result = await container.store_inbound_media()(
        StoreMedia(clinic_id=received.clinic_id, message_id=received.message_id)
    )

    assert result.outcome is MediaOutcome.NO_MEDIA
    assert source.asked == []


async def test_another_clinics_message_is_not_found(container, installation, source):
    message = await received_image(container, installation)
    with pytest.raises(NotFound):
        await container.store_inbound_media()(
            StoreMedia(clinic_id="another-clinic", message_id=message.id)
        )


# -- reading a message's file -------------------------------------------------------------


def query(message: Message, **fields) -> MessageMediaQuery:
    return MessageMediaQuery(
        clinic_id=message.clinic_id, chat_id=message.chat_id, message_id=message.id, **fields
    )


async def read_all(download) -> bytes:
    return b"".join([chunk async for chunk in download.chunks])


async def test_a_file_not_kept_yet_is_fetched_when_read(container, installation, source):
    source.files["1003383421387256"] = FetchedMedia(data=JPEG, mime_type="image/jpeg")
    message = await received_image(container, installation)

    download = await container.get_message_media()(query(message))

    assert await read_all(download) == JPEG
    assert download.media.mime_type == "image/jpeg"
    again = await container.get_message_media()(query(message))
    assert await read_all(again) == JPEG
    assert source.asked == [message.id]


async def test_a_file_that_cannot_be_had_answers_why(container, installation, source):
    reason = "WhatsApp no longer has this file (media ids in webhooks expire after 7 days)"
    source.errors.append(GatewayError("gone", retryable=False, reason=reason))
    message = await received_image(container, installation)

    for _ in range(2):  # fetched once; then the recorded reason answers
        with pytest.raises(NotFound) as caught:
            await container.get_message_media()(query(message))
        assert caught.value.fields["reason"] == reason
    assert source.asked == [message.id]


async def test_a_message_of_another_chat_is_not_found(container, installation, source):
    message = await received_image(container, installation)
    other = await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="wamid.joao",
            sender=[Identity.of_phone("+5521998765432")],
            body="Oi",
        )
    )
    with pytest.raises(NotFound) as caught:
        await container.get_message_media()(attrs.evolve(query(message), chat_id=other.chat_id))
    assert caught.value.message == "message not found"
