"""Attachments: what WhatsApp accepts, uploading, downloading and sending them in a chat."""

from __future__ import annotations

import hashlib

import pytest

from porfin_core.domain.customer import Identity
from porfin_core.domain.media import (
    MAX_BYTES,
    MediaKind,
    check_content,
    check_size,
    media_kind,
    normalize_media_type,
    safe_filename,
)
from porfin_core.domain.message import MessageKind
from porfin_core.errors import (
    NotFound,
    PayloadTooLarge,
    StorageUnavailable,
    UnsupportedMediaType,
    ValidationError,
)
from porfin_core.use_cases.get_chat_timeline import TimelineQuery
from porfin_core.use_cases.receive_inbound_message import ReceiveMessage
from porfin_core.use_cases.send_staff_message import SendText
from porfin_core.use_cases.upload_media import NewMedia

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"1 0 obj\n" * 100
OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + b"\x00" * 200
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200
DOCX = b"PK\x03\x04" + b"\x14\x00" * 100
MP3 = b"ID3\x04\x00" + b"\x00" * 100


@pytest.mark.parametrize(
    ("declared", "canonical", "kind"),
    [
        ("image/jpeg", "image/jpeg", MediaKind.IMAGE),
        ("IMAGE/JPG", "image/jpeg", MediaKind.IMAGE),
        ("audio/ogg; codecs=opus", "audio/ogg", MediaKind.AUDIO),
        ("audio/mp3", "audio/mpeg", MediaKind.AUDIO),
        ("audio/x-m4a", "audio/mp4", MediaKind.AUDIO),
        ("video/3gpp", "video/3gpp", MediaKind.VIDEO),
        ("text/plain; charset=utf-8", "text/plain", MediaKind.DOCUMENT),
        (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            MediaKind.DOCUMENT,
        ),
    ],
)
def test_whatsapps_types_and_their_kinds(declared, canonical, kind):
    assert normalize_media_type(declared) == canonical
    assert media_kind(canonical) is kind


@pytest.mark.parametrize(
    "declared", ["image/gif", "image/webp", "video/quicktime", "text/html", "image/svg+xml", ""]
)
def test_types_whatsapp_does_not_deliver_are_unsupported(declared):
    with pytest.raises(UnsupportedMediaType) as caught:
        media_kind(normalize_media_type(declared))
    assert caught.value.code == "unsupported_media_type"


@pytest.mark.parametrize(
    ("mime_type", "good", "bad"),
    [
        ("image/jpeg", JPEG, PNG),
        ("image/png", PNG, JPEG),
        ("application/pdf", PDF, b"MZ\x90\x00 an executable"),
        ("audio/ogg", OGG_OPUS, b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis"),
        ("video/mp4", MP4, b"RIFF....AVI "),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", DOCX, PDF),
        ("application/msword", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 10, DOCX),
        ("audio/mpeg", MP3, b"\x00\x00 not audio"),
        ("audio/aac", b"\xff\xf1\x50\x80" + b"\x00" * 10, b"ID3 is not ADTS"),
        ("audio/amr", b"#!AMR\n" + b"\x00" * 10, b"#!SILK"),
        ("text/plain", "Receita: tomar 1 comprimido".encode("latin-1"), b"\x00\x01binary"),
    ],
)
def test_content_must_look_like_its_declared_type(mime_type, good, bad):
    check_content(mime_type, good)
    with pytest.raises(ValidationError):
        check_content(mime_type, bad)
    with pytest.raises(ValidationError, match="empty"):
        check_content(mime_type, b"")


def test_each_kind_has_whatsapps_limit_and_the_installations():
    check_size(MediaKind.IMAGE, 5_000_000, 16_777_216)
    with pytest.raises(PayloadTooLarge) as caught:
        check_size(MediaKind.IMAGE, 5_000_001, 16_777_216)
    assert caught.value.fields["max_bytes"] == 5_000_000
    check_size(MediaKind.DOCUMENT, 16_777_216, 16_777_216)
    with pytest.raises(PayloadTooLarge):  # documents may be 100 MB, the installation says 16 MiB
        check_size(MediaKind.DOCUMENT, 16_777_217, 16_777_216)
    assert MAX_BYTES[MediaKind.VIDEO] == MAX_BYTES[MediaKind.AUDIO] == 16_000_000


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("exame.pdf", "exame.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ana\\Receita médica.pdf", "Receita médica.pdf"),
        ('a"b\r\n.pdf', "ab.pdf"),
        (".hidden", "hidden"),
        ("..", None),
        ("", None),
        (None, None),
        ("x" * 300 + ".docx", "x" * 195 + ".docx"),
    ],
)
def test_file_names_are_made_safe(raw, safe):
    assert safe_filename(raw) == safe


async def upload(container, clinic_id, data=JPEG, mime_type="image/jpeg", **fields):
    return await container.upload_media()(
        NewMedia(clinic_id=clinic_id, mime_type=mime_type, data=data, uploaded_by="ana", **fields)
    )


async def audit_records(container, clinic_id: str):
    async with container.uow_factory()(read_only=True) as uow:
        return [record async for record in uow.audit.iterate(clinic_id)]


async def test_an_upload_is_kept_for_its_clinic_and_audited(container, installation):
    clinic_id = installation.clinic.id
    media = await upload(container, clinic_id, PDF, "application/pdf", filename="../exame.pdf")
    assert (media.kind, media.mime_type, media.size) == (
        MediaKind.DOCUMENT,
        "application/pdf",
        len(PDF),
    )
    assert media.sha256 == hashlib.sha256(PDF).hexdigest()
    assert media.filename == "exame.pdf"
    assert media.uploaded_by == "ana"
    record = (await audit_records(container, clinic_id))[-1]
    assert (record.action, record.resource_type, record.resource_id) == (
        "media.upload",
        "media",
        media.id,
    )
    assert record.details == {
        "kind": "document",
        "mime_type": "application/pdf",
        "size": str(len(PDF)),
    }

    download = await container.get_media()(clinic_id, media.id)
    assert download.media == media
    assert b"".join([chunk async for chunk in download.chunks]) == PDF
    assert (await audit_records(container, clinic_id))[-1].action == "media.read"
    with pytest.raises(NotFound):
        await container.get_media()("clinic2", media.id)


async def test_refused_uploads_keep_nothing(container, installation):
    clinic_id = installation.clinic.id
    store = container.media_store()
    with pytest.raises(UnsupportedMediaType):
        await upload(container, clinic_id, b"GIF89a", "image/gif")
    with pytest.raises(ValidationError, match="not image/jpeg"):
        await upload(container, clinic_id, PDF, "image/jpeg")
    with pytest.raises(PayloadTooLarge):
        await upload(container, clinic_id, JPEG + b"\x00" * 5_000_000, "image/jpeg")
    with pytest.raises(ValidationError, match="empty"):
        await upload(container, clinic_id, b"", "application/pdf")
    assert store.files == {}
    assert [r.action for r in await audit_records(container, clinic_id)] == [
        "clinic.create",
        "channel.create",
    ]


async def test_an_upload_whose_audit_record_fails_is_removed(container, installation):
    class BrokenAudit:
        def __init__(self, factory):
            self._factory = factory

        def __call__(self, read_only=False):
            uow = self._factory(read_only=read_only)

            async def fail(entry):
                raise StorageUnavailable("disk full")

            uow.audit.append = fail
            return uow

    use_case = container.upload_media()
    use_case.uow_factory = BrokenAudit(use_case.uow_factory)
    with pytest.raises(StorageUnavailable):
        await upload(container, installation.clinic.id)
    assert container.media_store().files == {}


async def chat_with_maria(container, installation):
    return await container.receive_inbound_message()(
        ReceiveMessage(
            channel_id=installation.channel.id,
            provider_message_id="sim-1",
            sender=[Identity.of_phone("+5511987654321")],
            body="Pode mandar o orçamento?",
        )
    )


async def test_staff_send_an_attachment_with_a_caption(container, installation):
    clinic_id = installation.clinic.id
    received = await chat_with_maria(container, installation)
    media = await upload(container, clinic_id, PDF, "application/pdf", filename="orçamento.pdf")
    message = await container.send_staff_message()(
        SendText(
            clinic_id=clinic_id,
            chat_id=received.chat_id,
            author_id="ana",
            media_id=media.id,
            caption="  Segue o orçamento ",
        )
    )
    assert message.kind is MessageKind.DOCUMENT
    assert message.body == "Segue o orçamento"
    assert message.status.value == "sent"
    ref = message.media
    assert ref is not None
    assert (ref.stored_path, ref.mime_type, ref.filename, ref.size, ref.sha256) == (
        media.id,
        "application/pdf",
        "orçamento.pdf",
        len(PDF),
        media.sha256,
    )
    assert ref.caption == "Segue o orçamento"
    delivered = container.simulator_gateway().sent[-1]
    assert (delivered.kind, delivered.mime_type, delivered.media_id) == (
        "document",
        "application/pdf",
        media.id,
    )
    page = await container.get_chat_timeline()(
        TimelineQuery(clinic_id=clinic_id, chat_id=received.chat_id, limit=10)
    )
    assert page.items[0] == message
    record = [r for r in await audit_records(container, clinic_id) if r.action == "message.send"]
    assert record[-1].details["media_id"] == media.id
    chat = await container.get_chat()(clinic_id, received.chat_id)
    assert chat.last_message_preview == "Segue o orçamento"


async def test_an_attachment_without_caption_previews_its_kind(container, installation):
    clinic_id = installation.clinic.id
    received = await chat_with_maria(container, installation)
    media = await upload(container, clinic_id, OGG_OPUS, "audio/ogg; codecs=opus")
    message = await container.send_staff_message()(
        SendText(clinic_id=clinic_id, chat_id=received.chat_id, author_id="ana", media_id=media.id)
    )
    assert (message.kind, message.body) == (MessageKind.AUDIO, None)
    chat = await container.get_chat()(clinic_id, received.chat_id)
    assert chat.last_message_preview == "[audio]"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"media_id": "nope"}, "media_id"),
        ({"media_id": "OTHER", "text": "e um texto"}, "text"),
        ({"media_id": "IMAGE", "caption": "x" * 1025}, "caption"),
        ({"media_id": "AUDIO", "caption": "ouça"}, "caption"),
        ({"text": "Oi", "caption": "sem anexo"}, "caption"),
        ({"media_id": "OTHER_CLINIC"}, "media_id"),
    ],
)
async def test_bad_attachments_are_refused_and_nothing_is_sent(
    container, installation, fields, field
):
    clinic_id = installation.clinic.id
    received = await chat_with_maria(container, installation)
    ids = {
        "IMAGE": (await upload(container, clinic_id)).id,
        "OTHER": (await upload(container, clinic_id, PNG, "image/png")).id,
        "AUDIO": (await upload(container, clinic_id, OGG_OPUS, "audio/ogg")).id,
        "OTHER_CLINIC": (await upload(container, "clinic2")).id,
    }
    media_id = fields.get("media_id")
    fields = {**fields, "media_id": ids.get(media_id, media_id)} if media_id else fields
    with pytest.raises(ValidationError) as caught:
        await container.send_staff_message()(
            SendText(clinic_id=clinic_id, chat_id=received.chat_id, author_id="ana", **fields)
        )
    assert caught.value.fields["field"] == field
    assert len(container.simulator_gateway().sent) == 0
